"""`manage.py sync_perms`: the client registers all its Permission rows at the provider's /perms/.

It POSTs JSON {client_id, client_secret, perms: [{app_label, codename, repr}]} with
Content-Type application/json, and prints "Operation successful. N permissions synced,
N permissions created, N permissions deleted. Permissions count: N." from the answer; a 403 is
a CommandError (exit 1).
"""
import requests

from client import CLIENT_ID, CLIENT_SECRET


def test_sync_perms_registers_every_client_permission_and_a_second_run_creates_none(provider, client_app):
    local = client_app.local_perms()
    assert "notes.publish_note" in local

    first = client_app.sync_perms()
    second = client_app.sync_perms()

    n = len(local)
    assert first == {"synced": n, "created": n, "deleted": 0, "count": n}
    assert second == {"synced": n, "created": 0, "deleted": 0, "count": n}
    registered = provider.application_perms(CLIENT_ID)
    assert sorted(registered) == local
    # `repr` is str(Permission): "app_label | model | name".
    assert registered["notes.publish_note"] == "notes | note | Can publish note"


def test_sync_perms_deletes_permissions_the_client_no_longer_has(provider, client_app):
    client_app.sync_perms()
    stale = {"app_label": "notes", "codename": "archive_note", "repr": "notes | note | Can archive note"}
    answer = requests.post(
        provider.url("/perms/"),
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "perms": [stale]},
        timeout=10,
    )
    assert answer.status_code == 200
    n = len(client_app.local_perms())
    assert answer.json() == {"success": True, "synced": 1, "created": 1, "deleted": n, "count": 1}

    assert client_app.sync_perms() == {"synced": n, "created": n, "deleted": 1, "count": n}
    assert "notes.archive_note" not in provider.application_perms(CLIENT_ID)


def test_sync_perms_with_a_wrong_secret_fails_with_the_403_message(provider, client_app):
    done = client_app.manage("sync_perms", check=False, CENTRALAUTH_CLIENT_SECRET="wrong")

    assert done.returncode == 1
    assert "Permissions endpoint returned 403" in done.stderr
    assert provider.application_perms(CLIENT_ID) == {}
