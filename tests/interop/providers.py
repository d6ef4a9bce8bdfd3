"""The two providers under test, behind one interface.

- `DjangoProvider`: the real django-centralauth 2.0.0 provider (provider_project/), seeded with its
  `manage.py seed` command.
- `OursProvider`: our Rust binary `centralauth`, seeded with its CLI.

`manage.py seed` speaks the same verbs as our CLI, so the seeding methods live once, in `Provider`,
and each kind only says how to run a command and how to start its server.
"""
import contextlib
import json
import os
import shutil
import sys

from servers import ServerProcess, django_env, run, start_gunicorn

HERE = os.path.dirname(os.path.abspath(__file__))
PROVIDER_PROJECT = os.path.join(HERE, "provider_project")
DEFAULT_ACCESS_TOKEN_LIFETIME = 300


def perm_name(perm):
    """('notes', 'add_note') -> 'notes.add_note'."""
    app_label, codename = perm
    return "{}.{}".format(app_label, codename)


def as_list(value):
    return [value] if isinstance(value, str) else list(value)


class Provider:
    kind = None
    #: What `app create` needs so that django-centralauth's client works against the provider.
    django_client_options = ()
    prefix = "/provider"
    #: Where the provider sends a browser that has no session (what the login form lives at).
    login_page_path = None
    _batch = None  # the commands of an open batch()

    def __init__(self, server, base_url, access_token_lifetime, env):
        self.server = server
        self.base_url = base_url
        self.access_token_lifetime = access_token_lifetime
        self.env = env  # of the server and the seeding commands

    @property
    def provider_url(self):
        """What a Django client's CENTRALAUTH_PROVIDER_URL is set to."""
        return self.base_url + self.prefix

    def url(self, path):
        """The URL of a contract route, e.g. url('/o/token/')."""
        return self.provider_url + path

    def stop(self):
        self.server.stop()

    def cli(self, *args, stdin=None):
        """Run one seeding command; return its stdout."""
        raise NotImplementedError

    @contextlib.contextmanager
    def batch(self):
        """Seeding calls inside run together at the end of the block (one process, for kinds
        whose commands are slow to start); calls that return output cannot be batched."""
        yield

    # -- users -----------------------------------------------------------------------------------

    def create_user(self, username, password, email="", first_name="", last_name="", admin=False):
        args = ["user", "create", username, "--password-stdin"]
        args += self._options(email=email, first_name=first_name, last_name=last_name)
        if admin:
            args.append("--admin")
        self.cli(*args, stdin=password + "\n")

    def set_user_active(self, username, active):
        self.cli("user", "update", username, "--active", _flag(active))

    # -- applications ----------------------------------------------------------------------------

    def create_application(
        self, name, redirect_uri, client_id, client_secret, access_token_lifetime_seconds=None
    ):
        """Register an application with the credentials the test chose."""
        lifetime = access_token_lifetime_seconds or self.access_token_lifetime
        args = ["app", "create", name, "--client-id", client_id, "--client-secret-stdin"]
        for uri in as_list(redirect_uri):
            args += ["--redirect-uri", uri]
        args += ["--access-token-lifetime", str(lifetime)]
        args += list(self.django_client_options)
        self.cli(*args, stdin=client_secret + "\n")

    def application_perms(self, client_id):
        """{'app_label.codename': name} of the permissions registered for the application."""
        assert self._batch is None, "application_perms() answers at once: not in a batch"
        perms = {}
        for line in self.cli("app", "perms", client_id).splitlines():
            if line.strip():
                name, _, label = line.partition("\t")
                perms[name.strip()] = label.strip()
        return perms

    # -- groups and memberships ------------------------------------------------------------------

    def create_group(self, client_id, name, perms=()):
        args = ["group", "create", client_id, name]
        for perm in perms:
            args += ["--perm", perm_name(perm)]
        self.cli(*args)

    def add_membership(
        self, client_id, username, is_superuser=False, is_staff=False, is_active=True, groups=(), perms=()
    ):
        args = ["member", "add", client_id, username]
        if is_superuser:
            args.append("--superuser")
        if is_staff:
            args.append("--staff")
        if not is_active:
            args.append("--inactive")
        for group in groups:
            args += ["--group", group]
        for perm in perms:
            args += ["--perm", perm_name(perm)]
        self.cli(*args)

    def update_membership(
        self, client_id, username, is_superuser=None, is_staff=None, is_active=None, groups=None, perms=None
    ):
        """Change what is given; `groups` and `perms`, when given, replace the membership's sets
        (they cannot be emptied this way: the CLI has no flag for an empty list)."""
        args = ["member", "update", client_id, username]
        for flag, value in (("--superuser", is_superuser), ("--staff", is_staff), ("--active", is_active)):
            if value is not None:
                args += [flag, _flag(value)]
        for group in groups or ():
            args += ["--group", group]
        for perm in perms or ():
            args += ["--perm", perm_name(perm)]
        self.cli(*args)

    def set_membership_active(self, client_id, username, active):
        self.update_membership(client_id, username, is_active=active)

    def delete_membership(self, client_id, username):
        self.cli("member", "remove", client_id, username)

    @staticmethod
    def _options(**values):
        args = []
        for key, value in values.items():
            if value:
                args += ["--" + key.replace("_", "-"), value]
        return args


def _flag(value):
    return "true" if value else "false"


class DjangoProvider(Provider):
    """django-centralauth 2.0.0 + django-oauth-toolkit 1.5.0, served by gunicorn."""

    kind = "django"
    login_page_path = "/admin/login/"

    @classmethod
    def start(cls, workdir, template_db=None, access_token_lifetime=DEFAULT_ACCESS_TOKEN_LIFETIME, workers=1, threads=4):
        """Serve workdir/provider.sqlite3: a copy of the migrated `template_db`, or without one the
        database already there (migrated first if missing). DOT's access-token lifetime is one
        global setting, so it is fixed here, for the whole server. `workers` and `threads` are
        gunicorn's (bench/run serves it with 2 sync workers)."""
        db = os.path.join(workdir, "provider.sqlite3")
        if template_db:
            shutil.copyfile(template_db, db)
        elif not os.path.exists(db):
            cls.migrate(db)
        env = django_env(
            PROVIDER_DATABASE_PATH=db, PROVIDER_ACCESS_TOKEN_EXPIRE_SECONDS=access_token_lifetime
        )
        server, base_url = start_gunicorn(
            "django provider",
            PROVIDER_PROJECT,
            "provider_site.wsgi:application",
            env,
            os.path.join(workdir, "provider.log"),
            workers=workers,
            threads=threads,
        )
        return cls(server, base_url, access_token_lifetime, env)

    @staticmethod
    def migrate(db):
        """Create a migrated, empty provider database at `db`."""
        run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=PROVIDER_PROJECT,
            env=django_env(PROVIDER_DATABASE_PATH=db))

    def cli(self, *args, stdin=None):
        if self._batch is not None:
            self._batch.append({"args": list(args), "stdin": stdin or ""})
            return ""
        return self._seed(*args, stdin=stdin)

    @contextlib.contextmanager
    def batch(self):
        # Django takes ~0.5 s to start: run the block's commands in one `seed batch`.
        assert self._batch is None, "batches do not nest"
        self._batch = []
        try:
            yield
            commands = self._batch
        finally:
            self._batch = None
        if commands:
            self._seed("batch", stdin=json.dumps(commands))

    def _seed(self, *args, stdin=None):
        return run(
            [sys.executable, "manage.py", "seed", *args], cwd=PROVIDER_PROJECT, env=self.env, stdin=stdin
        ).stdout



class OursProvider(Provider):
    """Our Rust binary `centralauth serve`, on a fresh SQLite database."""

    kind = "ours"
    login_page_path = "/account/login/"
    # New applications default to exact redirect URIs and required PKCE; the Django client
    # adds `?next=` and sends no PKCE, which is what this profile is for.
    django_client_options = ("--profile", "django-centralauth")

    def __init__(self, server, base_url, access_token_lifetime, env, binary):
        super().__init__(server, base_url, access_token_lifetime, env)
        self.binary = binary

    @classmethod
    def start(cls, binary, workdir, access_token_lifetime=DEFAULT_ACCESS_TOKEN_LIFETIME, database_url=None):
        """Serve `database_url`, by default a SQLite file in `workdir`."""
        # Only the settings given here: none of the caller's CENTRALAUTH_* variables.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALAUTH_")}
        env["CENTRALAUTH_DATABASE_URL"] = database_url or "sqlite://{}?mode=rwc".format(
            os.path.join(workdir, "centralauth.db")
        )
        server = ServerProcess(
            "centralauth serve",
            [binary, "serve", "--listen", "127.0.0.1:0", "--prefix", cls.prefix],
            cwd=workdir,
            env=env,
            log_path=os.path.join(workdir, "centralauth.log"),
        )
        try:
            base_url = server.wait_for_line(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
            server.wait_until_answering(base_url + "/")
        except BaseException:
            server.stop()
            raise
        return cls(server, base_url, access_token_lifetime, env, binary)

    def cli(self, *args, stdin=None):
        return run([self.binary, *args], cwd=self.server.cwd, env=self.env, stdin=stdin).stdout


def main(argv=None):
    """Serve the Django provider outside pytest, announcing itself like `centralauth serve`:

        tests/interop/.venv/bin/python tests/interop/providers.py WORKDIR [--access-token-lifetime N]

    migrates WORKDIR/provider.sqlite3 if it is missing, prints `listening on http://127.0.0.1:PORT`,
    and serves until SIGTERM or Ctrl-C. Seed it with
    `cd tests/interop/provider_project && PROVIDER_DATABASE_PATH=WORKDIR/provider.sqlite3 ../.venv/bin/python manage.py seed ...`.
    """
    import argparse
    import signal as signals

    parser = argparse.ArgumentParser(description=main.__doc__.split("\n\n")[0])
    parser.add_argument("workdir")
    parser.add_argument("--access-token-lifetime", type=int, default=DEFAULT_ACCESS_TOKEN_LIFETIME)
    args = parser.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    provider = DjangoProvider.start(args.workdir, access_token_lifetime=args.access_token_lifetime)
    print("database: {}".format(provider.env["PROVIDER_DATABASE_PATH"]), flush=True)
    print("listening on {}".format(provider.base_url), flush=True)
    signals.signal(signals.SIGTERM, lambda *_: sys.exit(0))
    try:
        provider.server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        provider.stop()


if __name__ == "__main__":
    main()
