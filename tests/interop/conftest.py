"""Fixtures: a provider of each kind and a real django-centralauth client, fresh for every test.

Every test that takes `provider` runs twice: against the real django-centralauth 2.0.0 provider
(`django`) and against our binary (`ours`). `ours` is skipped when the binary is not built, unless
CENTRALAUTH_INTEROP_REQUIRE_OURS=1.

Mark a test `@pytest.mark.access_token_lifetime(SECONDS)` to give its provider's applications that
access-token lifetime (the Django provider gets it as its global DOT setting).
"""
import os
from dataclasses import dataclass

import pytest

from client import CLIENT_ID, CLIENT_SECRET, DjangoClient
from providers import DEFAULT_ACCESS_TOKEN_LIFETIME, DjangoProvider, OursProvider

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "access_token_lifetime(seconds): access-token lifetime of the test's provider"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, "report_" + report.when, report)
    return report


def print_log_if_failed(request, server):
    """Put a server's log into the failed test's report (captured stdout of the teardown)."""
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        print("===== log of {} =====\n{}".format(server.name, server.log()))


def ours_binary():
    return os.environ.get("CENTRALAUTH_BIN") or os.path.join(REPO, "target", "debug", "centralauth")


@dataclass
class Templates:
    """Migrated, empty databases, made once per run and copied for every test."""

    provider_db: str
    client_db: str


@pytest.fixture(scope="session")
def templates(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("templates")
    provider_db, client_db = str(workdir / "provider.sqlite3"), str(workdir / "client.sqlite3")
    DjangoProvider.migrate(provider_db)
    DjangoClient.migrate(client_db)
    return Templates(provider_db, client_db)


@pytest.fixture(params=["django", "ours"])
def provider(request, tmp_path, templates):
    marker = request.node.get_closest_marker("access_token_lifetime")
    lifetime = marker.args[0] if marker else DEFAULT_ACCESS_TOKEN_LIFETIME
    workdir = tmp_path / "provider"
    workdir.mkdir()
    if request.param == "django":
        started = DjangoProvider.start(str(workdir), templates.provider_db, lifetime)
    else:
        binary = ours_binary()
        if not os.access(binary, os.X_OK):
            reason = "centralauth binary not built: {} (set CENTRALAUTH_BIN)".format(binary)
            if os.environ.get("CENTRALAUTH_INTEROP_REQUIRE_OURS") == "1":
                pytest.fail(reason + " and CENTRALAUTH_INTEROP_REQUIRE_OURS=1")
            pytest.skip(reason)
        started = OursProvider.start(binary, str(workdir), lifetime)
    yield started
    print_log_if_failed(request, started.server)
    started.stop()


@pytest.fixture
def client_app(request, provider, tmp_path, templates):
    """The Django client, registered at `provider` as CLIENT_ID (its permissions not yet synced)."""
    workdir = tmp_path / "client"
    workdir.mkdir()
    client = DjangoClient.start(
        str(workdir), templates.client_db, provider.provider_url, CLIENT_ID, CLIENT_SECRET
    )
    try:
        provider.create_application("Interop client", client.callback_url, CLIENT_ID, CLIENT_SECRET)
    except BaseException:
        client.stop()
        raise
    yield client
    print_log_if_failed(request, client.server)
    client.stop()
