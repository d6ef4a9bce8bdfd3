"""Migrating from the real django-centralauth 2.0.0 provider to ours with `centralauth import-django`.

The provider database is made and seeded by the real package (`manage.py seed`: Django's own
password hashes, two applications, permissions registered by the client's `sync_perms`, groups,
memberships), and users sign in at it through the unchanged Django client. It is then imported
into our SQLite or PostgreSQL database; the same client project, with its old client_id and
secret and only CENTRALAUTH_PROVIDER_URL changed, keeps a signed-in user signed in (the refresh
token came along) and signs users in at ours with their old passwords, with the same flags and
permissions as before. The stored hashes are argon2id afterwards, and a second import changes
nothing.
"""
import json
import os
import shutil
import socket
import sqlite3
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from client import CLIENT_ID, CLIENT_PROJECT, CLIENT_SECRET, DjangoClient
from conftest import ours_binary, print_log_if_failed
from flows import ALICE, BOB, NOTES_PERMS, names, sign_in, watch_whoami
from providers import DjangoProvider, OursProvider
from servers import django_env, run, start_gunicorn

P = NOTES_PERMS
LIFETIME = 3  # seconds: the Django tokens of the signed-in user expire soon after the switch
SECOND_ID = "second-client"
SECOND_SECRET = "second-client-secret-0123456789"
POSTGRES_URL = os.environ.get("CENTRALAUTH_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def unavailable(reason):
    """Skip, or fail in CI, where a PostgreSQL run must not silently vanish."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true)")
    pytest.skip(reason)


def psql(url, sql):
    return run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]).stdout


@pytest.fixture(params=["sqlite", "postgres"])
def our_database(request, tmp_path):
    """Our database URL: a fresh SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield "sqlite://{}".format(tmp_path / "centralauth.db")
        return
    parts = urlsplit(POSTGRES_URL)
    try:
        socket.create_connection((parts.hostname, parts.port or 5432), timeout=2).close()
    except OSError:
        unavailable("PostgreSQL is not reachable at {}".format(parts.netloc))
    if shutil.which("psql") is None:
        unavailable("psql is not installed")
    name = "centralauth_interop_" + uuid.uuid4().hex[:12]
    psql(POSTGRES_URL, 'CREATE DATABASE "{}"'.format(name))
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        psql(POSTGRES_URL, 'DROP DATABASE IF EXISTS "{}" WITH (FORCE)'.format(name))


def query(database_url, sql):
    """Rows of one text column of our database."""
    if database_url.startswith("sqlite://"):
        with sqlite3.connect(database_url[len("sqlite://"):]) as conn:
            return [str(row[0]) for row in conn.execute(sql)]
    return psql(database_url, sql).splitlines()


def start_client(workdir, db, provider_url):
    """The Django client project on an existing database `db`, pointed at `provider_url`.
    Two of them share one database, so a browser's client session outlives the switch."""
    os.makedirs(workdir)
    env = django_env(
        CLIENT_DATABASE_PATH=db,
        CENTRALAUTH_PROVIDER_URL=provider_url,
        CENTRALAUTH_CLIENT_ID=CLIENT_ID,
        CENTRALAUTH_CLIENT_SECRET=CLIENT_SECRET,
    )
    server, base_url = start_gunicorn(
        "django client ({})".format(provider_url), CLIENT_PROJECT, "client_site.wsgi:application", env,
        os.path.join(workdir, "client.log"),
    )
    return DjangoClient(server, base_url, env)


def import_django(binary, database_url, source_db, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALAUTH_")}
    env["CENTRALAUTH_DATABASE_URL"] = database_url
    done = run([binary, "import-django", "--from", "sqlite://" + source_db, *args], env=env)
    return done.stdout


def counts(output, kind):
    """The summary row of `kind`: [created, updated, unchanged, conflict, skipped]."""
    for line in output.splitlines():
        if line.startswith(kind + " "):
            return [int(n) for n in line[len(kind):].split()]
    raise AssertionError("no row {!r} in:\n{}".format(kind, output))


@pytest.fixture
def servers(request):
    """Servers the test starts; stopped afterwards, their logs in a failed test's report."""
    started = []
    yield started
    for server in reversed(started):
        print_log_if_failed(request, server)
        server.stop()


def authenticated(response):
    return response.status_code == 200 and response.json()["is_authenticated"]


def test_a_migrated_installation_keeps_its_clients_users_passwords_and_permissions(tmp_path, templates, our_database, servers):
    binary = ours_binary()
    if not os.access(binary, os.X_OK):
        pytest.fail("centralauth binary not built: {} (set CENTRALAUTH_BIN)".format(binary))
    os.makedirs(tmp_path / "django")
    django = DjangoProvider.start(str(tmp_path / "django"), templates.provider_db, LIFETIME)
    servers.append(django.server)
    # Ours is up before the import only so that its address is known when the client's
    # redirect URIs are registered at Django; it keeps no state outside the database.
    os.makedirs(tmp_path / "ours")
    ours = OursProvider.start(binary, str(tmp_path / "ours"), LIFETIME, database_url=our_database)
    servers.append(ours.server)
    client_db = str(tmp_path / "client.sqlite3")
    shutil.copyfile(templates.client_db, client_db)
    to_django = start_client(str(tmp_path / "client-django"), client_db, django.provider_url)
    servers.append(to_django.server)
    to_ours = start_client(str(tmp_path / "client-ours"), client_db, ours.provider_url)
    servers.append(to_ours.server)

    # -- a running django-centralauth installation ---------------------------------------
    django.create_application("Interop client", [to_django.callback_url, to_ours.callback_url], CLIENT_ID, CLIENT_SECRET)
    django.create_application("Second client", "http://127.0.0.1:9/centralauth/login/callback/", SECOND_ID, SECOND_SECRET)
    to_django.sync_perms()
    to_django.sync_perms(CENTRALAUTH_CLIENT_ID=SECOND_ID, CENTRALAUTH_CLIENT_SECRET=SECOND_SECRET)
    with django.batch():
        ALICE.register(django, admin=True)
        BOB.register(django)
        django.create_group(CLIENT_ID, "editors", perms=[P["change"], P["publish"]])
        django.add_membership(CLIENT_ID, "alice", is_staff=True, groups=["editors"], perms=[P["add"], P["change"]])
        django.add_membership(CLIENT_ID, "bob", perms=[P["view"]])
        django.create_group(SECOND_ID, "readers", perms=[P["view"]])
        django.add_membership(SECOND_ID, "bob", is_superuser=True, groups=["readers"])
    alice_browser = ALICE.browser()
    before_alice = sign_in(alice_browser, to_django).response.json()
    before_bob = sign_in(BOB.browser(), to_django).response.json()
    assert before_alice["permissions"] == names([P["add"], P["change"], P["publish"]]) and before_alice["is_staff"]
    assert before_bob["permissions"] == names([P["view"]]) and not before_bob["is_staff"]
    assert query_django(django, "SELECT password FROM auth_user WHERE username = 'alice'")[0].startswith("pbkdf2_sha256$")
    to_django.stop()

    # -- the import ------------------------------------------------------------------------
    source = django.env["PROVIDER_DATABASE_PATH"]
    dry = import_django(binary, our_database, source, "--with-tokens", "--dry-run")
    assert dry.startswith("dry run: nothing was written") and counts(dry, "users") == [2, 0, 0, 0, 0], dry
    assert query(our_database, "SELECT COUNT(*) FROM import_records") == ["0"]
    out = import_django(binary, our_database, source, "--with-tokens", "--access-token-lifetime", str(LIFETIME))
    assert counts(out, "users") == [2, 0, 0, 0, 0], out
    assert counts(out, "applications") == [2, 0, 0, 0, 0], out
    permissions = int(query_django(django, "SELECT COUNT(*) FROM provider_applicationpermission")[0])
    assert counts(out, "permissions") == [permissions, 0, 0, 0, 0], out
    assert counts(out, "groups") == [2, 0, 0, 0, 0], out
    assert counts(out, "memberships") == [3, 0, 0, 0, 0], out
    assert counts(out, "refresh tokens") == [2, 0, 0, 0, 0], out

    # -- alice, signed in at the client before the switch, stays signed in -----------------
    rotated = "SELECT COUNT(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL"
    seen = watch_whoami(
        alice_browser, to_ours, until=lambda r: not authenticated(r) or query(our_database, rotated) != ["0"]
    )
    assert all(authenticated(r) for r in seen), [(r.status_code, r.text[:200]) for r in seen]
    assert seen[-1].json() == before_alice

    # -- new sign-ins at ours with the old passwords, the same permissions ------------------
    for person, before in ((ALICE, before_alice), (BOB, before_bob)):
        visit = sign_in(person.browser(), to_ours)
        assert visit.visited(lambda url: url.startswith(ours.base_url + ours.login_page_path)), visit.hops
        assert visit.response.json() == before
    for username, hash_ in zip(("alice", "bob"), query(our_database, "SELECT password_hash FROM users WHERE username IN ('alice', 'bob') ORDER BY username")):
        assert hash_.startswith("$argon2id$"), (username, hash_)
    second = json.loads(ours.cli("member", "show", SECOND_ID, "bob"))
    assert (second["is_superuser"], second["permissions"]) == (True, [["notes", "view_note"]])
    assert "administrator" in [l for l in ours.cli("user", "list").splitlines() if l.startswith("alice\t")][0]

    # -- a second import finds nothing to do ------------------------------------------------
    again = import_django(binary, our_database, source, "--with-tokens")
    assert "nothing to create or update" in again, again
    assert counts(again, "users") == [0, 0, 2, 0, 0], again
    assert counts(again, "refresh tokens") == [0, 0, 2, 0, 0], again


def query_django(django, sql):
    with sqlite3.connect(django.env["PROVIDER_DATABASE_PATH"]) as conn:
        return [row[0] for row in conn.execute(sql)]
