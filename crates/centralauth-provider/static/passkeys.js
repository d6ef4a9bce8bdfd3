// Passkeys (WebAuthn) on the sign-in, second-step and security pages: the browser half of the
// ceremonies whose server half is /account/passkeys/… (http/account/passkeys.rs). Every page
// works without it for passwords and TOTP; passkeys need it, as WebAuthn is a script API.
"use strict";
(() => {
  // WebAuthn speaks ArrayBuffers; webauthn-rs speaks base64url without padding. Written here
  // rather than with PublicKeyCredential.parse*OptionsFromJSON/toJSON, which not every browser
  // that has passkeys has yet.
  const fromB64u = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)).buffer;
  const toB64u = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  const creationOptions = (json) => {
    const o = json.publicKey;
    return {
      ...o,
      challenge: fromB64u(o.challenge),
      user: { ...o.user, id: fromB64u(o.user.id) },
      excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: fromB64u(c.id) })),
    };
  };
  const requestOptions = (json) => {
    const o = json.publicKey;
    return { ...o, challenge: fromB64u(o.challenge), allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: fromB64u(c.id) })) };
  };
  const registration = (credential) => {
    const ext = credential.getClientExtensionResults();
    return {
      id: credential.id,
      rawId: toB64u(credential.rawId),
      type: credential.type,
      response: { attestationObject: toB64u(credential.response.attestationObject), clientDataJSON: toB64u(credential.response.clientDataJSON) },
      extensions: ext.credProps ? { credProps: ext.credProps } : {},
    };
  };
  const assertion = (credential) => ({
    id: credential.id,
    rawId: toB64u(credential.rawId),
    type: credential.type,
    response: {
      authenticatorData: toB64u(credential.response.authenticatorData),
      clientDataJSON: toB64u(credential.response.clientDataJSON),
      signature: toB64u(credential.response.signature),
      userHandle: credential.response.userHandle ? toB64u(credential.response.userHandle) : null,
    },
    extensions: {},
  });

  // A JSON call with the page's CSRF token; throws the server's error_description.
  const call = async (path, token, body) => {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.error_description || response.statusText);
    return answer;
  };
  const showError = (element, prefix, error) => {
    element.textContent = prefix + " " + (error && error.message ? error.message : String(error));
    element.hidden = false;
  };

  // Sign-in (passwordless, discoverable credential), second step and step-up: the server knows
  // which from its cookies. `mediation` "conditional" waits for the user to pick a passkey in
  // the username field's autofill; without it the browser asks at once.
  const authenticate = async (section, mediation, signal) => {
    const token = section.dataset.csrfToken;
    const json = await call("/account/passkeys/authenticate/options", token, { next: section.dataset.next || null });
    const request = { publicKey: requestOptions(json) };
    if (mediation) request.mediation = mediation;
    if (signal) request.signal = signal;
    const credential = await navigator.credentials.get(request);
    const done = await call("/account/passkeys/authenticate", token, assertion(credential));
    window.location.assign(done.redirect);
  };

  const setUpAuthentication = (section, button, error, conditional) => {
    section.hidden = false;
    let pending = null;
    const startConditional = async () => {
      if (!conditional || !PublicKeyCredential.isConditionalMediationAvailable) return;
      if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
      pending = new AbortController();
      authenticate(section, "conditional", pending.signal).catch((e) => {
        // Aborted by the button, or the user closed the autofill: nothing to show.
        if (e && e.name !== "AbortError" && e.name !== "NotAllowedError") showError(error, section.dataset.failed, e);
      });
    };
    button.addEventListener("click", async () => {
      if (pending) pending.abort();
      pending = null;
      error.hidden = true;
      button.disabled = true;
      try {
        await authenticate(section, null, null);
      } catch (e) {
        showError(error, section.dataset.failed, e);
        button.disabled = false;
      }
    });
    startConditional();
  };

  const showRecoveryCodes = (form, codes, then) => {
    const section = document.getElementById("passkey-recovery-codes");
    const list = section.querySelector("ol");
    for (const code of codes) {
      const item = document.createElement("li");
      const text = document.createElement("code");
      text.className = "recovery-code";
      text.textContent = code;
      item.appendChild(text);
      list.appendChild(item);
    }
    form.hidden = true;
    section.hidden = false;
    const next = document.getElementById("passkey-recovery-continue");
    next.href = then;
    next.focus();
  };

  const setUpRegistration = (form) => {
    const error = document.getElementById("passkey-register-error");
    const notice = document.getElementById("passkey-register-notice");
    const noScript = document.getElementById("passkey-needs-js");
    if (noScript) noScript.hidden = true;
    form.hidden = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      notice.hidden = true;
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const token = form.dataset.csrfToken;
        const next = new URLSearchParams(window.location.search).get("next");
        const json = await call("/account/passkeys/register/options", token, { name: form.elements.name.value, next });
        const credential = await navigator.credentials.create({ publicKey: creationOptions(json) });
        const done = await call("/account/passkeys/register", token, registration(credential));
        notice.textContent = form.dataset.added;
        notice.hidden = false;
        // Back to where the user was sent from (a step-up's enrolment), else the page again,
        // which lists the new passkey.
        const then = json.next || window.location.pathname;
        if (done.recovery_codes && done.recovery_codes.length) {
          // A first factor's recovery codes: shown now, once, before going on.
          showRecoveryCodes(form, done.recovery_codes, then);
          return;
        }
        window.location.assign(then);
      } catch (e) {
        showError(error, form.dataset.failed, e);
        button.disabled = false;
      }
    });
  };

  document.addEventListener("DOMContentLoaded", () => {
    if (!window.PublicKeyCredential || !navigator.credentials) return;
    const signIn = document.querySelector("[data-passkey=sign-in]");
    if (signIn) setUpAuthentication(signIn, document.getElementById("passkey-sign-in-button"), document.getElementById("passkey-sign-in-error"), true);
    const step = document.querySelector("[data-passkey=authenticate]");
    if (step) setUpAuthentication(step, document.getElementById("passkey-step-button"), document.getElementById("passkey-step-error"), false);
    const register = document.querySelector("[data-passkey=register]");
    if (register) setUpRegistration(register);
  });
})();
