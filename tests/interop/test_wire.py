"""Wire probes of the provider endpoints (shared/wire/observed.md), without the Django client.

Where both providers must agree the test asserts one answer. Where DESIGN.md makes ours differ on
purpose, the test asserts each kind's answer and says why.
"""
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from browser import Browser
from flows import ALICE
from servers import poll

C1, S1 = "wire-client-1", "wire-secret-1-0123456789"  # ours wants >= 16 characters
C2, S2 = "wire-client-2", "wire-secret-2-0123456789"
# Never requested: the browser stops at the redirect and reads the code from it.
R1 = "http://127.0.0.1:9/one/callback/"
R2 = "http://127.0.0.1:9/two/callback/"
PERMS = [("notes", "add_note"), ("notes", "change_note")]
TOKEN_KEYS = {"access_token", "expires_in", "token_type", "scope", "refresh_token"}


@dataclass
class Wire:
    provider: object
    browser: Browser  # alice, signed in at the provider once she first authorizes

    def authorize(self, client_id=C1, redirect_uri=R1, state="xyz123", **params):
        """GET /o/authorize/ like the browser, stopping at the redirect to the client."""
        query = dict(response_type="code", client_id=client_id, state=state, **params)
        if redirect_uri is not None:
            query["redirect_uri"] = redirect_uri
        url = requests.Request("GET", self.provider.url("/o/authorize/"), params=query).prepare().url
        return self.browser.visit(url, stop_at=lambda target: target.startswith("http://127.0.0.1:9/"))

    def code(self, client_id=C1, redirect_uri=R1):
        visit = self.authorize(client_id, redirect_uri)
        assert visit.stopped_at, visit.hops
        return parse_qs(urlsplit(visit.stopped_at).query)["code"][0]

    def token(self, data, client=(C1, S1), basic=False):
        """POST /o/token/ with the client's credentials in the body (or HTTP Basic)."""
        data = dict(data)
        if basic:
            auth = client
        else:
            auth = None
            data.update(client_id=client[0], client_secret=client[1])
        return requests.post(self.provider.url("/o/token/"), data=data, auth=auth, timeout=10)

    def exchange(self, code, client=(C1, S1), redirect_uri=R1, basic=False):
        data = {"grant_type": "authorization_code", "code": code}
        if redirect_uri is not None:
            data["redirect_uri"] = redirect_uri
        return self.token(data, client, basic)

    def tokens(self):
        """A fresh token pair of alice for client 1."""
        response = self.exchange(self.code())
        assert response.status_code == 200, response.text
        return response.json()

    def refresh(self, refresh_token, client=(C1, S1)):
        return self.token({"grant_type": "refresh_token", "refresh_token": refresh_token}, client)

    def user(self, access_token):
        return requests.get(
            self.provider.url("/user/"), headers={"Authorization": "Bearer " + access_token}, timeout=10
        )

    def revoke(self, token, client=(C1, S1), **extra):
        data = dict(client_id=client[0], client_secret=client[1], **extra)
        if token is not None:
            data["token"] = token
        return requests.post(self.provider.url("/o/revoke_token/"), data=data, timeout=10)

    def introspect(self, token, client=(C1, S1)):
        return requests.post(self.provider.url("/o/introspect/"), data={"token": token}, auth=client, timeout=10)

    def perms(self, body, **kwargs):
        return requests.post(self.provider.url("/perms/"), data=body, timeout=10, **kwargs)


@pytest.fixture
def wire(provider):
    """Two applications; alice is a staff member of the first, with two permissions."""
    with provider.batch():
        provider.create_application("Wire one", R1, C1, S1)
        provider.create_application("Wire two", R2, C2, S2)
    perms = [{"app_label": a, "codename": c, "repr": "notes | note | " + c} for a, c in PERMS]
    answer = requests.post(
        provider.url("/perms/"), json={"client_id": C1, "client_secret": S1, "perms": perms}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    with provider.batch():
        ALICE.register(provider)
        provider.add_membership(C1, "alice", is_staff=True, perms=PERMS)
    return Wire(provider, ALICE.browser())


def assert_refused_bearer(provider, response):
    """A missing, invalid, expired or revoked token at /user/."""
    if provider.kind == "django":
        # The original: DOT's ProtectedResourceView answers an empty 403.
        assert (response.status_code, response.text) == (403, "")
    else:
        # Ours: RFC 6750 §3 — 401 with a WWW-Authenticate challenge (the Django client treats any
        # non-2xx alike, DESIGN §3).
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def assert_oauth_error(response, status, error):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == error


# -- /o/authorize/ ---------------------------------------------------------------------------------


def test_authorize_without_a_session_redirects_to_the_login_page_and_back(provider, wire):
    response = Browser().get(wire.provider.url("/o/authorize/?response_type=code&client_id=" + C1))

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == provider.login_page_path
    next_url = parse_qs(location.query)["next"][0]
    assert next_url.startswith("/provider/o/authorize/?") and "client_id=" + C1 in next_url


def test_authorize_redirects_to_the_redirect_uri_with_code_and_state(wire):
    visit = wire.authorize()

    assert visit.stopped_at.startswith(R1 + "?")
    query = parse_qs(urlsplit(visit.stopped_at).query)
    assert query["state"] == ["xyz123"] and query["code"][0]


def test_authorize_keeps_the_query_of_the_redirect_uri_and_appends_code_and_state(wire):
    # The Django client registers its callback and sends it with ?next=... appended.
    visit = wire.authorize(redirect_uri=R1 + "?next=/x/")

    query = parse_qs(urlsplit(visit.stopped_at).query)
    assert visit.stopped_at.startswith(R1 + "?")
    assert query["next"] == ["/x/"] and query["state"] == ["xyz123"] and query["code"][0]


@pytest.mark.parametrize(
    "client_id, redirect_uri", [("no-such-client", R1), (C1, "http://127.0.0.1:9999/evil/")],
    ids=["unknown client", "unregistered redirect uri"],
)
def test_authorize_shows_an_error_page_and_never_redirects_to_an_unverified_uri(wire, client_id, redirect_uri):
    wire.authorize()  # sign in first
    visit = wire.authorize(client_id=client_id, redirect_uri=redirect_uri)

    assert visit.stopped_at is None
    assert visit.response.status_code == 400
    assert "Location" not in visit.response.headers


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://2130706433:9/one/callback/", "http://127.1:9/one/callback/", R1 + "\x01", "HTTP://127.0.0.1:9/one/callback/"],
    ids=["numeric IPv4", "short IPv4", "trailing control character", "upper-case scheme"],
)
def test_a_redirect_uri_that_only_normalises_to_the_registered_one_is_refused(provider, wire, redirect_uri):
    # Ours compares redirect URIs as strings (RFC 9700 §4.1.3, DESIGN §6), the extra query of the
    # django-centralauth profile aside. The original compares host and path as written too, but
    # lower-cases the scheme first.
    wire.authorize()  # sign in first
    visit = wire.authorize(redirect_uri=redirect_uri)

    if provider.kind == "django" and redirect_uri.startswith("HTTP:"):
        assert visit.stopped_at is not None
        return
    assert visit.stopped_at is None, visit.stopped_at
    assert visit.response.status_code == 400
    assert "Location" not in visit.response.headers


def test_a_repeated_state_gets_no_code(provider, wire):
    wire.authorize()  # sign in first
    query = [("response_type", "code"), ("client_id", C1), ("redirect_uri", R1), ("state", "a"), ("state", "b")]
    url = requests.Request("GET", wire.provider.url("/o/authorize/"), params=query).prepare().url
    visit = wire.browser.visit(url, stop_at=lambda target: target.startswith("http://127.0.0.1:9/"))

    if provider.kind == "django":
        # oauthlib refuses a duplicate state with an error page.
        assert visit.stopped_at is None and visit.response.status_code == 400
    else:
        # RFC 6749 §3.1: the client and its redirect URI are known, so the error goes back to it,
        # with no state (there is no one value to send back).
        returned = parse_qs(urlsplit(visit.stopped_at).query)
        assert returned["error"] == ["invalid_request"]
        assert "code" not in returned and "state" not in returned


# -- /o/token/ -------------------------------------------------------------------------------------


@pytest.mark.parametrize("basic", [False, True], ids=["credentials in body", "http basic"])
def test_the_code_exchange_answers_a_bearer_token_pair(provider, wire, basic):
    response = wire.exchange(wire.code(), basic=basic)

    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == provider.access_token_lifetime
    if provider.kind == "django":
        assert body["scope"] == "read write"  # DOT's default scopes


def test_a_replayed_code_is_an_invalid_grant(provider, wire):
    code = wire.code()
    first = wire.exchange(code)
    assert first.status_code == 200

    assert_oauth_error(wire.exchange(code), 400, "invalid_grant")
    if provider.kind == "django":
        # The original leaves the tokens issued from the code alive.
        assert wire.user(first.json()["access_token"]).status_code == 200
    else:
        # Ours (DESIGN §6, RFC 6749 §4.1.2): a replay revokes the tokens issued from the code.
        assert_refused_bearer(provider, wire.user(first.json()["access_token"]))


def test_a_code_issued_to_another_client_is_an_invalid_grant(wire):
    assert_oauth_error(wire.exchange(wire.code(), client=(C2, S2), redirect_uri=R1), 400, "invalid_grant")


@pytest.mark.parametrize("basic", [False, True], ids=["credentials in body", "http basic"])
def test_a_wrong_client_secret_is_an_invalid_client(wire, basic):
    response = wire.exchange(wire.code(), client=(C1, "wrong"), basic=basic)

    assert_oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize(
    "body", [{"client_id": C2}, {"client_secret": S1}], ids=["another client_id", "client_secret as well"],
)
def test_http_basic_with_other_credentials_in_the_body(provider, wire, body):
    data = dict(grant_type="authorization_code", code=wire.code(), redirect_uri=R1, **body)
    response = requests.post(wire.provider.url("/o/token/"), data=data, auth=(C1, S1), timeout=10)

    if provider.kind == "django":
        # The original believes HTTP Basic and ignores the body.
        assert response.status_code == 200, response.text
    else:
        # Ours: one authentication method and one identity per request (RFC 6749 §2.3, §5.2).
        assert_oauth_error(response, 400, "invalid_request")


def test_an_unknown_client_is_an_invalid_client(wire):
    assert_oauth_error(wire.exchange("whatever", client=("no-such-client", "x")), 401, "invalid_client")


def test_an_unknown_grant_type_is_unsupported(wire):
    assert_oauth_error(wire.token({"grant_type": "bogus"}), 400, "unsupported_grant_type")


def test_a_token_request_without_redirect_uri(provider, wire):
    response = wire.exchange(wire.code(), redirect_uri=None)

    if provider.kind == "django":
        # The original accepts an omitted redirect_uri.
        assert response.status_code == 200
    else:
        # Ours (DESIGN §6, RFC 6749 §4.1.3): it must equal the authorization request's, and a
        # grant that does not match it is invalid_grant (§5.2).
        assert_oauth_error(response, 400, "invalid_grant")


def test_a_token_request_with_another_redirect_uri_is_refused(provider, wire):
    response = wire.exchange(wire.code(), redirect_uri="http://127.0.0.1:9999/evil/")

    if provider.kind == "django":
        assert response.status_code == 400
        assert response.json() == {"error": "invalid_request", "error_description": "Mismatching redirect URI."}
    else:
        # The original says invalid_request; RFC 6749 §5.2 names invalid_grant, which ours answers.
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


def test_a_refresh_rotates_the_pair_and_retires_the_old_access_token(provider, wire):
    old = wire.tokens()

    response = wire.refresh(old["refresh_token"])

    assert response.status_code == 200, response.text
    new = response.json()
    assert set(new) == TOKEN_KEYS
    assert new["access_token"] != old["access_token"] and new["refresh_token"] != old["refresh_token"]
    assert wire.user(new["access_token"]).status_code == 200
    assert_refused_bearer(provider, wire.user(old["access_token"]))


def test_an_immediate_second_refresh_with_the_same_token(provider, wire):
    old = wire.tokens()
    assert wire.refresh(old["refresh_token"]).status_code == 200

    again = wire.refresh(old["refresh_token"])

    if provider.kind == "django":
        # REFRESH_TOKEN_GRACE_PERIOD_SECONDS = 0: the reuse is refused at once.
        assert_oauth_error(again, 400, "invalid_grant")
    else:
        # Ours (DESIGN §6): a reuse within the grace window still succeeds, so that concurrent
        # requests of one browser session are not logged out.
        assert again.status_code == 200, again.text
        assert wire.user(again.json()["access_token"]).status_code == 200


def test_a_refresh_with_another_clients_credentials_is_an_invalid_grant(wire):
    assert_oauth_error(wire.refresh(wire.tokens()["refresh_token"], client=(C2, S2)), 400, "invalid_grant")


# -- /user/ ----------------------------------------------------------------------------------------


def test_the_user_endpoint_describes_the_membership_of_the_tokens_application(wire):
    response = wire.user(wire.tokens()["access_token"])

    assert response.status_code == 200
    body = response.json()
    permissions = body.pop("permissions")
    if wire.provider.kind == "ours":
        # Our one addition (README): the user's stable id, the `sub` of OIDC tokens and events.
        assert body.pop("sub").isdigit()
    assert body == {
        "username": "alice",
        "first_name": "Alice",
        "last_name": "Anchor",
        "email": "alice@example.com",
        "is_superuser": False,
        "is_staff": True,
        "is_active": True,
    }
    # Pairs, in no particular order (the original builds them from a set).
    assert sorted(map(tuple, permissions)) == sorted(PERMS)


@pytest.mark.parametrize("token", ["invalid", ""], ids=["unknown token", "no token"])
def test_the_user_endpoint_refuses_a_bad_token(provider, wire, token):
    headers = {"Authorization": "Bearer " + token} if token else {}
    response = requests.get(wire.provider.url("/user/"), headers=headers, timeout=10)

    assert_refused_bearer(provider, response)


def test_the_user_endpoint_refuses_the_token_once_the_membership_is_gone(provider, wire):
    access = wire.tokens()["access_token"]
    provider.delete_membership(C1, "alice")

    response = wire.user(access)
    if provider.kind == "django":
        # The original checks the membership at each request: 403.
        assert response.status_code == 403
    else:
        # Ours revokes the application's tokens of the user with the membership (README,
        # deliberate differences): the token itself is refused, 401 with a Bearer challenge.
        assert_refused_bearer(provider, response)


# -- /o/revoke_token/ ------------------------------------------------------------------------------


def test_a_revoked_access_token_no_longer_opens_the_user_endpoint(provider, wire):
    access = wire.tokens()["access_token"]

    response = wire.revoke(access)

    assert response.status_code == 200
    assert_refused_bearer(provider, wire.user(access))


def test_a_revoked_refresh_token_cannot_be_used(wire):
    tokens = wire.tokens()

    assert wire.revoke(tokens["refresh_token"], token_type_hint="refresh_token").status_code == 200

    assert_oauth_error(wire.refresh(tokens["refresh_token"]), 400, "invalid_grant")


def test_revoking_an_unknown_token_succeeds(wire):
    # RFC 7009 §2.2: invalid tokens do not cause an error.
    assert wire.revoke("no-such-token").status_code == 200


def test_revoking_without_a_token_is_an_invalid_request(wire):
    assert_oauth_error(wire.revoke(None), 400, "invalid_request")


def test_revoking_with_a_wrong_secret_is_an_invalid_client(wire):
    assert_oauth_error(wire.revoke("no-such-token", client=(C1, "wrong")), 401, "invalid_client")


def test_revoking_another_clients_token(provider, wire):
    access = wire.tokens()["access_token"]

    response = wire.revoke(access, client=(C2, S2))

    if provider.kind == "django":
        # The original has no ownership check: client 2 revokes client 1's token.
        assert response.status_code == 200
        assert_refused_bearer(provider, wire.user(access))
    else:
        # Ours (DESIGN §6, RFC 7009 §2.1): only the token's own client may revoke it. The answer's
        # status is not part of the contract; the token must survive.
        assert wire.user(access).status_code == 200


# -- /o/introspect/ --------------------------------------------------------------------------------


def test_introspection_describes_an_active_token(provider, wire):
    response = wire.introspect(wire.tokens()["access_token"])

    assert response.status_code == 200
    body = response.json()
    assert (body["active"], body["client_id"], body["username"]) == (True, C1, "alice")
    assert isinstance(body["exp"], int) and isinstance(body["scope"], str)
    if provider.kind == "django":
        assert set(body) == {"active", "scope", "exp", "client_id", "username"}


def test_introspecting_an_unknown_token(provider, wire):
    response = wire.introspect("no-such-token")

    if provider.kind == "django":
        # DOT 1.5.0 answers 401 (later DOT versions 200).
        assert (response.status_code, response.json()) == (401, {"active": False})
    else:
        # Ours: RFC 7662 §2.2 — an inactive token is a 200 with {"active": false}.
        assert (response.status_code, response.json()) == (200, {"active": False})


def test_introspecting_another_clients_token(provider, wire):
    response = wire.introspect(wire.tokens()["access_token"], client=(C2, S2))

    if provider.kind == "django":
        # The original lets any client introspect any token.
        assert response.status_code == 200 and response.json()["active"] is True
    else:
        # Ours (DESIGN §6): a token of another client looks like an unknown one.
        assert (response.status_code, response.json()) == (200, {"active": False})


@pytest.mark.access_token_lifetime(2)
def test_introspecting_an_expired_token_says_inactive(wire):
    access = wire.tokens()["access_token"]

    def inactive():
        response = wire.introspect(access)
        return response if response.json().get("active") is False else None

    response = poll(inactive, timeout=15, what="the token to expire", interval=0.25)

    assert (response.status_code, response.json()) == (200, {"active": False})


# -- /perms/ ---------------------------------------------------------------------------------------


def test_perms_with_a_wrong_secret_is_forbidden(wire):
    response = wire.perms('{"client_id": "%s", "client_secret": "wrong", "perms": []}' % C1,
                          headers={"Content-Type": "application/json"})

    assert response.status_code == 403


def test_perms_without_a_perms_list(provider, wire):
    response = wire.perms('{"client_id": "%s", "client_secret": "%s"}' % (C1, S1),
                          headers={"Content-Type": "application/json"})

    if provider.kind == "django":
        # The original takes a missing list for an empty one and deletes every permission.
        assert response.json() == {"success": True, "synced": 0, "created": 0, "deleted": 2, "count": 0}
    else:
        # Ours (DESIGN §3): a body without a `perms` list is a 400 and changes nothing.
        assert response.status_code == 400
        assert sorted(provider.application_perms(C1)) == ["notes.add_note", "notes.change_note"]


def test_perms_with_a_body_that_is_not_json(provider, wire):
    response = wire.perms("client_id=%s&client_secret=%s" % (C1, S1),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})

    if provider.kind == "django":
        assert response.status_code == 500  # json.loads raises
    else:
        assert response.status_code == 400  # DESIGN §3, §7: bad input is never a 500
