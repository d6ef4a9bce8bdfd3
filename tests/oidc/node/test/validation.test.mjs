// The checks are on: openid-client refuses what it must refuse, and so does the provider.
// Each test signs in afresh and breaks one thing.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import * as client from 'openid-client';

import { authorizationRequest, authorize, discover, refusedBy, rejectsWith, signInAndGrant } from '../lib/flow.mjs';
import { Browser, CLIENT_ID, Provider } from '../lib/support.mjs';

describe('openid-client refuses a broken answer', () => {
  let provider;
  let config;

  before(async () => {
    provider = await Provider.start();
    config = await discover(provider);
  });
  after(async () => {
    if (provider) await provider.stop();
  });

  async function codeFor(browser = new Browser(), extra = {}) {
    const request = await authorizationRequest(config, extra);
    return { request, callback: await authorize(browser, request) };
  }

  it('an id_token whose nonce is not the one the RP sent', async () => {
    const { request, callback } = await codeFor();
    await refusedBy(
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: request.pkceCodeVerifier,
        expectedState: request.state,
        expectedNonce: client.randomNonce(),
      }),
      /"nonce" claim/,
    );
  });

  it('an authorization response whose state is not the one the RP sent', async () => {
    const { request, callback } = await codeFor();
    await refusedBy(
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: request.pkceCodeVerifier,
        expectedState: client.randomState(),
        expectedNonce: request.nonce,
      }),
      /"state" response parameter/,
    );
  });

  it('an id_token signed by a key other than the JWKS says (same kid, other modulus)', async () => {
    const real = await (await fetch(config.serverMetadata().jwks_uri)).json();
    const forged = {
      keys: real.keys.map((k) => {
        const { n, e } = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
        return { ...k, n, e };
      }),
    };
    const jwksUri = config.serverMetadata().jwks_uri;
    const forgedConfig = await discover(provider, 'basic', {
      [client.customFetch]: async (url, options) =>
        String(url) === jwksUri
          ? new Response(JSON.stringify(forged), { headers: { 'content-type': 'application/json' } })
          : fetch(url, options),
    });
    const request = await authorizationRequest(forgedConfig);
    const callback = await authorize(new Browser(), request);
    await refusedBy(
      client.authorizationCodeGrant(forgedConfig, callback, {
        pkceCodeVerifier: request.pkceCodeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      }),
      /signature/i,
    );
  });

  it('the provider refuses a code with the wrong PKCE verifier (RFC 7636 4.6)', async () => {
    const { request, callback } = await codeFor();
    await rejectsWith(
      client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: request.state,
        expectedNonce: request.nonce,
      }),
      'invalid_grant',
      'wrong code_verifier',
    );
  });

  it('the provider refuses a code used twice (RFC 6749 4.1.2)', async () => {
    const { request, callback } = await codeFor();
    const checks = { pkceCodeVerifier: request.pkceCodeVerifier, expectedState: request.state, expectedNonce: request.nonce };
    const tokens = await client.authorizationCodeGrant(config, callback, checks);
    assert.ok(tokens.access_token);
    await rejectsWith(client.authorizationCodeGrant(config, callback, checks), 'invalid_grant', 'a code used twice');
  });

  it('the provider refuses a wrong client secret with invalid_client (RFC 6749 5.2)', async () => {
    const { request, callback } = await codeFor();
    const wrong = await client.discovery(new URL(provider.issuer), CLIENT_ID, 'not-the-secret', client.ClientSecretBasic('not-the-secret'), {
      execute: [client.allowInsecureRequests],
    });
    await rejectsWith(
      client.authorizationCodeGrant(wrong, callback, {
        pkceCodeVerifier: request.pkceCodeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
      }),
      'invalid_client',
      'a wrong client secret',
    );
  });

  it('a wrong user password gets no code', async () => {
    const request = await authorizationRequest(config);
    await assert.rejects(new Browser().signIn(request.url, 'http://127.0.0.1:9/cb', { password: 'wrong' }), /no redirect/);
    // ...and the right one still works afterwards, in a fresh browser.
    const { tokens } = await signInAndGrant(config);
    assert.ok(tokens.claims());
  });
});
