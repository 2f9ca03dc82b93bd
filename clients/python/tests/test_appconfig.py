"""sidecache.appconfig and Client.app_config against the live sidecache, which reads the fake
AppConfig Data that scripts/test-clients.sh started and seeded (application clients-python,
environment prod). What reached AppConfig Data is counted by the fake (`fake_appconfig`)."""

import base64
import json

import pytest

import sidecache
from sidecache import appconfig

from conftest import Context, Seeded

APP, ENV = Seeded.application, Seeded.environment
RUN = Seeded.run
FLAGS = {"new_ui": {"enabled": True, "colors": 3, "run": RUN}, "old_ui": {"enabled": False}}


def compact(value):
    """JSON as scripts/test-clients.sh deployed it (no spaces)."""
    return json.dumps(value, separators=(",", ":")).encode()


def test_get_app_config_gives_the_bytes_as_deployed_by_default():
    value = appconfig.get_app_config("settings", environment=ENV, application=APP)
    assert value == compact({"feature": True, "limit": 5, "run": RUN})
    assert appconfig.get_app_config("text", ENV, APP) == f"hello python {RUN}".encode()
    octets = appconfig.get_app_config("bytes", ENV, APP)
    assert octets == bytes(range(256)) + RUN.encode()


def test_transforms_as_powertools():
    assert appconfig.get_app_config("settings", ENV, APP, transform="json") == {
        "feature": True, "limit": 5, "run": RUN}
    assert appconfig.get_app_config("encoded", ENV, APP, transform="binary") == \
        f"binary-{RUN}".encode()
    # "auto" goes by the name's suffix: without .json or .binary, the bytes as they are.
    assert appconfig.get_app_config("settings", ENV, APP, transform="auto") == \
        appconfig.get_app_config("settings", ENV, APP)
    assert appconfig.transform_value(b'{"a": 1}', "auto", "conf.json") == {"a": 1}
    assert appconfig.transform_value(base64.b64encode(b"x"), "auto", "blob.binary") == b"x"
    with pytest.raises(ValueError):
        appconfig.get_app_config("text", ENV, APP, transform="json")   # not JSON
    with pytest.raises(ValueError):
        appconfig.get_app_config("settings", ENV, APP, transform="yaml")


def test_application_defaults_to_powertools_service_name(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", APP)
    assert appconfig.get_app_config("settings", ENV, transform="json")["run"] == RUN
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME")
    with pytest.raises(sidecache.NotFound):   # Powertools' "service_undefined"
        appconfig.get_app_config("settings", ENV)


def test_a_name_holding_a_slash_is_one_path_segment():
    assert appconfig.get_app_config("team/settings", ENV, APP, transform="json") == {
        "nested": RUN}


def test_powertools_keywords_are_accepted_and_unknown_ones_refused():
    value = appconfig.get_app_config("settings", ENV, APP, transform="json", force_fetch=True,
                                     max_age=30, RequiredMinimumPollIntervalInSeconds=60)
    assert value["run"] == RUN
    with pytest.raises(TypeError, match="ClientConfigurationVersion"):
        appconfig.get_app_config("settings", ENV, APP, ClientConfigurationVersion="1")


def test_feature_flags_one_several_and_is_enabled():
    assert appconfig.get_flag("new_ui", "flags", ENV, APP) == FLAGS["new_ui"]
    assert appconfig.get_app_config("flags", ENV, APP, transform="json",
                                    flag=["new_ui", "old_ui"]) == FLAGS
    assert appconfig.get_app_config("flags", ENV, APP, transform="json", flag="old_ui") == \
        FLAGS["old_ui"]
    assert appconfig.is_enabled("new_ui", name="flags", environment=ENV, application=APP) is True
    assert appconfig.is_enabled("old_ui", name="flags", environment=ENV, application=APP) is False


def test_an_unknown_flag_is_the_default_for_is_enabled_and_not_found_for_get_flag():
    assert appconfig.is_enabled("nope", name="flags", environment=ENV, application=APP) is False
    assert appconfig.is_enabled("nope", name="flags", environment=ENV, application=APP,
                                default=True) is True
    with pytest.raises(sidecache.NotFound) as raised:
        appconfig.get_flag("nope", "flags", ENV, APP)
    assert raised.value.error_type == "FlagNotFound"
    assert "nope" in raised.value.message


def test_is_enabled_raises_for_what_is_not_a_missing_flag():
    with pytest.raises(sidecache.BadRequest) as raised:   # not a feature-flag profile
        appconfig.is_enabled("new_ui", name="text", environment=ENV, application=APP,
                             default=True)
    assert raised.value.error_type == "InvalidParameter"
    with pytest.raises(sidecache.NotFound) as raised:
        appconfig.is_enabled("new_ui", name="absent", environment=ENV, application=APP,
                             default=True)
    assert raised.value.error_type == "ResourceNotFoundException"


@pytest.mark.parametrize("app, env, profile", [
    (APP, ENV, "absent"),
    (APP, "staging", "settings"),
    ("clients-absent", ENV, "settings"),
])
def test_unknown_application_environment_or_profile_is_not_found(app, env, profile):
    with pytest.raises(sidecache.NotFound) as raised:
        appconfig.get_app_config(profile, env, app)
    error = raised.value
    assert (error.status, error.error_type) == (404, "ResourceNotFoundException")
    if hasattr(error, "response"):   # also botocore's ClientError, as boto3's would be
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
        assert error.operation_name == "GetLatestConfiguration"


def test_reads_go_to_the_main_port_with_the_token():
    # The agent's port takes no token; the package reads on the main port, where a wrong
    # token is refused: so it works with the agent's port off.
    with pytest.raises(sidecache.AccessDenied):
        appconfig.get_app_config("settings", ENV, APP, client=sidecache.Client(token="wrong"))


def test_second_read_is_served_by_sidecache_without_polling_appconfig(fake_appconfig):
    client = sidecache.Client()
    try:
        assert fake_appconfig.counts("counted")["polls"] == 0
        first = appconfig.get_app_config("counted", ENV, APP, client=client)
        assert client.last_cache_status == "miss"
        counts = fake_appconfig.counts("counted")
        assert (counts["sessions"], counts["polls"]) == (1, 1)
        # Within sidecache's poll interval every read is answered from memory, whatever
        # Powertools' max_age or force_fetch say (they cannot make sidecache poll sooner).
        for kwargs in ({}, {"force_fetch": True}, {"max_age": 0}):
            assert appconfig.get_app_config("counted", ENV, APP, client=client, **kwargs) == first
            assert client.last_cache_status == "hit"
        counts = fake_appconfig.counts("counted")
        assert (counts["sessions"], counts["polls"]) == (1, 1)
    finally:
        client.close()


def test_client_app_config_and_its_info():
    client = sidecache.Client()
    try:
        assert client.app_config(APP, ENV, "text") == f"hello python {RUN}".encode()
        info = client.app_config_info(APP, ENV, "settings")
        assert info == {"content": appconfig.get_app_config("settings", ENV, APP),
                        "content_type": "application/json", "version_label": f"v1-{RUN}",
                        "version": 1}
        assert client.app_config_info(APP, ENV, "text")["version_label"] is None
        assert json.loads(client.app_config(APP, ENV, "flags", flags="new_ui")) == \
            FLAGS["new_ui"]
        with pytest.raises(TypeError):
            client.app_config(APP, "", "settings")
    finally:
        client.close()


def test_a_profile_deployed_after_start_is_read_on_its_first_request(fake_appconfig):
    profile = f"late-{RUN}"
    fake_appconfig.deploy(profile, json.dumps({"late": RUN}))
    assert appconfig.get_app_config(profile, ENV, APP, transform="json") == {"late": RUN}


def test_decorator_injects_into_the_context_on_every_call(fake_appconfig):
    @appconfig.cache(name="decorated", environment=ENV, application=APP, transform="json")
    @appconfig.cache(name="team/settings", environment=ENV, application=APP, transform="json")
    @appconfig.cache(name="flags", environment=ENV, application=APP, transform="json",
                     flag="new_ui", entry_name="new_ui")
    def handler(event, context):
        return context.decorated, context.settings, context.new_ui

    assert handler({}, Context()) == ({"decorated": RUN}, {"nested": RUN}, FLAGS["new_ui"])
    polls = fake_appconfig.counts("decorated")["polls"]
    assert handler({}, Context()) == ({"decorated": RUN}, {"nested": RUN}, FLAGS["new_ui"])
    assert fake_appconfig.counts("decorated")["polls"] == polls == 1


def test_decorator_misuse_and_missing_profile_raise_when_the_handler_is_called():
    from sidecache.exceptions import ArgumentTypeNotSupportedError, NoEntryNameError

    def never(event, context):
        raise AssertionError("the handler must not run")

    wrong = appconfig.cache(name=("a", "b"), environment=ENV, application=APP)(never)
    unnamed = appconfig.cache(name=["settings"], environment=ENV, application=APP)(never)
    listed = appconfig.cache(name=["settings"], environment=ENV, application=APP,
                             entry_name="x")(never)
    missing = appconfig.cache(name="absent", environment=ENV, application=APP)(never)
    with pytest.raises(ArgumentTypeNotSupportedError):
        wrong({}, Context())
    with pytest.raises(NoEntryNameError):
        unnamed({}, Context())
    with pytest.raises(ArgumentTypeNotSupportedError):
        listed({}, Context())
    with pytest.raises(sidecache.NotFound):
        missing({}, Context())


def test_reachable_as_an_attribute_of_the_package():
    assert sidecache.appconfig is appconfig
    assert "appconfig" in dir(sidecache)
