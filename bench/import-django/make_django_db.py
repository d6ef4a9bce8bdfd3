"""Fill a migrated, empty django-centralauth 2.0.0 provider database (SQLite) with a large
installation, in the tables' own shape, with plain SQL (the ORM would take hours):

    make_django_db.py DB [--users 100000] [--membership-permissions 1000000] [--tokens 10000]

Two applications with 50 permissions and 5 groups of 10 each. Every user is a member of the
first application; every second one of the second too. Direct permissions are spread over the
memberships so that there are exactly --membership-permissions of them. Every user has the same
real Django password hash (one make_password call: hashing 100,000 passwords would take longer
than the import). --tokens users get a live refresh token with its access token.
"""
import argparse
import sqlite3
import time

import django
from django.conf import settings

APPS = [("bench-a", "bench-a-secret-0123456789abcdef"), ("bench-b", "bench-b-secret-0123456789abcdef")]
PERMS_PER_APP = 50
GROUPS_PER_APP = 5
NOW = "2024-06-01 12:00:00.000000"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--membership-permissions", type=int, default=1_000_000)
    parser.add_argument("--tokens", type=int, default=10_000)
    args = parser.parse_args()

    settings.configure()
    django.setup()
    from django.contrib.auth.hashers import make_password

    password = make_password("bench-password-1")
    started = time.monotonic()
    conn = sqlite3.connect(args.db)
    cur = conn.cursor()
    cur.executemany(
        "INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, "
        "is_staff, is_active, date_joined) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?)",
        (
            (i, password, NOW if i % 3 else None, 1 if i == 1 else 0, "user{:06d}".format(i), "First{}".format(i),
             "Last{}".format(i), "user{:06d}@example.org".format(i), NOW)
            for i in range(1, args.users + 1)
        ),
    )
    perm_id, group_id = 0, 0
    app_perms, app_groups = {}, {}
    for app_id, (client_id, secret) in enumerate(APPS, start=1):
        cur.execute(
            "INSERT INTO provider_application (id, client_id, redirect_uris, client_type, authorization_grant_type, "
            "client_secret, name, skip_authorization, created, updated, user_id, algorithm) "
            "VALUES (?, ?, ?, 'confidential', 'authorization-code', ?, ?, 1, ?, ?, NULL, '')",
            (app_id, client_id, "https://{}.example.org/centralauth/login/callback/".format(client_id), secret,
             client_id, NOW, NOW),
        )
        perms = []
        for n in range(PERMS_PER_APP):
            perm_id += 1
            perms.append(perm_id)
            cur.execute(
                "INSERT INTO provider_applicationpermission (id, repr, codename, app_label, date_created, application_id) "
                "VALUES (?, ?, ?, 'bench', ?, ?)",
                (perm_id, "Can do thing {}".format(n), "thing_{}".format(n), NOW, app_id),
            )
        groups = []
        for n in range(GROUPS_PER_APP):
            group_id += 1
            groups.append(group_id)
            cur.execute(
                "INSERT INTO provider_applicationpermissiongroup (id, name, date_created, application_id) VALUES (?, ?, ?, ?)",
                (group_id, "group-{}".format(n), NOW, app_id),
            )
            cur.executemany(
                "INSERT INTO provider_applicationpermissiongroup_permissions (applicationpermissiongroup_id, "
                "applicationpermission_id) VALUES (?, ?)",
                ((group_id, p) for p in perms[n * 10:(n + 1) * 10]),
            )
        app_perms[app_id], app_groups[app_id] = perms, groups

    memberships = [(1, user) for user in range(1, args.users + 1)] + [(2, user) for user in range(2, args.users + 1, 2)]
    base, extra = divmod(args.membership_permissions, len(memberships))
    links, group_links = [], []
    for membership_id, (app_id, user) in enumerate(memberships, start=1):
        count = min(base + (1 if membership_id <= extra else 0), PERMS_PER_APP)
        perms = app_perms[app_id]
        start = membership_id % PERMS_PER_APP
        links.extend((membership_id, perms[(start + k) % PERMS_PER_APP]) for k in range(count))
        group_links.append((membership_id, app_groups[app_id][membership_id % GROUPS_PER_APP]))
    cur.executemany(
        "INSERT INTO provider_applicationuser (id, is_superuser, is_staff, is_active, date_created, application_id, user_id) "
        "VALUES (?, 0, ?, 1, ?, ?, ?)",
        ((i, 1 if user % 10 == 0 else 0, NOW, app_id, user) for i, (app_id, user) in enumerate(memberships, start=1)),
    )
    cur.executemany(
        "INSERT INTO provider_applicationuser_permissions (applicationuser_id, applicationpermission_id) VALUES (?, ?)", links
    )
    cur.executemany(
        "INSERT INTO provider_applicationuser_groups (applicationuser_id, applicationpermissiongroup_id) VALUES (?, ?)",
        group_links,
    )
    tokens = min(args.tokens, args.users)
    cur.executemany(
        "INSERT INTO oauth2_provider_accesstoken (id, token, expires, scope, application_id, user_id, created, updated) "
        "VALUES (?, ?, '2999-01-01 00:00:00', 'read write', 1, ?, ?, ?)",
        ((i, "bench-access-token-{:06d}".format(i), i, NOW, NOW) for i in range(1, tokens + 1)),
    )
    cur.executemany(
        "INSERT INTO oauth2_provider_refreshtoken (id, token, access_token_id, application_id, user_id, created, updated, revoked) "
        "VALUES (?, ?, ?, 1, ?, ?, ?, NULL)",
        ((i, "bench-refresh-token-{:06d}".format(i), i, i, NOW, NOW) for i in range(1, tokens + 1)),
    )
    conn.commit()
    conn.close()
    print("{} users, {} memberships, {} membership permissions, {} refresh tokens in {:.1f} s".format(
        args.users, len(memberships), len(links), tokens, time.monotonic() - started))


if __name__ == "__main__":
    main()
