"""After sign-in: the client's sync middleware refreshes an expired token and re-reads the user.

The client (centralauth/client/middleware.py) does nothing while its token's `expires_at` is in
the future. Once it has passed, it GETs /user/ through requests-oauthlib, which first refreshes the
token at /o/token/. A refused refresh (OAuth error, retried twice), a /user/ answer that is not 2xx,
or `is_active: false` logs the user out and answers 302 to LOGIN_URL?next=<path>.
"""
import pytest

from client import CLIENT_ID
from flows import ALICE, NOTES_PERMS, names, setup_membership, sign_in, watch_whoami, whoami

P = NOTES_PERMS
LIFETIME = 3  # seconds: short, so that the tests wait little for expiry


def authenticated(response):
    return response.status_code == 200 and response.json()["is_authenticated"]


def shows(perms, is_staff):
    def check(response):
        if not authenticated(response):
            return True  # stop watching: the assertions below report it
        me = response.json()
        return me["permissions"] == names(perms) and me["is_staff"] is is_staff

    return check


def describe(responses):
    return [(r.status_code, r.headers.get("Location"), r.text[:200]) for r in responses]


@pytest.mark.access_token_lifetime(LIFETIME)
def test_after_expiry_the_client_refreshes_and_picks_up_changed_permissions_and_flags(
    provider, client_app
):
    setup_membership(provider, client_app, ALICE, is_staff=False, perms=[P["add"]])
    browser = ALICE.browser()
    assert sign_in(browser, client_app).response.json()["permissions"] == names([P["add"]])

    # Two rounds: the second refresh uses the refresh token that the first one rotated.
    for perms, is_staff in [([P["change"], P["publish"]], True), ([P["delete"]], False)]:
        provider.update_membership(CLIENT_ID, "alice", is_staff=is_staff, perms=perms)

        seen = watch_whoami(browser, client_app, until=shows(perms, is_staff))

        # Never logged out on the way: every answer was 200 and authenticated.
        assert all(authenticated(r) for r in seen), describe(seen)
        assert shows(perms, is_staff)(seen[-1])


@pytest.mark.access_token_lifetime(LIFETIME)
@pytest.mark.parametrize("withdraw", ["deactivate", "delete"])
def test_after_expiry_the_client_logs_out_a_user_whose_membership_was_withdrawn(
    provider, client_app, withdraw
):
    setup_membership(provider, client_app, ALICE, is_staff=True, perms=[P["add"]])
    browser = ALICE.browser()
    sign_in(browser, client_app)

    if withdraw == "deactivate":
        # The client's /user/ call gets is_active: false and logs out.
        provider.set_membership_active(CLIENT_ID, "alice", False)
    else:
        # The client's /user/ call gets a 403 and logs out.
        provider.delete_membership(CLIENT_ID, "alice")
    seen = watch_whoami(browser, client_app, until=lambda r: not authenticated(r))

    assert all(authenticated(r) for r in seen[:-1]), describe(seen)
    logout = seen[-1]
    assert (logout.status_code, logout.headers.get("Location")) == (302, "/centralauth/login/?next=/whoami/")
    # The session is gone for good.
    assert whoami(browser, client_app).json()["is_authenticated"] is False


@pytest.mark.access_token_lifetime(LIFETIME)
def test_after_expiry_a_user_deactivated_at_the_provider(provider, client_app):
    setup_membership(provider, client_app, ALICE, is_staff=True, perms=[P["add"]])
    browser = ALICE.browser()
    sign_in(browser, client_app)

    provider.set_user_active("alice", False)
    # A change the client can only see through a successful refresh and /user/ call.
    provider.update_membership(CLIENT_ID, "alice", perms=[P["view"]])
    seen = watch_whoami(browser, client_app, until=shows([P["view"]], True))

    if provider.kind == "django":
        # The original keeps serving a user deactivated at the provider: DOT 1.5.0 checks
        # `is_active` neither at the refresh grant nor for bearer tokens, and /user/ reports the
        # membership's `is_active`. The user stays signed in at the client.
        assert all(authenticated(r) for r in seen), describe(seen)
    else:
        # Ours (DESIGN §2: a user's `is_active` is central): the refresh or /user/ is refused and
        # the client logs out.
        assert all(authenticated(r) for r in seen[:-1]), describe(seen)
        logout = seen[-1]
        assert (logout.status_code, logout.headers.get("Location")) == (302, "/centralauth/login/?next=/whoami/")
