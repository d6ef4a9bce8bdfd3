"""The checks are on: authlib (with joserfc) refuses what it must refuse, and so does the provider.
Each test signs in afresh and breaks one thing."""
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.oauth2.rfc6749.errors import MismatchingStateException
from joserfc.errors import BadSignatureError, InvalidClaimError
from joserfc.jwk import RSAKey

from rp import RelyingParty
from support import REDIRECT_URI, Browser


@pytest.fixture
def rp(provider):
    return RelyingParty(provider, "client_secret_basic")


def code_grant(rp, session=None, **overrides):
    """The front channel, then the code grant; `overrides` replace what the RP hands authlib."""
    session = session or rp.session()
    url, state, code_verifier, nonce = rp.authorization_request(session)
    callback = Browser().sign_in(url, REDIRECT_URI)
    kwargs = dict(authorization_response=callback, state=state, code_verifier=code_verifier)
    kwargs.update(overrides)
    token = session.fetch_token(rp.metadata["token_endpoint"], **kwargs)
    return token, nonce, callback, kwargs


def test_an_id_token_with_another_nonce_is_refused(rp):
    token, nonce, _, _ = code_grant(rp)
    rp.verify_id_token(token, nonce)  # the right one passes
    with pytest.raises(InvalidClaimError, match="nonce"):
        rp.verify_id_token(token, "not-the-nonce-we-sent")


def test_an_id_token_for_another_access_token_is_refused(rp):
    token, nonce, _, _ = code_grant(rp)
    claims = rp.verify_id_token(token, nonce)
    assert "at_hash" in claims
    with pytest.raises(InvalidClaimError, match="at_hash"):
        rp.verify_id_token(token, nonce, access_token=token["access_token"] + "x")


def test_an_id_token_for_another_audience_is_refused(rp):
    token, nonce, _, _ = code_grant(rp)
    with pytest.raises(InvalidClaimError, match="aud"):
        rp.verify_id_token(token, nonce, client_id="someone-else")


def test_an_id_token_signed_by_another_key_is_refused(rp):
    """The JWKS an attacker would serve: the provider's kids with other moduli."""
    token, nonce, _, _ = code_grant(rp)
    forged = {"keys": []}
    for key in rp.jwks()["keys"]:
        other = RSAKey.generate_key(2048).as_dict(private=False)
        forged["keys"].append(dict(key, n=other["n"], e=other["e"]))
    with pytest.raises(BadSignatureError):
        rp.verify_id_token(token, nonce, jwks=forged)


def test_an_authorization_response_with_another_state_is_refused(rp):
    with pytest.raises(MismatchingStateException):
        code_grant(rp, state="not-the-state-we-sent")


def test_the_provider_refuses_a_wrong_pkce_verifier(rp):
    """RFC 7636 4.6."""
    with pytest.raises(OAuthError) as refused:
        code_grant(rp, code_verifier="x" * 64)
    assert refused.value.error == "invalid_grant"


def test_the_provider_refuses_a_code_used_twice(rp):
    """RFC 6749 4.1.2."""
    session = rp.session()
    _, _, _, kwargs = code_grant(rp, session)
    with pytest.raises(OAuthError) as refused:
        rp.session().fetch_token(rp.metadata["token_endpoint"], **kwargs)
    assert refused.value.error == "invalid_grant"


def test_the_provider_refuses_a_wrong_client_secret(rp):
    """RFC 6749 5.2: invalid_client."""
    session = rp.session()
    session.client_secret = "not-the-secret"
    with pytest.raises(OAuthError) as refused:
        code_grant(rp, session)
    assert refused.value.error == "invalid_client"
