"""The real django-centralauth 2.0.0 client: a Django project (client_project/) served by gunicorn."""
import os
import re
import shutil
import sys

import requests

from servers import django_env, run, start_gunicorn

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_PROJECT = os.path.join(HERE, "client_project")

# The credentials the client fixture registers at the provider.
CLIENT_ID = "interop-client"
CLIENT_SECRET = "interop-client-secret-0123456789"

# What centralauth/client/management/commands/sync_perms.py prints on success.
SYNC_PERMS_OUTPUT = re.compile(
    r"Operation successful\. (?P<synced>\d+) permissions synced, (?P<created>\d+) permissions "
    r"created, (?P<deleted>\d+) permissions deleted\. Permissions count: (?P<count>\d+)\."
)


class DjangoClient:
    LOGIN_PATH = "/centralauth/login/"
    CALLBACK_PATH = "/centralauth/login/callback/"

    def __init__(self, server, base_url, env):
        self.server, self.base_url, self.env = server, base_url, env

    @classmethod
    def start(cls, workdir, template_db, provider_url, client_id, client_secret):
        db = os.path.join(workdir, "client.sqlite3")
        shutil.copyfile(template_db, db)
        env = django_env(
            CLIENT_DATABASE_PATH=db,
            CENTRALAUTH_PROVIDER_URL=provider_url,
            CENTRALAUTH_CLIENT_ID=client_id,
            CENTRALAUTH_CLIENT_SECRET=client_secret,
        )
        server, base_url = start_gunicorn(
            "django client", CLIENT_PROJECT, "client_site.wsgi:application", env,
            os.path.join(workdir, "client.log"),
        )
        return cls(server, base_url, env)

    @staticmethod
    def migrate(db):
        """Create a migrated client database at `db` (its Permission rows included)."""
        run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=CLIENT_PROJECT,
            env=django_env(CLIENT_DATABASE_PATH=db, CENTRALAUTH_CLIENT_ID="-", CENTRALAUTH_CLIENT_SECRET="-"))

    def stop(self):
        self.server.stop()

    def url(self, path):
        return self.base_url + path

    @property
    def callback_url(self):
        """The redirect URI to register at the provider."""
        return self.url(self.CALLBACK_PATH)

    def login_url(self, next_path):
        return self.url("{}?next={}".format(self.LOGIN_PATH, next_path))

    def manage(self, *args, check=True, **env_overrides):
        """Run a management command of the client project (e.g. with another client secret)."""
        env = dict(self.env, **env_overrides)
        return run([sys.executable, "manage.py", *args], cwd=CLIENT_PROJECT, env=env, check=check)

    def sync_perms(self, **env_overrides):
        """Run `manage.py sync_perms`; return its counters {synced, created, deleted, count}."""
        out = self.manage("sync_perms", **env_overrides).stdout
        match = SYNC_PERMS_OUTPUT.search(out)
        assert match, "unexpected sync_perms output: {!r}".format(out)
        return {key: int(value) for key, value in match.groupdict().items()}

    def local_perms(self):
        """Every permission of the client project as 'app_label.codename'."""
        response = requests.get(self.url("/local-perms/"), timeout=10)
        response.raise_for_status()
        return response.json()["permissions"]
