"""The harness of the authlib suite: a provider of our own on a fresh SQLite database, seeded with
the CLI, and a minimal browser (one cookie jar, redirects followed by hand, the login form filled
in). Nothing here knows OpenID Connect: the tests do that with authlib only.
"""
import base64
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
BINARY = os.environ.get("CENTRALAUTH_BIN") or os.path.join(REPO, "target", "debug", "centralauth")

PREFIX = "/provider"
CLIENT_ID = "oidc-rp-python"
# A second application whose id_tokens are signed with EdDSA (Ed25519) instead of RS256.
EDDSA_CLIENT_ID = "oidc-rp-python-eddsa"
CLIENT_SECRET = "rp-secret-" + secrets.token_hex(16)
# Never served: the browser stops at the redirect to it and hands the URL to authlib.
REDIRECT_URI = "http://127.0.0.1:9/cb"
POST_LOGOUT_REDIRECT_URI = "http://127.0.0.1:9/signed-out"
SCOPE = "openid profile email offline_access"
USERNAME = "alice"
PASSWORD = "correct horse battery staple"
EMAIL = "alice@example.com"
FIRST_NAME = "Alice"
LAST_NAME = "Liddell"
# Registered by the application over /perms/, then given to the membership.
PERMS = [("notes", "add_note", "Can add note"), ("notes", "view_note", "Can view note")]

START_TIMEOUT = 60.0


class Provider:
    """`centralauth serve` in a temporary working directory, with its own database and master key."""

    def __init__(self, refresh_grace_seconds=0):
        self.workdir = tempfile.mkdtemp(prefix="centralauth-oidc-python-")
        # Only the settings given here: none of the caller's CENTRALAUTH_* variables.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALAUTH_")}
        self.env["CENTRALAUTH_MASTER_KEY"] = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        self.env["CENTRALAUTH_DATABASE_URL"] = "sqlite://{}?mode=rwc".format(os.path.join(self.workdir, "c.db"))
        self.log_path = os.path.join(self.workdir, "serve.log")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [BINARY, "serve", "--listen", "127.0.0.1:0", "--prefix", PREFIX,
             "--refresh-grace-seconds", str(refresh_grace_seconds)],
            cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            self.base_url = self._wait_for_address()
            self.seed()
        except BaseException:
            self.stop()
            raise

    @property
    def issuer(self):
        return self.base_url + PREFIX + "/o"

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def _wait_for_address(self):
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.log())
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                raise RuntimeError("centralauth serve exited with {}:\n{}".format(self.process.returncode, self.log()))
            if time.monotonic() > deadline:
                raise TimeoutError("centralauth serve did not start:\n" + self.log())
            time.sleep(0.05)

    def cli(self, *args, stdin=""):
        done = subprocess.run([BINARY, *args], cwd=self.workdir, env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError("centralauth {} failed ({}):\n{}\n{}".format(
                " ".join(args), done.returncode, done.stdout, done.stderr))
        return done.stdout

    def seed(self):
        """Two confidential applications (RS256, EdDSA), one user with a password, the user's memberships."""
        self.cli("app", "create", "OIDC relying party", "--client-id", CLIENT_ID, "--client-secret-stdin",
                 "--redirect-uri", REDIRECT_URI, "--post-logout-redirect-uri", POST_LOGOUT_REDIRECT_URI,
                 stdin=CLIENT_SECRET + "\n")
        self.cli("app", "create", "OIDC relying party (EdDSA)", "--client-id", EDDSA_CLIENT_ID, "--client-secret-stdin",
                 "--redirect-uri", REDIRECT_URI, "--id-token-signing-alg", "EdDSA", stdin=CLIENT_SECRET + "\n")
        self.cli("user", "create", USERNAME, "--password-stdin", "--email", EMAIL,
                 "--first-name", FIRST_NAME, "--last-name", LAST_NAME, stdin=PASSWORD + "\n")
        response = requests.post(self.base_url + PREFIX + "/perms/", timeout=30, json={
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "perms": [{"app_label": a, "codename": c, "repr": r} for a, c, r in PERMS],
        })
        assert response.status_code == 200, "POST /perms/ answered {}: {}".format(response.status_code, response.text)
        args = ["member", "add", CLIENT_ID, USERNAME, "--staff"]
        for app_label, codename, _ in PERMS:
            args += ["--perm", "{}.{}".format(app_label, codename)]
        self.cli(*args)
        self.cli("member", "add", EDDSA_CLIENT_ID, USERNAME)

    def stop(self):
        if self.process.poll() is None:
            # The group is ours: it was created for this child (start_new_session).
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []  # (attrs of <form>, [attrs of each <input>])
        self._inputs = None

    def handle_starttag(self, tag, attrs):
        if tag == "form":
            self._inputs = []
            self.forms.append((dict(attrs), self._inputs))
        elif tag == "input" and self._inputs is not None:
            self._inputs.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag == "form":
            self._inputs = None


def forms(html):
    """(action, method, hidden fields, has a password field) of each form."""
    parser = _Forms()
    parser.feed(html)
    result = []
    for attrs, inputs in parser.forms:
        hidden = {i["name"]: i.get("value") or "" for i in inputs
                  if (i.get("type") or "").lower() == "hidden" and i.get("name")}
        has_password = any((i.get("type") or "").lower() == "password" for i in inputs)
        result.append((attrs.get("action") or "", (attrs.get("method") or "get").upper(), hidden, has_password))
    return result


def login_form(html):
    """(action, method, hidden fields) of the first form with a password field, or None."""
    for action, method, hidden, has_password in forms(html):
        if has_password:
            return action, method, hidden
    return None


class Browser:
    """A cookie jar and redirects followed by hand: what a person's browser does, no more."""

    def __init__(self):
        self.session = requests.Session()
        self.hops = []  # (method, url, status)

    def sign_in(self, url, stop_at, username=USERNAME, password=PASSWORD, confirm=False):
        """Navigate to `url`, following redirects and signing in at a login form, until a redirect
        to `stop_at` (a prefix): return that redirect's target without requesting it.
        `confirm`: also submit a form without a password field once (e.g. "Do you want to sign out?")."""
        method, data, signed_in = "GET", None, False
        for _ in range(20):
            response = self.session.request(method, url, data=data, allow_redirects=False, timeout=30)
            self.hops.append((method, url, response.status_code))
            if response.is_redirect:
                target = urljoin(url, response.headers["Location"])
                if target.startswith(stop_at):
                    return target
                url, method, data = target, "GET", None
                continue
            html = response.text if "html" in response.headers.get("Content-Type", "") else ""
            first = (forms(html) or [None])[0]
            if confirm and response.status_code == 200 and first and not first[3]:
                confirm = False
                action, method, data, _ = first
                url = urljoin(url, action or url)
                continue
            form = login_form(html)
            if form is None or signed_in:
                raise AssertionError("no redirect to {}: {} {} answered {}:\n{}\nhops: {}".format(
                    stop_at, method, url, response.status_code, response.text[:2000], self.hops))
            signed_in = True
            action, method, hidden = form
            data = dict(hidden, username=username, password=password)
            url = urljoin(url, action or url)
        raise AssertionError("more than 20 hops: {}".format(self.hops))
