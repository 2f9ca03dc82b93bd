"""Fixtures for the suite: it runs against a live sidecache on moto (scripts/test-clients.sh
starts both, seeds the values under /clients/python/ and exports where they are)."""

import os

import pytest

import sidecache

REQUIRED = ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "SIDECACHE_TOKEN", "CLIENTS_RUN_ID",
            "AWS_ENDPOINT_URL", "SIDECACHE_S3_DIR", "CLIENTS_BUCKET")


def pytest_configure(config):
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(
            "these tests need a live sidecache on moto: run scripts/test-clients.sh "
            f"(missing {', '.join(missing)})")


class Seeded:
    """Names and values scripts/test-clients.sh put upstream for this suite."""

    prefix = "/clients/python"
    run = os.environ.get("CLIENTS_RUN_ID", "")
    bucket = os.environ.get("CLIENTS_BUCKET", "")
    s3_dir = os.environ.get("SIDECACHE_S3_DIR", "")

    def name(self, suffix):
        return f"{self.prefix}/{suffix}"


@pytest.fixture(scope="session")
def seeded():
    return Seeded()


@pytest.fixture(scope="session")
def client():
    client = sidecache.Client()
    yield client
    client.close()


class Upstream:
    """Counts sidecache's upstream calls through /stats: a delta of 0 means a cache hit."""

    def __init__(self, client):
        self.client = client

    def calls(self, service):
        return self.client.stats()["upstream"][service]["calls"]


@pytest.fixture
def upstream(client):
    return Upstream(client)


@pytest.fixture(scope="session")
def aws():
    """boto3 against moto, to change values behind sidecache's back (boto3 comes with moto)."""
    boto3 = pytest.importorskip("boto3")
    return boto3


class Context:
    """A stand-in for Lambda's context object: the decorators set attributes on it."""

    function_name = "clients-test"
