"""Steps the tests share: people, sign-in through the client, and watching /whoami/ over time."""
from dataclasses import dataclass

from browser import Browser
from client import CLIENT_ID
from servers import poll

NOTES_PERMS = {
    "add": ("notes", "add_note"),
    "change": ("notes", "change_note"),
    "delete": ("notes", "delete_note"),
    "view": ("notes", "view_note"),
    "publish": ("notes", "publish_note"),
}


@dataclass
class Person:
    username: str
    password: str
    email: str
    first_name: str
    last_name: str

    def register(self, provider, admin=False):
        provider.create_user(
            self.username, self.password, self.email, self.first_name, self.last_name, admin=admin
        )
        return self

    def browser(self):
        return Browser(self.username, self.password)


ALICE = Person("alice", "alice-Password-1", "alice@example.com", "Alice", "Anchor")
BOB = Person("bob", "bob-Password-2", "bob@example.com", "Bob", "Buoy")


def names(perms):
    """[('notes', 'add_note'), ...] -> sorted ['notes.add_note', ...], as /whoami/ lists them."""
    return sorted("{}.{}".format(*perm) for perm in perms)


def sign_in(browser, client, next_path="/whoami/"):
    """Start at the client's login view and go through the provider until back at `next_path`."""
    visit = browser.visit(client.login_url(next_path))
    assert (visit.url, visit.response.status_code) == (client.url(next_path), 200), visit.hops
    return visit


def whoami(browser, client):
    """GET /whoami/ without following redirects (the sync middleware may answer 302)."""
    return browser.get(client.url("/whoami/"))


def watch_whoami(browser, client, until, timeout=20):
    """Request /whoami/ every 0.2 s until `until(response)`; return every response seen.

    Waiting for a token to expire is waiting for time to pass: the loop polls for the effect
    (a refresh or a logout) with a deadline instead of sleeping for a guessed duration.
    """
    seen = []

    def reached():
        seen.append(whoami(browser, client))
        return until(seen[-1])

    poll(reached, timeout, "the client's /whoami/ to change", interval=0.2)
    return seen


def setup_membership(provider, client, person=ALICE, **membership):
    """Register the client's permissions, the person, and their membership of the client."""
    client.sync_perms()
    with provider.batch():
        person.register(provider)
        provider.add_membership(CLIENT_ID, person.username, **membership)
    return person
