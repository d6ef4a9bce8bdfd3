import os

import pytest

from rp import RelyingParty
from support import BINARY, Provider


def pytest_sessionstart(session):
    if not os.access(BINARY, os.X_OK):
        raise pytest.UsageError("no centralauth binary at {} (set CENTRALAUTH_BIN or cargo build --bin centralauth)".format(BINARY))


@pytest.fixture(scope="module")
def provider():
    """A provider of the test file's own; reuse of a rotated refresh token fails at once."""
    provider = Provider(refresh_grace_seconds=0)
    yield provider
    provider.stop()


@pytest.fixture(params=["client_secret_basic", "client_secret_post"])
def rp(request, provider):
    return RelyingParty(provider, request.param)
