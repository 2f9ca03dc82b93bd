"""sidecache.powertools.SidecacheProvider: Powertools' BaseProvider contract through sidecache."""

import json

import pytest

parameters = pytest.importorskip(
    "aws_lambda_powertools.utilities.parameters",
    reason="aws-lambda-powertools could not be installed (pip install './clients/python[powertools]'):"
           " the Powertools provider is not tested")

from sidecache import NotFound  # noqa: E402
from sidecache.powertools import SidecacheProvider  # noqa: E402


def test_get_with_transforms(seeded):
    provider = SidecacheProvider()
    assert provider.get(seeded.name("powertools/plain")) == f"plain-{seeded.run}"
    assert provider.get(seeded.name("powertools/json"), transform="json") == {"run": seeded.run}
    assert provider.get(seeded.name("powertools/b64"), transform="binary") == b"hello"
    assert provider.get(seeded.name("powertools/secure"), decrypt=True) == f"pt-secure-{seeded.run}"


def test_get_multiple_by_path_relative_names(seeded):
    provider = SidecacheProvider()
    assert provider.get_multiple(seeded.name("tree")) == {"a": f"a-{seeded.run}",
                                                          "b": f"b-{seeded.run}"}
    # Powertools' cache key holds no `recursive`: a new provider, or force_fetch, for the tree.
    tree = SidecacheProvider().get_multiple(seeded.name("tree"), recursive=True)
    assert tree["deep/c"] == f"c-{seeded.run}"


def test_secrets_source_with_json_transform(seeded):
    secrets = SidecacheProvider("secretsmanager")
    assert secrets.get("clients/python/api", transform="json")["password"] == f"pw-{seeded.run}"
    assert secrets.get("clients/python/blob") == bytes(range(256)) + seeded.run.encode()


def test_force_fetch_reaches_upstream(seeded, upstream):
    provider = SidecacheProvider()
    name = seeded.name("powertools/plain")
    provider.get(name)
    before = upstream.calls("ssm")
    # Past Powertools' own cache, max_age is sidecache's maxAge: 300 s is served from it...
    provider.clear_cache()
    provider.get(name, max_age=300)
    assert upstream.calls("ssm") == before
    # ...and force_fetch (or max_age=0) goes to AWS.
    provider.get(name, force_fetch=True)
    assert upstream.calls("ssm") == before + 1
    provider.clear_cache()  # Powertools' own cache would answer first
    provider.get(name, max_age=0)
    assert upstream.calls("ssm") == before + 2


def test_missing_parameter_is_get_parameter_error_caused_by_not_found(seeded):
    with pytest.raises(parameters.exceptions.GetParameterError) as raised:
        SidecacheProvider().get(seeded.name("absent"))
    assert isinstance(raised.value.__context__, NotFound)


def test_json_of_a_secret_through_powertools_cache_is_reused(seeded, upstream):
    provider = SidecacheProvider("secretsmanager")
    first = provider.get("clients/python/api", transform="json", max_age=60)
    before = upstream.calls("secretsmanager")
    assert provider.get("clients/python/api", transform="json", max_age=60) == first
    assert upstream.calls("secretsmanager") == before
    assert json.dumps(first)  # a plain dict
