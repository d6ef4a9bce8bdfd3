"""What discovery advertises beyond the basic flow, used with authlib: EdDSA id_tokens,
prompt=none / prompt=login with max_age, RP-initiated logout."""
import base64
import json
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from rp import RelyingParty
from support import EDDSA_CLIENT_ID, POST_LOGOUT_REDIRECT_URI, REDIRECT_URI, Browser


@pytest.fixture
def rp(provider):
    return RelyingParty(provider)


def on_login_page(hops):
    return any(url.split("?")[0].endswith("/account/login/") for _, url, _ in hops)


def header_of(token):
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_an_application_signing_with_eddsa(provider):
    rp = RelyingParty(provider, client_id=EDDSA_CLIENT_ID, id_token_alg="EdDSA")
    assert "EdDSA" in rp.metadata["id_token_signing_alg_values_supported"]
    # The signature with joserfc against the OKP key; at_hash with SHA-512, as authlib computes it for EdDSA.
    signed = rp.sign_in()
    header = header_of(signed.token["id_token"])
    assert header["alg"] == "EdDSA"
    key = next(k for k in rp.jwks()["keys"] if k["kid"] == header["kid"])
    assert (key["kty"], key["crv"]) == ("OKP", "Ed25519")
    assert "at_hash" in signed.claims
    assert signed.claims["aud"] == EDDSA_CLIENT_ID or EDDSA_CLIENT_ID in signed.claims["aud"]

    fresh = signed.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=signed.token["refresh_token"])
    claims = rp.verify_id_token(fresh, nonce=None)
    assert claims["sub"] == signed.claims["sub"]
    response = rp.userinfo(signed.session)
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == signed.claims["sub"]


def test_prompt_none_without_a_session_is_login_required(rp):
    """OIDC Core 3.1.2.6: the error at the redirect URI, with the state."""
    session = rp.session()
    url, state, _, _ = rp.authorization_request(session, prompt="none")
    browser = Browser()
    callback = browser.sign_in(url, REDIRECT_URI)
    assert not on_login_page(browser.hops)
    params = parse_qs(urlsplit(callback).query)
    assert params.get("error") == ["login_required"], callback
    assert params.get("state") == [state]
    assert "code" not in params


def test_prompt_none_with_a_session_gives_a_code(rp):
    browser = Browser()
    first = rp.sign_in(browser)
    hops = len(browser.hops)
    again = rp.sign_in(browser, prompt="none")
    assert not on_login_page(browser.hops[hops:])
    assert again.claims["sub"] == first.claims["sub"]
    assert again.claims["auth_time"] == first.claims["auth_time"]


def test_prompt_login_with_max_age_signs_in_again(rp):
    browser = Browser()
    rp.sign_in(browser)
    hops = len(browser.hops)
    again = rp.sign_in(browser, prompt="login", max_age=30)
    assert on_login_page(browser.hops[hops:]), "prompt=login shows the login page to a signed-in browser"
    # OIDC Core 3.1.2.1: with max_age, auth_time is REQUIRED.
    assert again.claims["auth_time"] >= int(time.time()) - 30


def test_rp_initiated_logout(rp):
    """OIDC RP-Initiated Logout 1.0: id_token_hint, a registered post_logout_redirect_uri, state back."""
    browser = Browser()
    signed = rp.sign_in(browser)
    state = "logout-state-1"
    url = rp.metadata["end_session_endpoint"] + "?" + urlencode({
        "id_token_hint": signed.token["id_token"],
        "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI,
        "state": state,
    })
    back = browser.sign_in(url, POST_LOGOUT_REDIRECT_URI, confirm=True)
    assert back.split("?")[0] == POST_LOGOUT_REDIRECT_URI
    assert parse_qs(urlsplit(back).query).get("state") == [state]

    hops = len(browser.hops)
    rp.sign_in(browser)
    assert on_login_page(browser.hops[hops:]), "signed out: the login page again"


def test_amr_and_acr_say_how_the_user_signed_in(rp):
    """RFC 8176 amr and OIDC Core 2 acr in the verified id_token; acr is one of the advertised
    acr_values_supported, and a refresh keeps them (Core 12.2)."""
    supported = rp.metadata["acr_values_supported"]
    signed = rp.sign_in()
    assert signed.claims["amr"] == ["pwd"]
    assert signed.claims["acr"] == supported[0], "a password is the lowest level"
    fresh = signed.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=signed.token["refresh_token"])
    claims = rp.verify_id_token(fresh, nonce=None)
    assert (claims["amr"], claims["acr"]) == (signed.claims["amr"], signed.claims["acr"])


def test_acr_values_asking_for_a_second_factor_lead_to_the_step_up(rp):
    """OIDC Core 3.1.2.1: acr_values is honoured; a password-only session gets no code but is
    sent to the second step, and prompt=none is login_required."""
    browser = Browser()
    rp.sign_in(browser)
    second_factor = rp.metadata["acr_values_supported"][1]
    session = rp.session()
    url, _, _, _ = rp.authorization_request(session, acr_values=second_factor)
    response = browser.session.get(url, allow_redirects=False)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/account/login/verify/?"), location
    assert parse_qs(urlsplit(location).query)["require"] == ["mfa"]
    url, state, _, _ = rp.authorization_request(session, acr_values=second_factor, prompt="none")
    callback = browser.session.get(url, allow_redirects=False).headers["Location"]
    params = parse_qs(urlsplit(callback).query)
    assert (params.get("error"), params.get("state")) == (["login_required"], [state]), callback
