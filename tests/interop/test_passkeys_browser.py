"""Passkeys in a real browser (Debian's Chromium, headless, driven by Playwright) with a virtual
authenticator (Chrome DevTools Protocol `WebAuthn.addVirtualAuthenticator`: CTAP2, internal,
resident keys, user verification): register a passkey on the security page, sign out, sign in
with the passkey alone; sign in with the password and the passkey as second step; and an
application that requires a passkey gets a code only after the passkey step, its id_token's `amr`
naming the key (`hwk`/`swk`) and `user`. Screenshots go to test-artifacts/screenshots/.

The provider is served as http://localhost:PORT with that public URL: Chromium offers WebAuthn only
in a secure context on a domain (https, or localhost), never on an IP address.
"""
import base64
import hashlib
import json
import os
import secrets
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import ours_binary, print_log_if_failed
from providers import OursProvider
from servers import ServerProcess

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("CENTRALAUTH_CHROMIUM", "/usr/bin/chromium")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = os.path.join(REPO, "test-artifacts", "screenshots")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
PIA, PIA_PASSWORD = "pia", "pia-Password-1"
STRICT_CLIENT, STRICT_SECRET = "strict-client", "strict-secret-0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ours(request, tmp_path):
    binary = ours_binary()
    if not os.access(binary, os.X_OK):
        pytest.fail("centralauth binary not built: {}".format(binary))
    workdir = tmp_path / "provider"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALAUTH_")}
    env["CENTRALAUTH_DATABASE_URL"] = "sqlite://{}?mode=rwc".format(workdir / "centralauth.db")
    port = free_port()
    base_url = "http://localhost:{}".format(port)
    server = ServerProcess(
        "centralauth serve",
        [binary, "serve", "--listen", "127.0.0.1:{}".format(port), "--public-url", base_url, "--prefix", OursProvider.prefix],
        cwd=str(workdir), env=env, log_path=str(workdir / "centralauth.log"),
    )
    try:
        server.wait_for_line(r"listening on http://")
        server.wait_until_answering(base_url + "/healthz")
    except BaseException:
        server.stop()
        raise
    provider = OursProvider(server, base_url, 300, env, binary)
    provider.create_user(PIA, PIA_PASSWORD, "pia@example.org", "Pia", "Passkey")
    yield provider
    print_log_if_failed(request, provider.server)
    provider.stop()


@pytest.fixture
def callback():
    """The application's redirect URI: a local server that records the URLs it is sent to."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/passkey-callback"):
                seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"callback reached")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = "http://127.0.0.1:{}/passkey-callback".format(server.server_address[1])
    server.seen = seen
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def page():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("Chromium not found at {} (Debian package chromium; .ci/run installs it)".format(CHROMIUM))
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        context = browser.new_context()
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
            "isUserVerified": True, "automaticPresenceSimulation": True}})["authenticatorId"]
        # With automatic presence, the virtual authenticator answers a conditional (autofill)
        # request at once, as if the user had picked the passkey from the username field's
        # autofill: the sign-in page would sign in by itself. The tests that type a password
        # turn conditional mediation off; the one that tests it turns it on (sessionStorage).
        page.add_init_script("""try {
            if (window.PublicKeyCredential && sessionStorage.getItem("conditional-ui") !== "on")
                PublicKeyCredential.isConditionalMediationAvailable = async () => false;
        } catch (e) {}""")
        page.cdp, page.authenticator_id = cdp, authenticator
        page.authenticator = lambda: cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
        yield page
        browser.close()


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, name + ".png"), full_page=True)


def sign_in_with_password(page, provider, next_path="/account/"):
    page.goto(provider.base_url + "/account/login/?next=" + urllib.parse.quote(next_path))
    page.fill("#username", PIA)
    page.fill("#password", PIA_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def register_passkey(page, provider, name="Virtual key"):
    """Signed in: add a passkey on the security page; it is listed there afterwards."""
    page.goto(provider.base_url + "/account/security/")
    page.wait_for_selector("#passkey-register-form:not([hidden])")
    page.fill("#passkey-name", name)
    page.click("#passkey-register")
    # A first factor comes with ten recovery codes, shown once before going on.
    page.wait_for_selector("#passkey-recovery-codes:not([hidden])")
    codes = page.locator("#passkey-recovery-codes .recovery-code").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    shot(page, "passkeys-00-recovery-codes")
    with page.expect_navigation():
        page.click("#passkey-recovery-continue")
    page.wait_for_load_state()
    assert name in page.content(), "the security page lists the new passkey"
    assert page.inner_text("#recovery-codes-left") == "10"
    credentials = page.authenticator()
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"], credentials


def sign_out(page, provider):
    page.goto(provider.base_url + "/account/")
    with page.expect_navigation():
        page.click("form[action='/account/logout/'] button")
    assert "/account/login/" in page.url


def signed_in_as_pia(page, provider):
    page.goto(provider.base_url + "/account/")
    return "/account/login/" not in page.url and PIA in page.inner_text("main")


def test_a_registered_passkey_signs_in_without_a_password(ours, page):
    sign_in_with_password(page, ours)
    register_passkey(page, ours)
    shot(page, "passkeys-01-security-page")
    sign_out(page, ours)

    page.goto(ours.base_url + "/account/login/")
    assert page.get_attribute("#username", "autocomplete") == "username webauthn"
    page.wait_for_selector("#passkey-sign-in:not([hidden])")
    shot(page, "passkeys-02-sign-in-page")
    with page.expect_navigation(url="**/account/"):
        page.click("#passkey-sign-in-button")
    assert signed_in_as_pia(page, ours), page.url
    shot(page, "passkeys-03-signed-in-with-passkey")
    assert page.authenticator()[0]["signCount"] >= 1

    # Conditional mediation: the passkey offered in the username field's autofill (picked at once
    # by the virtual authenticator) signs in without a click.
    sign_out(page, ours)
    page.evaluate("sessionStorage.setItem('conditional-ui', 'on')")
    with page.expect_navigation(url="**/account/"):
        page.goto(ours.base_url + "/account/login/")
    assert signed_in_as_pia(page, ours), page.url
    assert page.authenticator()[0]["signCount"] >= 2


def test_a_passkey_is_the_second_step_after_the_password(ours, page):
    sign_in_with_password(page, ours)
    register_passkey(page, ours)
    sign_out(page, ours)

    sign_in_with_password(page, ours)
    assert "/account/login/verify/" in page.url, "a user with a passkey has a second step: " + page.url
    page.wait_for_selector("#passkey-step:not([hidden])")
    shot(page, "passkeys-04-second-step")
    with page.expect_navigation(url="**/account/"):
        page.click("#passkey-step-button")
    assert signed_in_as_pia(page, ours), page.url


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def id_token_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_an_application_requiring_a_passkey_gets_a_code_only_after_the_passkey_step(ours, page, callback):
    CALLBACK = callback.url
    # Written against `app create --require-passkey` (the policy part of #15).
    ours.cli("app", "create", "Strict", "--client-id", STRICT_CLIENT, "--client-secret-stdin", "--redirect-uri", CALLBACK,
             "--require-passkey", stdin=STRICT_SECRET + "\n")
    ours.add_membership(STRICT_CLIENT, PIA)
    # The session proves a password only: the passkey is registered in it, not used.
    sign_in_with_password(page, ours)
    register_passkey(page, ours)

    codes = callback.seen
    verifier, challenge = pkce()
    query = urllib.parse.urlencode({"response_type": "code", "client_id": STRICT_CLIENT, "redirect_uri": CALLBACK, "scope": "openid",
                                    "state": "s-1", "nonce": "n-1", "code_challenge": challenge, "code_challenge_method": "S256"})
    page.goto(ours.url("/o/authorize/?" + query))
    assert not codes, "no code before the passkey step"
    assert "/account/login/verify/" in page.url and "require=passkey" in page.url, page.url
    page.wait_for_selector("#passkey-step:not([hidden])")
    shot(page, "passkeys-05-step-up")
    with page.expect_navigation(url=CALLBACK + "**"):
        page.click("#passkey-step-button")
    assert len(codes) == 1, codes
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(codes[0]).query))
    shot(page, "passkeys-06-code-issued")
    assert params["state"] == "s-1"
    token = requests.post(ours.url("/o/token/"), data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": CALLBACK, "client_id": STRICT_CLIENT,
        "client_secret": STRICT_SECRET, "code_verifier": verifier}, timeout=10)
    assert token.status_code == 200, token.text
    amr = id_token_claims(token.json()["id_token"])["amr"]
    assert ("hwk" in amr or "swk" in amr) and "user" in amr, amr


def test_a_passkey_whose_sign_counter_goes_backwards_is_refused(ours, page):
    sign_in_with_password(page, ours)
    register_passkey(page, ours)
    sign_out(page, ours)
    page.goto(ours.base_url + "/account/login/")
    with page.expect_navigation(url="**/account/"):
        page.click("#passkey-sign-in-button")
    sign_out(page, ours)

    # A copy of the key as it was before its last use (a cloned authenticator): its counter is
    # behind the one the provider saw.
    [credential] = page.authenticator()
    assert credential["signCount"] >= 1
    page.cdp.send("WebAuthn.removeCredential", {"authenticatorId": page.authenticator_id, "credentialId": credential["credentialId"]})
    page.cdp.send("WebAuthn.addCredential", {"authenticatorId": page.authenticator_id, "credential": {**credential, "signCount": 0}})
    page.goto(ours.base_url + "/account/login/")
    page.click("#passkey-sign-in-button")
    error = page.wait_for_selector("#passkey-sign-in-error:not([hidden])")
    assert "could not be verified" in error.inner_text(), error.inner_text()
    shot(page, "passkeys-07-cloned-key-refused")
    assert not signed_in_as_pia(page, ours)
    assert "sign counter went backwards" in ours.server.log()
