// The steps a relying party takes, done with openid-client only, and the checks on what it gets.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import * as client from 'openid-client';

import { Browser, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SCOPE } from './support.mjs';

/**
 * Discovery from the issuer identifier; `auth` is 'basic' or 'post'; `metadata` adds client
 * metadata (e.g. id_token_signed_response_alg), `clientId` names another application.
 */
export async function discover(provider, auth = 'basic', options = {}, { clientId = CLIENT_ID, metadata = {} } = {}) {
  const clientAuth = auth === 'post' ? client.ClientSecretPost(CLIENT_SECRET) : client.ClientSecretBasic(CLIENT_SECRET);
  return client.discovery(
    new URL(provider.issuer),
    clientId,
    { client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI], response_types: ['code'], ...metadata },
    clientAuth,
    // enableNonRepudiationChecks: openid-client verifies the id_token's signature against the JWKS
    // (by default it relies on TLS for ID tokens from the token endpoint, OIDC Core 3.1.3.7 6).
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks], ...options },
  );
}

/** An authorization request with PKCE S256, state and nonce; what the RP keeps to check the answer. */
export async function authorizationRequest(config, extra = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, pkceCodeVerifier, state, nonce };
}

/** Sign in (or reuse the browser's session) and return the callback URL with the code. */
export async function authorize(browser, request) {
  const callback = await browser.signIn(request.url, REDIRECT_URI);
  const params = new URL(callback).searchParams;
  assert.ok(params.get('code'), `no code in the callback ${callback}`);
  return new URL(callback);
}

/** The whole front channel plus the code grant, with every check openid-client offers on. */
export async function signInAndGrant(config, browser = new Browser()) {
  const request = await authorizationRequest(config);
  const callback = await authorize(browser, request);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: request.pkceCodeVerifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
    idTokenExpected: true,
  });
  return { request, callback, tokens, browser };
}

/**
 * OIDC Core 3.1.3.6: at_hash is the base64url of the left half of the hash of the access token,
 * SHA-256 for RS256; for EdDSA with Ed25519, SHA-512 (OIDC Core errata / the OpenID Foundation's
 * conformance suite, as the hash Ed25519 uses).
 */
export function atHash(accessToken, alg = 'RS256') {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export function jwtHeader(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));
}

/** The checks on an ID token from the code grant that openid-client leaves to the RP. */
export async function checkIdToken(config, provider, tokens, nonce, { alg = 'RS256', clientId = CLIENT_ID } = {}) {
  const claims = tokens.claims();
  assert.ok(claims, 'the token response has an id_token');
  assert.equal(claims.iss, provider.issuer);
  assert.equal(typeof claims.sub, 'string');
  assert.ok(claims.sub.length > 0);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  assert.ok(aud.includes(clientId), `aud ${JSON.stringify(claims.aud)} names ${clientId}`);
  if (aud.length > 1 || claims.azp !== undefined) assert.equal(claims.azp, clientId, 'OIDC Core 2: azp is the client');
  assert.equal(claims.nonce, nonce);
  const now = Math.floor(Date.now() / 1000);
  assert.equal(typeof claims.auth_time, 'number', 'auth_time');
  assert.ok(claims.auth_time <= claims.iat + 5 && claims.auth_time > now - 600, `auth_time ${claims.auth_time}, iat ${claims.iat}`);
  assert.ok(claims.exp > now, 'exp in the future');
  assert.equal(typeof claims.sid, 'string', 'sid');
  assert.ok(claims.sid.length > 0);
  assert.equal(claims.at_hash, atHash(tokens.access_token, alg), 'at_hash (OIDC Core 3.1.3.8)');

  // The signature was checked by openid-client against the JWKS; the key it used is named by kid.
  const header = jwtHeader(tokens.id_token);
  assert.equal(header.alg, alg);
  assert.equal(typeof header.kid, 'string', 'the id_token header names its key (kid)');
  const jwks = await (await fetch(config.serverMetadata().jwks_uri)).json();
  const key = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(key, `kid ${header.kid} is in the JWKS`);
  assert.equal(key.kty, alg === 'RS256' ? 'RSA' : 'OKP');
  assert.equal(key.d, undefined, 'the JWKS holds no private key material');
  return claims;
}

/** The expected error of a token-endpoint request that must fail. */
/** A refusal by openid-client itself: its message or its cause's matches `pattern`. */
export async function refusedBy(promise, pattern) {
  await assert.rejects(promise, (e) => {
    const text = `${e?.message} | ${e?.cause?.message} | ${JSON.stringify(e?.cause?.cause ?? null)}`;
    assert.ok(!(e instanceof client.ResponseBodyError), `expected the library to refuse, but the server did: ${text}`);
    assert.match(text, pattern);
    return true;
  });
}

/** A 401 with WWW-Authenticate (RFC 6749 5.2, invalid_client) surfaces as a challenge error. */
export async function rejectsWith(promise, error, message) {
  let caught;
  await assert.rejects(promise, (e) => {
    caught = e;
    return true;
  });
  if (caught instanceof client.ResponseBodyError) {
    assert.equal(caught.error, error, `${message}: ${caught.status} ${JSON.stringify(caught.cause)}`);
  } else if (caught instanceof client.WWWAuthenticateChallengeError) {
    const body = caught.response.bodyUsed ? {} : await caught.response.json().catch(() => ({}));
    const got = body.error ?? caught.cause.map((c) => c.parameters.error).find(Boolean);
    assert.equal(got, error, `${message}: ${caught.status} ${JSON.stringify(caught.cause)} ${JSON.stringify(body)}`);
  } else {
    assert.fail(`${message}: expected an OAuth error response '${error}', got ${caught?.stack ?? caught}`);
  }
}
