// What discovery advertises beyond the basic flow, used the way openid-client uses it:
// EdDSA id_tokens, prompt=none / prompt=login with max_age, RP-initiated logout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as client from 'openid-client';

import { authorizationRequest, checkIdToken, discover, jwtHeader, signInAndGrant } from '../lib/flow.mjs';
import { Browser, EDDSA_CLIENT_ID, POST_LOGOUT_REDIRECT_URI, Provider, REDIRECT_URI } from '../lib/support.mjs';

const onLoginPage = (hops) => hops.some(([, url]) => new URL(url).pathname.endsWith('/account/login/'));

describe('openid-client and the advertised features', () => {
  let provider;
  let config;

  before(async () => {
    provider = await Provider.start();
    config = await discover(provider);
  });
  after(async () => {
    if (provider) await provider.stop();
  });

  it('an application signing with EdDSA: id_tokens verify against its OKP key, at sign-in and refresh', async () => {
    assert.ok(config.serverMetadata().id_token_signing_alg_values_supported.includes('EdDSA'));
    const eddsa = await discover(provider, 'basic', {}, {
      clientId: EDDSA_CLIENT_ID,
      metadata: { id_token_signed_response_alg: 'EdDSA' },
    });
    const { request, tokens } = await signInAndGrant(eddsa);
    const claims = await checkIdToken(eddsa, provider, tokens, request.nonce, { alg: 'EdDSA', clientId: EDDSA_CLIENT_ID });
    const fresh = await client.refreshTokenGrant(eddsa, tokens.refresh_token);
    assert.equal(jwtHeader(fresh.id_token).alg, 'EdDSA');
    assert.equal(fresh.claims().sub, claims.sub);
    const info = await client.fetchUserInfo(eddsa, fresh.access_token, claims.sub);
    assert.equal(info.sub, claims.sub);
  });

  it('prompt=none without a session: login_required at the redirect URI (OIDC Core 3.1.2.6)', async () => {
    const request = await authorizationRequest(config, { prompt: 'none' });
    const browser = new Browser();
    const callback = await browser.signIn(request.url, REDIRECT_URI);
    assert.ok(!onLoginPage(browser.hops), 'no login page with prompt=none');
    await assert.rejects(
      client.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: request.pkceCodeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      }),
      (e) => {
        assert.ok(e instanceof client.AuthorizationResponseError, `expected an authorization error response, got ${e?.stack ?? e}`);
        assert.equal(e.error, 'login_required');
        return true;
      },
    );
  });

  it('prompt=none with a session: a code without the login page', async () => {
    const { browser, tokens } = await signInAndGrant(config);
    const hops = browser.hops.length;
    const request = await authorizationRequest(config, { prompt: 'none' });
    const callback = await browser.signIn(request.url, REDIRECT_URI);
    assert.ok(!onLoginPage(browser.hops.slice(hops)));
    const again = await client.authorizationCodeGrant(config, new URL(callback), {
      pkceCodeVerifier: request.pkceCodeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
    assert.equal(again.claims().sub, tokens.claims().sub);
    assert.equal(again.claims().auth_time, tokens.claims().auth_time);
  });

  it('prompt=login with max_age: the login page again, and openid-client checks auth_time against max_age', async () => {
    const { browser } = await signInAndGrant(config);
    const hops = browser.hops.length;
    const request = await authorizationRequest(config, { prompt: 'login', max_age: '30' });
    const callback = await browser.signIn(request.url, REDIRECT_URI);
    assert.ok(onLoginPage(browser.hops.slice(hops)), 'prompt=login shows the login page to a signed-in browser');
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
      pkceCodeVerifier: request.pkceCodeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      maxAge: 30,
    });
    assert.ok(tokens.claims().auth_time >= Math.floor(Date.now() / 1000) - 30);
  });

  it('RP-initiated logout: confirmed, back to the registered URI with state; the next sign-in asks for the password', async () => {
    const { browser, tokens } = await signInAndGrant(config);
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
      state,
    });
    assert.equal(url.origin + url.pathname, config.serverMetadata().end_session_endpoint);
    const back = new URL(await browser.signIn(url, POST_LOGOUT_REDIRECT_URI, { confirm: true }));
    assert.equal(back.origin + back.pathname, POST_LOGOUT_REDIRECT_URI);
    assert.equal(back.searchParams.get('state'), state);

    const hops = browser.hops.length;
    const request = await authorizationRequest(config);
    await browser.signIn(request.url, REDIRECT_URI);
    assert.ok(onLoginPage(browser.hops.slice(hops)), 'signed out: the login page again');
  });
});
