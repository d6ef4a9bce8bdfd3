"""The relying party: authlib's OAuth2Session for the protocol, and the ID token checked the way
authlib's own OpenID client integration checks it (authlib.integrations.base_client.sync_openid:
joserfc's jwt.decode against the JWKS, then authlib's CodeIDToken claims validation, which checks
nonce, azp and at_hash), plus iss and aud pinned to the discovered issuer and our client id.

authlib 1.9 builds on joserfc and deprecates its own `authlib.jose` (removed in 2.0), so the
signature is verified with joserfc, as authlib itself does.
"""
from dataclasses import dataclass, field

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from support import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SCOPE, Browser

LEEWAY = 5  # seconds of clock skew allowed: both ends run on this machine


@dataclass
class SignIn:
    session: OAuth2Session
    token: dict
    claims: CodeIDToken
    nonce: str
    browser: Browser = field(repr=False)


def check_token_response(response):
    """RFC 6749 5.1 (and OIDC Core 3.1.3.3): a token response is JSON and not to be cached."""
    if response.status_code == 200:
        assert "no-store" in response.headers.get("Cache-Control", ""), \
            "token response without Cache-Control: no-store: {}".format(dict(response.headers))
        assert response.headers.get("Content-Type", "").startswith("application/json"), dict(response.headers)
    return response


class RelyingParty:
    def __init__(self, provider, auth_method="client_secret_basic", client_id=CLIENT_ID, id_token_alg="RS256"):
        self.provider = provider
        self.auth_method = auth_method
        self.client_id = client_id
        self.id_token_alg = id_token_alg  # what the RP accepts, as it registered
        response = requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=30)
        assert response.status_code == 200, "discovery answered {}: {}".format(response.status_code, response.text[:500])
        self.metadata = response.json()
        # OIDC Discovery 4.3: the issuer in the document is the one discovery started from.
        assert self.metadata["issuer"] == provider.issuer

    def session(self, token=None):
        session = OAuth2Session(
            self.client_id,
            CLIENT_SECRET,
            token_endpoint_auth_method=self.auth_method,
            revocation_endpoint_auth_method=self.auth_method,
            scope=SCOPE,
            redirect_uri=REDIRECT_URI,
            code_challenge_method="S256",
            token=token,
            default_timeout=30,
        )
        for hook in ("access_token_response", "refresh_token_response"):
            session.register_compliance_hook(hook, check_token_response)
        return session

    def jwks(self):
        response = requests.get(self.metadata["jwks_uri"], timeout=30)
        assert response.status_code == 200, response.text[:500]
        return response.json()

    def authorization_request(self, session, **extra):
        """(url, state, code_verifier, nonce): PKCE S256, state and nonce."""
        code_verifier = generate_token(48)
        nonce = generate_token(20)
        url, state = session.create_authorization_url(
            self.metadata["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce, **extra
        )
        return url, state, code_verifier, nonce

    def sign_in(self, browser=None, expected_nonce=None, **extra):
        """The front channel in a browser, then the code grant; the id_token verified."""
        browser = browser or Browser()
        session = self.session()
        url, state, code_verifier, nonce = self.authorization_request(session, **extra)
        callback = browser.sign_in(url, REDIRECT_URI)
        token = session.fetch_token(
            self.metadata["token_endpoint"], authorization_response=callback, state=state, code_verifier=code_verifier
        )
        claims = self.verify_id_token(token, expected_nonce or nonce)
        return SignIn(session, token, claims, nonce, browser)

    def verify_id_token(self, token, nonce, jwks=None, access_token=None, client_id=None):
        """The signature against the JWKS (only the RP's algorithm, the key named by kid), then the claims."""
        client_id = client_id or self.client_id
        assert "id_token" in token, "the token response has an id_token: {}".format(sorted(token))
        decoded = jwt.decode(token["id_token"], KeySet.import_key_set(jwks or self.jwks()), algorithms=[self.id_token_alg])
        params = {"client_id": client_id, "access_token": access_token or token["access_token"]}
        if nonce is not None:
            params["nonce"] = nonce
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": self.metadata["issuer"]},
                "aud": {"essential": True, "value": client_id},
                "sub": {"essential": True},
            },
            params,
        )
        claims.validate(leeway=LEEWAY)
        return claims

    def userinfo(self, session):
        return session.get(self.metadata["userinfo_endpoint"])

    def introspect(self, session, token, hint=None):
        response = session.introspect_token(self.metadata["introspection_endpoint"], token=token, token_type_hint=hint)
        assert response.status_code == 200, "introspection answered {}: {}".format(response.status_code, response.text)
        return response.json()

    def revoke(self, session, token, hint=None):
        response = session.revoke_token(self.metadata["revocation_endpoint"], token=token, token_type_hint=hint)
        assert response.status_code == 200, "revocation answered {}: {}".format(response.status_code, response.text)
        return response
