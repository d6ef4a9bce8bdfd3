// The relying party's life, step by step, on one provider: each `it` builds on the ones before.
// client_secret_basic.test.mjs and client_secret_post.test.mjs run it with either client
// authentication at the token, introspection and revocation endpoints.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as client from 'openid-client';

import { checkIdToken, discover, rejectsWith, signInAndGrant } from './flow.mjs';
import { CLIENT_ID, PERMS, Provider, USER } from './support.mjs';

export function relyingPartyScenario(auth) {
  describe(`openid-client, client_secret_${auth}`, () => {
    let provider;
    const s = {}; // what the steps hand on

    before(async () => {
      provider = await Provider.start({ refreshGraceSeconds: 0 });
    });
    after(async () => {
      if (provider) await provider.stop();
    });

    function need(...keys) {
      for (const k of keys) assert.ok(s[k] !== undefined, `an earlier step failed: no ${k}`);
    }

    it('discovers the provider from its issuer identifier', async () => {
      s.config = await discover(provider, auth);
      const m = s.config.serverMetadata();
      assert.equal(m.issuer, provider.issuer);
      for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri',
        'revocation_endpoint', 'introspection_endpoint']) {
        assert.equal(typeof m[endpoint], 'string', endpoint);
      }
      assert.ok(m.response_types_supported.includes('code'));
      assert.ok(Array.isArray(m.subject_types_supported), 'subject_types_supported (OIDC Discovery 3: REQUIRED)');
      assert.ok(m.id_token_signing_alg_values_supported.includes('RS256'));
      assert.ok(m.code_challenge_methods_supported.includes('S256'));
      for (const method of ['client_secret_basic', 'client_secret_post']) {
        assert.ok(m.token_endpoint_auth_methods_supported.includes(method), method);
      }
      for (const scope of ['openid', 'profile', 'email', 'offline_access']) {
        assert.ok(m.scopes_supported.includes(scope), scope);
      }
      for (const grant of ['authorization_code', 'refresh_token']) {
        assert.ok((m.grant_types_supported ?? ['authorization_code']).includes(grant), grant);
      }
    });

    it('signs in with the code flow, PKCE S256, state and nonce; the id_token verifies against the JWKS', async () => {
      need('config');
      const { request, tokens, browser } = await signInAndGrant(s.config);
      s.browser = browser;
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.ok(tokens.access_token);
      assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
      assert.ok(tokens.expiresIn() > 0);
      s.claims = await checkIdToken(s.config, provider, tokens, request.nonce);
      s.tokens = tokens;
      assert.ok(browser.hops.some(([, url]) => new URL(url).pathname.endsWith('/account/login/')), 'signed in at the login page');
    });

    it('reads userinfo for the subject of the id_token', async () => {
      need('tokens', 'claims');
      const info = await client.fetchUserInfo(s.config, s.tokens.access_token, s.claims.sub);
      assert.equal(info.sub, s.claims.sub);
      assert.equal(info.preferred_username, USER.username);
      assert.equal(info.given_name, USER.first_name);
      assert.equal(info.family_name, USER.last_name);
      assert.equal(info.name, `${USER.first_name} ${USER.last_name}`);
      assert.equal(info.email, USER.email);
      assert.equal(typeof info.email_verified, 'boolean');
      const ca = info.centralauth;
      assert.ok(ca, 'the centralauth claim');
      assert.equal(ca.is_superuser, false);
      assert.equal(ca.is_staff, true);
      assert.equal(ca.is_active, true);
      const perms = ca.permissions.map((p) => p.join('.')).sort();
      assert.deepEqual(perms, PERMS.map((p) => `${p.app_label}.${p.codename}`).sort());
    });

    it('introspects the access token as active', async () => {
      need('tokens');
      const info = await client.tokenIntrospection(s.config, s.tokens.access_token);
      assert.equal(info.active, true);
      assert.equal(info.client_id, CLIENT_ID);
      assert.equal(info.username, USER.username);
      assert.ok(info.scope.split(' ').includes('openid'), `scope ${info.scope}`);
      assert.ok(info.exp > Date.now() / 1000, 'exp in the future');
    });

    it('refreshes: a new pair, a new valid id_token for the same subject', async () => {
      need('tokens', 'claims');
      const old = s.tokens;
      const fresh = await client.refreshTokenGrant(s.config, old.refresh_token);
      assert.notEqual(fresh.access_token, old.access_token);
      assert.ok(fresh.refresh_token, 'a rotated refresh token');
      assert.notEqual(fresh.refresh_token, old.refresh_token);
      // openid-client has checked its signature against the JWKS, iss, aud, exp and iat.
      const claims = fresh.claims();
      assert.ok(claims, 'the refresh response has an id_token');
      // OIDC Core 12.2: same iss, sub, aud; auth_time of the original authentication.
      assert.equal(claims.iss, s.claims.iss);
      assert.equal(claims.sub, s.claims.sub);
      assert.deepEqual(claims.aud, s.claims.aud);
      assert.equal(claims.auth_time, s.claims.auth_time);
      const info = await client.fetchUserInfo(s.config, fresh.access_token, s.claims.sub);
      assert.equal(info.sub, s.claims.sub);
      s.oldRefresh = old.refresh_token;
      s.fresh = fresh;
    });

    it('rejects the rotated-out refresh token with invalid_grant, and the family with it', async () => {
      need('oldRefresh', 'fresh');
      await rejectsWith(client.refreshTokenGrant(s.config, s.oldRefresh), 'invalid_grant', 'reuse of the old refresh token');
      // Reuse detection (OAuth 2.0 Security BCP 4.14.2): the whole family is revoked.
      await rejectsWith(client.refreshTokenGrant(s.config, s.fresh.refresh_token), 'invalid_grant', 'the new refresh token after reuse');
      const info = await client.tokenIntrospection(s.config, s.fresh.refresh_token);
      assert.equal(info.active, false);
    });

    it('revokes an access token: introspection says inactive, userinfo refuses it', async () => {
      need('config', 'browser', 'claims');
      // A second authorization in the same browser session: no login form this time.
      const hopsBefore = s.browser.hops.length;
      const { tokens, request } = await signInAndGrant(s.config, s.browser);
      assert.ok(!s.browser.hops.slice(hopsBefore).some(([, url]) => new URL(url).pathname.endsWith('/account/login/')),
        'the session signs in without the login page');
      const claims = await checkIdToken(s.config, provider, tokens, request.nonce);
      assert.equal(claims.sub, s.claims.sub);
      assert.equal(claims.auth_time, s.claims.auth_time, 'auth_time: the same authentication (OIDC Core 2)');
      s.second = tokens;

      assert.equal((await client.tokenIntrospection(s.config, tokens.access_token)).active, true);
      await client.tokenRevocation(s.config, tokens.access_token, { token_type_hint: 'access_token' });
      assert.equal((await client.tokenIntrospection(s.config, tokens.access_token)).active, false);
      await assert.rejects(client.fetchUserInfo(s.config, tokens.access_token, s.claims.sub), (e) => {
        assert.ok(e instanceof client.WWWAuthenticateChallengeError, `expected a Bearer challenge, got ${e?.stack ?? e}`);
        assert.equal(e.status, 401);
        assert.equal(e.cause[0].parameters.error, 'invalid_token');
        return true;
      });
    });

    it('revokes a refresh token: introspection says inactive, the refresh grant refuses it', async () => {
      need('second');
      const rt = s.second.refresh_token;
      assert.equal((await client.tokenIntrospection(s.config, rt, { token_type_hint: 'refresh_token' })).active, true);
      await client.tokenRevocation(s.config, rt);
      assert.equal((await client.tokenIntrospection(s.config, rt)).active, false);
      await rejectsWith(client.refreshTokenGrant(s.config, rt), 'invalid_grant', 'a revoked refresh token');
      // RFC 7009 2.2: an invalid token is no error.
      await client.tokenRevocation(s.config, 'no-such-token');
    });
  });
}
