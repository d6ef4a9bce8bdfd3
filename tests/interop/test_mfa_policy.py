"""An application that requires a second factor (`app create|update --require-mfa`): the real
django-centralauth client gets its user only after the second step; an application without a
policy signs in with a password alone, as before. TOTP codes are computed by pyotp, not by the
provider's code.

The original provider has no second factor: the policy tests run against ours only.
"""
import re
import time
from urllib.parse import parse_qs, urljoin, urlsplit

import pyotp
import pytest

from browser import Browser, forms_of
from client import CLIENT_ID
from flows import ALICE, NOTES_PERMS, names, setup_membership, sign_in, whoami

SECOND_STEP = "/account/login/verify/"


def ours_only(provider):
    if provider.kind != "ours":
        pytest.skip("django-centralauth's provider has no second factor")


def form_with(response, field):
    """The form of an HTML page that has an input named `field`."""
    for form in forms_of(response.text):
        if any(i.get("name") == field for i in form.inputs):
            return form
    raise AssertionError("no form with {} on {}: {}".format(field, response.url, response.text[:2000]))


def post_form(browser, page, form, **fields):
    """Submits `form` of `page` as a browser would: its hidden inputs and `fields`."""
    action = urljoin(page.url, form.action or page.url)
    return browser.session.post(action, data=dict(form.hidden_fields(), **fields), allow_redirects=False, timeout=30)


def enrol_totp(provider, person):
    """Signs `person` in at the provider in a browser of its own and enrols a TOTP factor there."""
    browser = person.browser()
    browser.visit(provider.base_url + "/account/login/?next=/account/security/")
    page = browser.get(provider.base_url + "/account/security/totp/")
    assert page.status_code == 200, page.text[:2000]
    shown = re.search(r'id="totp-secret"[^>]*>([^<]+)<', page.text)
    assert shown, "the secret is shown as text"
    totp = pyotp.TOTP("".join(shown.group(1).split()))
    enrolled = post_form(browser, page, form_with(page, "code"), name="phone", code=totp.now())
    # The first factor's confirmation shows the recovery codes, once.
    assert enrolled.status_code == 200, enrolled.text[:2000]
    assert 'class="recovery-code"' in enrolled.text
    return totp


def test_an_application_requiring_mfa_gets_the_user_only_after_the_second_factor(provider, client_app):
    ours_only(provider)
    setup_membership(provider, client_app, ALICE, is_staff=True, perms=[NOTES_PERMS["add"]])
    provider.cli("app", "update", CLIENT_ID, "--require-mfa")
    browser = ALICE.browser()

    # A password alone is not enough, and alice has no factor yet: she is led to enrol one, and
    # the client has not got her.
    visit = browser.visit(client_app.login_url("/whoami/"))
    assert visit.visited(lambda url: url.startswith(provider.base_url + SECOND_STEP))
    assert visit.url.startswith(provider.base_url + "/account/security/"), visit.hops
    assert not visit.visited(lambda url: url.startswith(client_app.callback_url))
    assert whoami(browser, client_app).json()["is_authenticated"] is False

    # She enrols (elsewhere); her password-only session is asked for the code at the next try.
    totp = enrol_totp(provider, ALICE)
    visit = browser.visit(client_app.login_url("/whoami/"))
    assert visit.url.startswith(provider.base_url + SECOND_STEP) and visit.response.status_code == 200, visit.hops
    step_up = parse_qs(urlsplit(visit.url).query)
    assert step_up["require"] == ["mfa"]
    assert step_up["next"][0].startswith("/provider/o/authorize/?")
    assert whoami(browser, client_app).json()["is_authenticated"] is False

    # The enrolment used this time step's code; a code is never accepted twice, so the next
    # step's (inside the ±1 window) is the one to type now.
    done = post_form(browser, visit.response, form_with(visit.response, "code"), code=totp.at(time.time() + 30))
    assert done.status_code == 303, done.text[:2000]
    visit = browser.visit(urljoin(visit.url, done.headers["Location"]))

    assert (visit.url, visit.response.status_code) == (client_app.url("/whoami/"), 200), visit.hops
    me = visit.response.json()
    assert (me["is_authenticated"], me["username"], me["is_staff"]) == (True, "alice", True)
    assert me["permissions"] == names([NOTES_PERMS["add"]])


def test_an_application_without_a_policy_signs_in_with_a_password_alone(provider, client_app):
    setup_membership(provider, client_app, ALICE, is_staff=True, perms=[NOTES_PERMS["add"]])
    if provider.kind == "ours":
        # A policy switched on and off again leaves the application as it was.
        provider.cli("app", "update", CLIENT_ID, "--require-mfa")
        provider.cli("app", "update", CLIENT_ID, "--no-require-mfa")
    browser = ALICE.browser()

    visit = sign_in(browser, client_app)

    assert not visit.visited(lambda url: SECOND_STEP in url)
    me = visit.response.json()
    assert (me["is_authenticated"], me["username"], me["is_staff"]) == (True, "alice", True)
    assert me["permissions"] == names([NOTES_PERMS["add"]])
