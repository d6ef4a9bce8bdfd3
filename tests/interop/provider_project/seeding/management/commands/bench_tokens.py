"""Insert django-oauth-toolkit rows for bench/run, straight into the database (one bulk insert per
table), and print the secrets, one a line, to --out:

    manage.py bench_tokens access  <client_id> <username> <count> --out FILE   # access tokens
    manage.py bench_tokens refresh <client_id> <username> <count> --out FILE   # refresh tokens, each with its access token
    manage.py bench_tokens code    <client_id> <username> <count> --out FILE --redirect-uri URI   # authorization codes (60 s)

The rows are what DOT itself writes when it issues them (scope "read write", its lifetimes); the
benchmark then spends each one at the real endpoint.
"""
import datetime
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from centralauth.provider.models import Application

SCOPE = "read write"
BATCH = 2000


class Command(BaseCommand):
    help = "Insert access tokens, refresh tokens or authorization codes for bench/run."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["access", "refresh", "code"])
        parser.add_argument("client_id")
        parser.add_argument("username")
        parser.add_argument("count", type=int)
        parser.add_argument("--out", required=True)
        parser.add_argument("--redirect-uri", default="")

    @transaction.atomic
    def handle(self, kind, client_id, username, count, out, redirect_uri, **options):
        app = Application.objects.get(client_id=client_id)
        user = get_user_model().objects.get(username=username)
        now = timezone.now()
        values = [secrets.token_urlsafe(30) for _ in range(count)]
        if kind == "code":
            expires = now + datetime.timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS)
            get_grant_model().objects.bulk_create(
                (
                    get_grant_model()(
                        user=user, application=app, code=v, expires=expires, redirect_uri=redirect_uri, scope=SCOPE
                    )
                    for v in values
                ),
                batch_size=BATCH,
            )
        else:
            access_model = get_access_token_model()
            expires = now + datetime.timedelta(seconds=oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
            # Explicit ids: Django 3.2 does not read back the ids of a bulk insert on SQLite, and a
            # refresh token must point at its access token.
            first = (access_model.objects.aggregate(m=Max("id"))["m"] or 0) + 1
            access_model.objects.bulk_create(
                (
                    access_model(
                        id=first + i,
                        user=user,
                        application=app,
                        token=(v if kind == "access" else secrets.token_urlsafe(30)),
                        expires=expires,
                        scope=SCOPE,
                    )
                    for i, v in enumerate(values)
                ),
                batch_size=BATCH,
            )
            if kind == "refresh":
                get_refresh_token_model().objects.bulk_create(
                    (
                        get_refresh_token_model()(user=user, application=app, token=v, access_token_id=first + i)
                        for i, v in enumerate(values)
                    ),
                    batch_size=BATCH,
                )
        with open(out, "w") as f:
            f.write("".join(v + "\n" for v in values))
