"""Powertools for AWS Lambda (Python)'s own AppConfig Agent client, unchanged, against
sidecache: `AppConfigExtensionProvider` (aws-lambda-powertools 3.37.0, pinned by the Makefile)
reads `AWS_APPCONFIG_EXTENSION_HTTP_PORT`, as it does in Lambda, and scripts/test-clients.sh
set it to sidecache's AppConfig Agent port."""

import os

import pytest

parameters = pytest.importorskip(
    "aws_lambda_powertools.utilities.parameters",
    reason="aws-lambda-powertools could not be installed (pip install './clients/python[powertools]'):"
           " Powertools' AppConfigExtensionProvider is not tested")
if not hasattr(parameters, "AppConfigExtensionProvider"):
    pytest.skip("this aws-lambda-powertools has no AppConfigExtensionProvider (3.37.0 has it)",
                allow_module_level=True)

import sidecache  # noqa: E402
from conftest import Seeded  # noqa: E402

APP, ENV, RUN = Seeded.application, Seeded.environment, Seeded.run
FLAGS = {"new_ui": {"enabled": True, "colors": 3, "run": RUN}, "old_ui": {"enabled": False}}


def provider():
    # Nothing but what a handler would write: the port comes from the agent's variable.
    return parameters.AppConfigExtensionProvider(environment=ENV, application=APP)


def test_the_provider_reads_sidecaches_agent_port():
    assert provider().port == int(os.environ["AWS_APPCONFIG_EXTENSION_HTTP_PORT"])
    assert provider().port != int(os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"])


def test_configuration_raw_and_json():
    assert provider().get("powertools") == b'{"powertools":"%s"}' % RUN.encode()
    assert provider().get("powertools", transform="json") == {"powertools": RUN}
    assert provider().get("team/settings", transform="json") == {"nested": RUN}


def test_selected_feature_flags():
    assert provider().get("powertools-flags", transform="json", flag="new_ui") == FLAGS["new_ui"]
    assert provider().get("powertools-flags", transform="json",
                          flag=["new_ui", "old_ui"]) == FLAGS


def test_a_missing_profile_is_get_parameter_error_with_the_404():
    with pytest.raises(parameters.exceptions.GetParameterError, match="HTTP 404"):
        provider().get("absent")


def test_the_same_cache_as_the_package(fake_appconfig):
    # Powertools on the agent's port and sidecache's package on the main port share one
    # session and one cached configuration.
    provider().get("powertools")
    client = sidecache.Client()
    try:
        assert client.app_config(APP, ENV, "powertools") == b'{"powertools":"%s"}' % RUN.encode()
        assert client.last_cache_status == "hit"
    finally:
        client.close()
    counts = fake_appconfig.counts("powertools")
    assert (counts["sessions"], counts["polls"]) == (1, 1)
