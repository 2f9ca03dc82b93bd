"""Fixtures for the suite: it runs against a live sidecache on moto (scripts/test-clients.sh
starts both, seeds the values under /clients/python/ and exports where they are)."""

import os

import pytest

import sidecache

REQUIRED = ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "SIDECACHE_TOKEN", "CLIENTS_RUN_ID",
            "AWS_ENDPOINT_URL", "SIDECACHE_S3_DIR", "CLIENTS_BUCKET", "FAKE_APPCONFIG_CONTROL",
            "AWS_APPCONFIG_EXTENSION_HTTP_PORT")


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

    # AppConfig: the application and environment of this suite's profiles.
    application = "clients-python"
    environment = "prod"

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


class FakeAppConfig:
    """The fake AppConfig Data's control API (tests/src/bin/fake_appconfig.rs): what reached
    AWS's side, and new deployments."""

    def __init__(self, url):
        self.url = url

    def counts(self, profile, application=Seeded.application, environment=Seeded.environment):
        """{"sessions", "polls", "deliveries", ...} for one profile: a poll that reached
        AppConfig Data counts in `polls`."""
        from urllib.parse import urlencode

        query = urlencode({"application": application, "environment": environment,
                           "profile": profile})
        return self._call("GET", f"/counts?{query}")

    def deploy(self, profile, content, content_type="application/json", version_label=None,
               application=Seeded.application, environment=Seeded.environment):
        return self._call("POST", "/deploy", {
            "application": application, "environment": environment, "profile": profile,
            "content": content, "content_type": content_type, "version_label": version_label})

    def _call(self, method, path, body=None):
        import json
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())


@pytest.fixture(scope="session")
def fake_appconfig():
    return FakeAppConfig(os.environ["FAKE_APPCONFIG_CONTROL"])


@pytest.fixture(scope="session")
def aws():
    """boto3 against moto, to change values behind sidecache's back (boto3 comes with moto)."""
    boto3 = pytest.importorskip("boto3")
    return boto3


class Context:
    """A stand-in for Lambda's context object: the decorators set attributes on it."""

    function_name = "clients-test"
