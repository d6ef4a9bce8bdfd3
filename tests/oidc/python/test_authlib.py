"""authlib as a strict relying party, with client_secret_basic and client_secret_post (the `rp`
fixture runs each test with both): discovery, the code flow with PKCE and nonce, the id_token
against the JWKS, userinfo, refresh with rotation, introspection and revocation."""
import base64
import hashlib
import json
import time

import pytest
from authlib.integrations.base_client.errors import OAuthError

from support import CLIENT_ID, EMAIL, FIRST_NAME, LAST_NAME, PERMS, USERNAME, Browser


def jwt_header(token):
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def at_hash(access_token):
    """OIDC Core 3.1.3.6: base64url of the left half of SHA-256 of the access token (RS256)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).decode().rstrip("=")


def test_discovery(rp):
    m = rp.metadata
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                     "revocation_endpoint", "introspection_endpoint"):
        assert isinstance(m.get(endpoint), str), endpoint
    assert "code" in m["response_types_supported"]
    assert isinstance(m.get("subject_types_supported"), list), "OIDC Discovery 3: REQUIRED"
    assert "RS256" in m["id_token_signing_alg_values_supported"]
    assert "S256" in m["code_challenge_methods_supported"]
    assert rp.auth_method in m["token_endpoint_auth_methods_supported"]
    for scope in ("openid", "profile", "email", "offline_access"):
        assert scope in m["scopes_supported"], scope
    for grant in ("authorization_code", "refresh_token"):
        assert grant in m.get("grant_types_supported", ["authorization_code", "implicit"]), grant


def test_code_flow_with_pkce_and_nonce(rp):
    browser = Browser()
    signed = rp.sign_in(browser)  # authlib checked state; the id_token signature, iss, aud, exp, iat, nonce, at_hash
    token, claims = signed.token, signed.claims
    assert any(url.split("?")[0].endswith("/account/login/") for _, url, _ in browser.hops), "signed in at the login page"
    assert token["token_type"].lower() == "bearer"
    assert token.get("refresh_token"), "offline_access gives a refresh token"
    assert token["expires_in"] > 0

    assert claims["iss"] == rp.provider.issuer
    assert CLIENT_ID in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]])
    assert isinstance(claims["sub"], str) and claims["sub"]
    assert claims["nonce"] == signed.nonce
    now = time.time()
    assert isinstance(claims.get("auth_time"), int), "auth_time"
    assert now - 600 < claims["auth_time"] <= claims["iat"] + 5
    assert isinstance(claims.get("sid"), str) and claims["sid"], "sid"
    # CodeIDToken validates at_hash only when present; we want it present and right.
    assert claims.get("at_hash") == at_hash(token["access_token"]), "at_hash (OIDC Core 3.1.3.8)"

    header = jwt_header(token["id_token"])
    assert header["alg"] == "RS256"
    assert isinstance(header.get("kid"), str), "the id_token header names its key (kid)"
    keys = {k["kid"]: k for k in rp.jwks()["keys"]}
    assert header["kid"] in keys
    assert keys[header["kid"]]["kty"] == "RSA"
    assert "d" not in keys[header["kid"]], "the JWKS holds no private key material"


def test_userinfo(rp):
    signed = rp.sign_in()
    response = rp.userinfo(signed.session)
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["sub"] == signed.claims["sub"], "OIDC Core 5.3.2: sub MUST match the id_token's"
    assert info["preferred_username"] == USERNAME
    assert info["given_name"] == FIRST_NAME
    assert info["family_name"] == LAST_NAME
    assert info["name"] == "{} {}".format(FIRST_NAME, LAST_NAME)
    assert info["email"] == EMAIL
    assert isinstance(info["email_verified"], bool)
    ca = info["centralauth"]
    assert (ca["is_superuser"], ca["is_staff"], ca["is_active"]) == (False, True, True)
    assert sorted(map(tuple, ca["permissions"])) == sorted((a, c) for a, c, _ in PERMS)

    # The same with POST (OIDC Core 5.3.1: GET and POST are both to be supported).
    response = signed.session.post(rp.metadata["userinfo_endpoint"])
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == signed.claims["sub"]


def test_refresh_rotates_and_the_old_refresh_token_is_refused(rp):
    signed = rp.sign_in()
    old = dict(signed.token)
    fresh = signed.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=old["refresh_token"])
    assert fresh["access_token"] != old["access_token"]
    assert fresh["refresh_token"] != old["refresh_token"], "a rotated refresh token"
    # OIDC Core 12.2: a new id_token, same iss, sub and aud, auth_time of the original sign-in;
    # no nonce is expected, and at_hash binds it to the new access token.
    claims = rp.verify_id_token(fresh, nonce=None)
    assert claims["sub"] == signed.claims["sub"]
    assert claims["aud"] == signed.claims["aud"]
    assert claims["auth_time"] == signed.claims["auth_time"]
    # The session now carries the new access token.
    response = rp.userinfo(signed.session)
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == signed.claims["sub"]

    with pytest.raises(OAuthError) as reused:
        rp.session().refresh_token(rp.metadata["token_endpoint"], refresh_token=old["refresh_token"])
    assert reused.value.error == "invalid_grant"
    # Reuse detection (OAuth 2.0 Security BCP 4.14.2) revokes the whole family.
    with pytest.raises(OAuthError) as after_reuse:
        rp.session().refresh_token(rp.metadata["token_endpoint"], refresh_token=fresh["refresh_token"])
    assert after_reuse.value.error == "invalid_grant"
    assert rp.introspect(rp.session(), fresh["refresh_token"])["active"] is False


def test_introspection_then_revocation_of_the_access_token(rp):
    signed = rp.sign_in()
    access_token = signed.token["access_token"]
    info = rp.introspect(signed.session, access_token, hint="access_token")
    assert info["active"] is True
    assert info["client_id"] == CLIENT_ID
    assert info["username"] == USERNAME
    assert "openid" in info["scope"].split()
    assert info["exp"] > time.time()

    rp.revoke(signed.session, access_token, hint="access_token")
    assert rp.introspect(signed.session, access_token)["active"] is False
    response = rp.userinfo(signed.session)
    assert response.status_code == 401, response.text
    assert "invalid_token" in response.headers.get("WWW-Authenticate", ""), response.headers


def test_revocation_of_the_refresh_token(rp):
    signed = rp.sign_in()
    refresh_token = signed.token["refresh_token"]
    assert rp.introspect(signed.session, refresh_token, hint="refresh_token")["active"] is True
    rp.revoke(signed.session, refresh_token)
    assert rp.introspect(signed.session, refresh_token)["active"] is False
    with pytest.raises(OAuthError) as refused:
        rp.session().refresh_token(rp.metadata["token_endpoint"], refresh_token=refresh_token)
    assert refused.value.error == "invalid_grant"
    # RFC 7009 2.2: an invalid token is no error.
    rp.revoke(signed.session, "no-such-token")


def test_a_second_authorization_in_the_same_session(rp):
    browser = Browser()
    first = rp.sign_in(browser)
    hops = len(browser.hops)
    second = rp.sign_in(browser)
    assert not any(url.split("?")[0].endswith("/account/login/") for _, url, _ in browser.hops[hops:]), \
        "the session signs in without the login page"
    assert second.claims["sub"] == first.claims["sub"]
    assert second.claims["auth_time"] == first.claims["auth_time"], "the same authentication (OIDC Core 2)"
    assert second.token["access_token"] != first.token["access_token"]
