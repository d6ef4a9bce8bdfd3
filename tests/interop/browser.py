"""A minimal browser: one cookie jar, redirects followed by hand, login forms filled in.

It knows no provider: any HTML page with a <form> that has a password field is taken for a login
form, and submitted with all its hidden inputs (CSRF token, `next`, ...) plus username and password,
to its action (or the current URL). So the same code logs in at Django's /admin/login/ and at our
/account/login/.
"""
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

MAX_HOPS = 20


@dataclass
class Form:
    action: str
    method: str
    inputs: list = field(default_factory=list)  # dicts of the <input> attributes

    @property
    def has_password(self):
        return any((i.get("type") or "").lower() == "password" for i in self.inputs)

    def hidden_fields(self):
        return {
            i["name"]: i.get("value") or ""
            for i in self.inputs
            if (i.get("type") or "").lower() == "hidden" and i.get("name")
        }


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = Form(action=attrs.get("action") or "", method=(attrs.get("method") or "get").lower())
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None:
            self._current.inputs.append(attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def forms_of(html):
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def login_form(response):
    """The login form of an HTML response, or None."""
    if "html" not in response.headers.get("Content-Type", ""):
        return None
    return next((f for f in forms_of(response.text) if f.has_password), None)


@dataclass
class Visit:
    """Where a navigation ended, and each (method, url, status) on the way."""

    response: requests.Response
    url: str
    hops: list
    stopped_at: str = None  # the redirect target that matched `stop_at`, not requested

    def visited(self, predicate):
        return [url for _, url, _ in self.hops if predicate(url)]


class Browser:
    def __init__(self, username=None, password=None):
        self.username, self.password = username, password
        self.session = requests.Session()

    def get(self, url, **kwargs):
        """One request, redirects not followed."""
        return self.session.get(url, allow_redirects=False, timeout=30, **kwargs)

    def visit(self, url, stop_at=None):
        """Navigate to `url` like a browser: follow redirects and log in where asked.

        `stop_at(url)` may name a redirect target not to request (e.g. a client's callback, to pick
        up the authorization code); the navigation then ends with `stopped_at` set.
        """
        hops, method, data, logged_in = [], "GET", None, False
        for _ in range(MAX_HOPS):
            response = self.session.request(method, url, data=data, allow_redirects=False, timeout=30)
            hops.append((method, url, response.status_code))
            if response.is_redirect:
                target = urljoin(url, response.headers["Location"])
                if stop_at is not None and stop_at(target):
                    return Visit(response, url, hops, stopped_at=target)
                # 301-303 turn a POST into a GET, as browsers do.
                url, method, data = target, "GET", None
                continue
            form = login_form(response)
            if form is None or logged_in or self.username is None:
                return Visit(response, url, hops)
            logged_in = True
            data = dict(form.hidden_fields(), username=self.username, password=self.password)
            url, method = urljoin(url, form.action or url), form.method.upper()
        raise AssertionError("more than {} hops: {}".format(MAX_HOPS, hops))
