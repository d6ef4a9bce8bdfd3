"""Our Rust client library (the demo app of examples/demo-client) against both providers: sign-in
through the provider's login page, the user's permissions, permission registration, and a refresh
after the access token expired. Against the real django-centralauth 2.0.0 provider this proves the
client's half of the compatibility promise."""
import os
import re

import pytest

from conftest import REPO
from flows import ALICE, BOB
from servers import ServerProcess, poll, run

DEMO_ID = "rust-demo"
DEMO_SECRET = "rust-demo-secret-0123456789"
LIFETIME = 3
COUNTERS = re.compile(r"(\d+) permissions synced, (\d+) created, (\d+) deleted; the application now has (\d+)\.")


def demo_binary():
    return os.environ.get("DEMO_CLIENT_BIN") or os.path.join(REPO, "target", "debug", "demo-client")


@pytest.fixture
def demo(provider, tmp_path):
    binary = demo_binary()
    if not os.access(binary, os.X_OK):
        reason = "demo-client not built: {} (cargo build --workspace --bins)".format(binary)
        if os.environ.get("CENTRALAUTH_INTEROP_REQUIRE_OURS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    env = dict(
        os.environ,
        CENTRALAUTH_PROVIDER_URL=provider.provider_url,
        CENTRALAUTH_CLIENT_ID=DEMO_ID,
        CENTRALAUTH_CLIENT_SECRET=DEMO_SECRET,
        DEMO_LISTEN="127.0.0.1:0",
        RUST_LOG="warn",
    )
    server = ServerProcess("demo-client", [binary], cwd=str(tmp_path), env=env, log_path=str(tmp_path / "demo.log"))
    try:
        base = server.wait_for_line(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        provider.create_application("Rust demo", base + "/centralauth/login/callback/", DEMO_ID, DEMO_SECRET)
        yield base, env, binary
    finally:
        server.stop()


def register(env, binary):
    out = run([binary, "register-permissions"], env=env).stdout
    match = COUNTERS.search(out)
    assert match, out
    return tuple(int(n) for n in match.groups())


@pytest.mark.access_token_lifetime(LIFETIME)
def test_the_rust_client_registers_signs_in_and_refreshes(provider, demo):
    base, env, binary = demo
    assert register(env, binary) == (2, 2, 0, 2)
    assert register(env, binary) == (2, 0, 0, 2), "a second registration creates nothing"
    ALICE.register(provider)
    provider.add_membership(DEMO_ID, "alice", is_staff=True, perms=[("notes", "view_note")])

    browser = ALICE.browser()
    visit = browser.visit(base + "/centralauth/login/?next=/api/me")
    assert (visit.url, visit.response.status_code) == (base + "/api/me", 200), visit.hops
    me = visit.response.json()
    assert (me["username"], me["email"], me["is_staff"], me["is_superuser"]) == ("alice", ALICE.email, True, False)
    assert me["permissions"] == ["notes.view_note"]

    provider.update_membership(DEMO_ID, "alice", perms=[("notes", "view_note"), ("notes", "publish_note")])
    seen = []

    def refreshed():
        seen.append(browser.get(base + "/api/me"))
        return seen[-1].status_code != 200 or "notes.publish_note" in seen[-1].json()["permissions"]

    poll(refreshed, 20, "the demo to refresh and see the new permission", interval=0.2)
    assert all(r.status_code == 200 for r in seen), [(r.status_code, r.text[:200]) for r in seen]


@pytest.mark.access_token_lifetime(LIFETIME)
def test_the_rust_client_ends_the_session_when_the_membership_is_withdrawn(provider, demo):
    base, env, binary = demo
    register(env, binary)
    ALICE.register(provider)
    provider.add_membership(DEMO_ID, "alice", perms=[("notes", "view_note")])
    browser = ALICE.browser()
    assert browser.visit(base + "/centralauth/login/?next=/api/me").response.status_code == 200
    provider.delete_membership(DEMO_ID, "alice")
    poll(lambda: browser.get(base + "/api/me").status_code == 401, 20, "the demo to end the session")


def test_the_rust_client_never_lets_a_user_without_membership_in(provider, demo):
    base, env, binary = demo
    register(env, binary)
    BOB.register(provider)
    browser = BOB.browser()
    visit = browser.visit(base + "/centralauth/login/?next=/api/me")
    assert visit.response.status_code in (400, 403), visit.hops
    assert browser.get(base + "/api/me").status_code == 401
