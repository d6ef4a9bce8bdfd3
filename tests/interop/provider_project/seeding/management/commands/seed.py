"""Seed the reference provider's database with the same verbs as our `centralauth` CLI.

    manage.py seed user create <username> [--email E] [--first-name F] [--last-name L] [--admin] [--password-stdin]
    manage.py seed user update <username> [--email E] [--first-name F] [--last-name L]
                                          [--active true|false] [--admin true|false] [--password-stdin]
    manage.py seed user list
    manage.py seed app create <name> --redirect-uri URI [--redirect-uri URI]... [--client-id ID]
                                     [--client-secret-stdin] [--access-token-lifetime SECS]
    manage.py seed app list
    manage.py seed app perms <client_id>
    manage.py seed group create <client_id> <name> [--perm app_label.codename]...
    manage.py seed member add <client_id> <username> [--superuser] [--staff] [--inactive]
                                                     [--group NAME]... [--perm app_label.codename]...
    manage.py seed member update <client_id> <username> [--superuser true|false] [--staff true|false]
                                 [--active true|false] [--group NAME]... [--perm app_label.codename]...
    manage.py seed member remove <client_id> <username>
    manage.py seed batch        stdin: a JSON list of {"args": [...], "stdin": "..."}, one command
                                each (the words after `seed`), run in one transaction

Differences forced by the original, on purpose:
- Every user is created with the provider-side `is_staff` flag, because the documented login page
  (`LOGIN_URL = /admin/login/`) admits staff accounts only; `--admin` adds `is_superuser`.
  (This also shows that the client's flags come from the membership, not from the provider user.)
- django-oauth-toolkit has one global access-token lifetime (env
  PROVIDER_ACCESS_TOKEN_EXPIRE_SECONDS at server start); `--access-token-lifetime` is only checked
  against it.
- `member update` replaces the permission set when `--perm` is given and the group set when
  `--group` is given.
"""
import io
import json
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from oauth2_provider.settings import oauth2_settings

from centralauth.provider.models import (
    Application,
    ApplicationPermission,
    ApplicationPermissionGroup,
    ApplicationUser,
)

User = get_user_model()


def boolean(value):
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("expected true or false")


class Command(BaseCommand):
    help = "Seed users, applications, groups and memberships (same verbs as `centralauth`)."

    def add_arguments(self, parser):
        nouns = parser.add_subparsers(dest="noun", required=True)
        nouns.add_parser("batch")

        user = nouns.add_parser("user").add_subparsers(dest="verb", required=True)
        for verb in ("create", "update"):
            p = user.add_parser(verb)
            p.add_argument("username")
            p.add_argument("--email")
            p.add_argument("--first-name")
            p.add_argument("--last-name")
            p.add_argument("--password-stdin", action="store_true")
            if verb == "create":
                p.add_argument("--admin", action="store_true")
            else:
                p.add_argument("--admin", type=boolean)
                p.add_argument("--active", type=boolean)
        user.add_parser("list")

        app = nouns.add_parser("app").add_subparsers(dest="verb", required=True)
        p = app.add_parser("create")
        p.add_argument("name")
        p.add_argument("--redirect-uri", action="append", required=True)
        p.add_argument("--client-id")
        p.add_argument("--client-secret-stdin", action="store_true")
        p.add_argument("--access-token-lifetime", type=int)
        app.add_parser("list")
        app.add_parser("perms").add_argument("client_id")

        group = nouns.add_parser("group").add_subparsers(dest="verb", required=True)
        p = group.add_parser("create")
        p.add_argument("client_id")
        p.add_argument("name")
        p.add_argument("--perm", action="append", default=[])

        member = nouns.add_parser("member").add_subparsers(dest="verb", required=True)
        for verb in ("add", "update", "remove"):
            p = member.add_parser(verb)
            p.add_argument("client_id")
            p.add_argument("username")
            if verb == "remove":
                continue
            p.add_argument("--group", action="append")
            p.add_argument("--perm", action="append")
            if verb == "add":
                p.add_argument("--superuser", action="store_true")
                p.add_argument("--staff", action="store_true")
                p.add_argument("--inactive", action="store_true")
            else:
                p.add_argument("--superuser", type=boolean)
                p.add_argument("--staff", type=boolean)
                p.add_argument("--active", type=boolean)

    @transaction.atomic
    def handle(self, *args, noun, verb=None, **options):
        if noun == "batch":
            return self.batch()
        getattr(self, "{}_{}".format(noun, verb))(**options)

    def batch(self):
        """Run many commands in one process: Django's start-up is most of a command's time."""
        parser = self.create_parser("manage.py", "seed")
        for command in json.load(sys.stdin):
            options = vars(parser.parse_args(command["args"]))
            stdin, sys.stdin = sys.stdin, io.StringIO(command.get("stdin", ""))
            try:
                self.handle(**options)
            finally:
                sys.stdin = stdin

    # -- users -----------------------------------------------------------------------------------

    def user_create(self, username, admin, password_stdin, **options):
        if User.objects.filter(username=username).exists():
            raise CommandError("user {} exists".format(username))
        user = User(username=username, is_staff=True, is_superuser=admin)
        self._set_user_fields(user, password_stdin, **options)
        self.stdout.write("created user {}".format(username))

    def user_update(self, username, admin, active, password_stdin, **options):
        user = self._user(username)
        if admin is not None:
            user.is_superuser = admin
        if active is not None:
            user.is_active = active
        self._set_user_fields(user, password_stdin, **options)
        self.stdout.write("updated user {}".format(username))

    def user_list(self, **options):
        for user in User.objects.order_by("username"):
            self.stdout.write(
                "{}\t{}\tactive={}\tadmin={}".format(
                    user.username, user.email, user.is_active, user.is_superuser
                )
            )

    def _set_user_fields(self, user, password_stdin, email, first_name, last_name, **options):
        for field, value in (("email", email), ("first_name", first_name), ("last_name", last_name)):
            if value is not None:
                setattr(user, field, value)
        if password_stdin:
            user.set_password(sys.stdin.readline().rstrip("\r\n"))
        elif not user.pk:
            password = User.objects.make_random_password(20)
            user.set_password(password)
            self.stdout.write("password: {}".format(password))
        user.save()

    # -- applications ----------------------------------------------------------------------------

    def app_create(self, name, redirect_uri, client_id, client_secret_stdin, access_token_lifetime, **options):
        lifetime = oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS
        if access_token_lifetime is not None and access_token_lifetime != lifetime:
            raise CommandError(
                "django-oauth-toolkit has one global access-token lifetime ({} s here); start the "
                "server with PROVIDER_ACCESS_TOKEN_EXPIRE_SECONDS={}".format(lifetime, access_token_lifetime)
            )
        app = Application(name=name, redirect_uris=" ".join(redirect_uri))
        if client_id:
            app.client_id = client_id
        if client_secret_stdin:
            app.client_secret = sys.stdin.readline().rstrip("\r\n")
        # Application.save() forces confidential + authorization-code + skip_authorization.
        app.save()
        self.stdout.write("client_id: {}".format(app.client_id))
        self.stdout.write("client_secret: {}".format(app.client_secret))

    def app_list(self, **options):
        for app in Application.objects.order_by("name"):
            self.stdout.write("{}\t{}\t{}".format(app.client_id, app.name, app.redirect_uris))

    def app_perms(self, client_id, **options):
        perms = self._app(client_id).applicationpermission_set.order_by("app_label", "codename")
        for perm in perms:
            self.stdout.write("{}.{}\t{}".format(perm.app_label, perm.codename, perm.repr))

    # -- groups and memberships ------------------------------------------------------------------

    def group_create(self, client_id, name, perm, **options):
        app = self._app(client_id)
        group = ApplicationPermissionGroup.objects.create(application=app, name=name)
        group.permissions.set(self._perms(app, perm))
        self.stdout.write("created group {}".format(name))

    def member_add(self, client_id, username, superuser, staff, inactive, group, perm, **options):
        app, user = self._app(client_id), self._user(username)
        member = ApplicationUser.objects.create(
            application=app, user=user, is_superuser=superuser, is_staff=staff, is_active=not inactive
        )
        member.permissions.set(self._perms(app, perm or []))
        member.groups.set(self._groups(app, group or []))
        self.stdout.write("added {} to {}".format(username, client_id))

    def member_update(self, client_id, username, superuser, staff, active, group, perm, **options):
        member = self._member(client_id, username)
        for field, value in (("is_superuser", superuser), ("is_staff", staff), ("is_active", active)):
            if value is not None:
                setattr(member, field, value)
        member.save()
        if perm is not None:
            member.permissions.set(self._perms(member.application, perm))
        if group is not None:
            member.groups.set(self._groups(member.application, group))
        self.stdout.write("updated {} in {}".format(username, client_id))

    def member_remove(self, client_id, username, **options):
        self._member(client_id, username).delete()
        self.stdout.write("removed {} from {}".format(username, client_id))

    # -- lookups ---------------------------------------------------------------------------------

    def _user(self, username):
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError("no user {}".format(username))

    def _app(self, client_id):
        try:
            return Application.objects.get(client_id=client_id)
        except Application.DoesNotExist:
            raise CommandError("no application {}".format(client_id))

    def _member(self, client_id, username):
        try:
            return ApplicationUser.objects.get(application__client_id=client_id, user__username=username)
        except ApplicationUser.DoesNotExist:
            raise CommandError("{} is not a member of {}".format(username, client_id))

    def _perms(self, app, names):
        perms = []
        for name in names:
            app_label, _, codename = name.partition(".")
            try:
                perms.append(app.applicationpermission_set.get(app_label=app_label, codename=codename))
            except ApplicationPermission.DoesNotExist:
                raise CommandError(
                    "application {} has no permission {} (run the client's sync_perms first)".format(
                        app.client_id, name
                    )
                )
        return perms

    def _groups(self, app, names):
        groups = []
        for name in names:
            try:
                groups.append(app.applicationpermissiongroup_set.get(name=name))
            except ApplicationPermissionGroup.DoesNotExist:
                raise CommandError("application {} has no group {}".format(app.client_id, name))
        return groups
