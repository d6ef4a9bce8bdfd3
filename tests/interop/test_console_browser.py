"""The console in a real browser (Debian's Chromium, headless, driven by Playwright), end to end
with the real django-centralauth client: an administrator provisions an application, a user, a
group and a membership by clicking through the console; the Django client then gets exactly
those permissions, and logs the user out at its next refresh once the membership is deactivated
in the console. A delegated administrator sees and reaches only their application. Every main
page is saved as a screenshot under test-artifacts/screenshots/ (ignored by git).
"""
import os
import re

import pytest
import requests

from client import DjangoClient
from conftest import ours_binary, print_log_if_failed
from flows import ALICE, NOTES_PERMS as P, names, sign_in, watch_whoami
from providers import OursProvider

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("CENTRALAUTH_CHROMIUM", "/usr/bin/chromium")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = os.path.join(REPO, "test-artifacts", "screenshots")
ROOT, ROOT_PASSWORD = "root", "root-Password-1"
DORA, DORA_PASSWORD = "dora", "dora-Password-1"
# Without the background services Chromium calls home, and this network refuses it.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture
def ours(request, tmp_path):
    binary = ours_binary()
    if not os.access(binary, os.X_OK):
        pytest.fail("centralauth binary not built: {}".format(binary))
    workdir = tmp_path / "provider"
    workdir.mkdir()
    # Two-second access tokens: the Django client refreshes (and re-checks access) quickly.
    provider = OursProvider.start(binary, str(workdir), access_token_lifetime=2)
    provider.create_user(ROOT, ROOT_PASSWORD, "root@example.org", "Root", "Admin", admin=True)
    yield provider
    print_log_if_failed(request, provider.server)
    provider.stop()


@pytest.fixture
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("Chromium not found at {} (Debian package chromium; .ci/run installs it)".format(CHROMIUM))
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, name + ".png"), full_page=True)


def sign_in_to_console(page, provider, username, password):
    page.goto(provider.base_url + "/console/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def check_choice(page, picker, label, checked=True):
    """Ticks (or unticks) the choice named `label` in a picker (plain or two-pane)."""
    choice = page.locator("#{} label.check".format(picker)).filter(
        has=page.locator(".choice-label", has_text=re.compile("^{}$".format(re.escape(label)))))
    assert choice.count() == 1, "{}: {} choices named {}".format(picker, choice.count(), label)
    choice.locator("input").set_checked(checked)


def create_application(page, provider, name, redirect_uri, access_token_lifetime="2"):
    page.goto(provider.base_url + "/console/applications/new")
    page.fill("#name", name)
    page.fill("#redirect_uris", redirect_uri)
    page.fill("#access_token_lifetime", access_token_lifetime)
    # The application is used by django-centralauth's client, which needs its profile.
    page.select_option("#profile", "django-centralauth")
    page.click("#application-submit")
    page.wait_for_selector("#client-secret")
    app_id = re.search(r"/console/applications/(\d+)/secret", page.url).group(1)
    return app_id, page.inner_text("#client-id").strip(), page.inner_text("#client-secret").strip()


def test_console_provisioning_reaches_the_django_client_and_a_delegated_admin_stays_in_scope(ours, chromium, tmp_path, templates):
    page = chromium.new_page()
    sign_in_to_console(page, ours, ROOT, ROOT_PASSWORD)
    assert page.url.endswith("/console/applications/"), page.url
    shot(page, "01-applications")

    # An application: its secret is shown exactly once.
    app_id, client_id, client_secret = create_application(page, ours, "Interop client", "http://127.0.0.1:1/placeholder/")
    assert len(client_secret) >= 32
    shot(page, "02-application-secret")
    page.reload()
    assert page.locator("#secret-gone").is_visible()
    assert page.locator("#client-secret").count() == 0
    assert client_secret not in page.content()

    workdir = tmp_path / "client"
    workdir.mkdir()
    client = DjangoClient.start(str(workdir), templates.client_db, ours.provider_url, client_id, client_secret)
    try:
        # Now that the client runs, its real callback becomes the redirect URI.
        page.goto(ours.base_url + "/console/applications/{}/".format(app_id))
        page.fill("#redirect_uris", client.callback_url)
        page.click("#application-submit")
        page.wait_for_selector("#notice")
        assert client_secret not in page.content()
        shot(page, "03-application-settings")
        client.sync_perms()
        page.goto(ours.base_url + "/console/applications/{}/permissions/".format(app_id))
        assert page.locator("[data-permission='notes.publish_note']").count() == 1
        shot(page, "04-permissions")

        # A user, a group and a membership, all by clicking.
        page.goto(ours.base_url + "/console/users/new")
        for field, value in [("#username", ALICE.username), ("#email", ALICE.email), ("#first_name", ALICE.first_name),
                             ("#last_name", ALICE.last_name), ("#password", ALICE.password)]:
            page.fill(field, value)
        page.click("#user-submit")
        page.wait_for_selector("#notice")
        page.goto(ours.base_url + "/console/users/?search=ali")
        assert page.locator("#user-list [data-username='alice']").count() == 1
        shot(page, "05-users")

        page.goto(ours.base_url + "/console/applications/{}/groups/new".format(app_id))
        page.fill("#group-name", "editors")
        check_choice(page, "group-permissions", "notes.change_note")
        check_choice(page, "group-permissions", "notes.publish_note")
        shot(page, "06-group-picker")
        page.click("#group-submit")
        page.wait_for_selector("#notice")

        page.goto(ours.base_url + "/console/applications/{}/members/".format(app_id))
        page.fill("#member-username", "alice")
        page.click("#member-add-submit")
        page.wait_for_selector("#membership-form")
        membership_url = page.url
        page.check("#is_staff")
        check_choice(page, "membership-groups", "editors")
        check_choice(page, "membership-permissions", "notes.add_note")
        page.click("#membership-submit")
        page.wait_for_selector("#notice")
        effective = page.inner_text("#effective-permissions")
        for perm in ("notes.add_note", "notes.change_note", "notes.publish_note"):
            assert perm in effective
        assert "notes.delete_note" not in effective
        shot(page, "07-membership")

        # The real django-centralauth client gets exactly that.
        browser = ALICE.browser()
        me = sign_in(browser, client).response.json()
        assert me["permissions"] == names([P["add"], P["change"], P["publish"]])
        assert (me["is_staff"], me["is_superuser"], me["is_active"]) == (True, False, True)

        # Deactivated in the console: the client logs the user out at its next refresh.
        page.goto(membership_url)
        page.uncheck("#is_active")
        page.click("#membership-submit")
        page.wait_for_selector("#notice")
        seen = watch_whoami(browser, client, until=lambda r: r.status_code == 302)
        assert "login" in seen[-1].headers.get("Location", ""), seen[-1].headers

        # A delegated administrator of this application only.
        other_id, _, _ = create_application(page, ours, "Other application", "https://other.example/cb/")
        page.goto(ours.base_url + "/console/users/new")
        page.fill("#username", DORA)
        page.fill("#password", DORA_PASSWORD)
        page.click("#user-submit")
        page.wait_for_selector("#notice")
        page.goto(ours.base_url + "/console/users/?search=dora")
        page.click("#user-list [data-username='dora'] a")
        page.locator("#delegation-form input[name=application][value='{}']".format(app_id)).check()
        page.click("#delegation-submit")
        page.wait_for_selector("#notice")
        shot(page, "08-user-delegation")

        dora = chromium.new_context().new_page()
        sign_in_to_console(dora, ours, DORA, DORA_PASSWORD)
        listed = dora.locator("#application-list [data-client-id]")
        assert listed.count() == 1 and listed.first.get_attribute("data-client-id") == client_id
        assert dora.locator("#nav-users").count() == 0, "no user administration for a delegated administrator"
        shot(dora, "09-delegated-applications")
        assert dora.goto(ours.base_url + "/console/applications/{}/".format(other_id)).status == 404
        assert dora.goto(ours.base_url + "/console/applications/{}/members/".format(other_id)).status == 404
        assert dora.goto(ours.base_url + "/console/users/").status in (403, 404)
        assert dora.goto(ours.base_url + "/console/applications/{}/members/".format(app_id)).status == 200

        page.goto(ours.base_url + "/console/audit/")
        assert page.locator("#audit-list [data-action]").count() > 0
        shot(page, "10-audit")

        # An API token made in the console works on the admin API, once shown, until revoked.
        page.goto(ours.base_url + "/console/account/tokens/")
        page.fill("#token-name", "provisioning script")
        page.click("#token-submit")
        page.wait_for_selector("#api-token")
        token = page.inner_text("#api-token").strip()
        shot(page, "12-api-token")
        api = lambda: requests.get(ours.base_url + "/api/v1/users?search=alice", headers={"Authorization": "Bearer " + token}, timeout=10)
        assert [u["username"] for u in api().json()["items"]] == ["alice"]
        page.reload()
        assert page.locator("#api-token").count() == 0 and token not in page.content()
        page.click("#token-list button.danger")
        page.wait_for_selector("#notice")
        assert api().status_code == 401

        # Readable on a phone: no sideways scrolling at a phone's width.
        phone = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True).new_page()
        sign_in_to_console(phone, ours, ROOT, ROOT_PASSWORD)
        phone.goto(membership_url)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        shot(phone, "11-membership-on-a-phone")
    finally:
        client.stop()
