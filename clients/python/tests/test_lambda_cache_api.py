"""lambda-cache's API (`from sidecache import ssm, secrets_manager, s3`) against a live sidecache."""

import json
import os

import pytest

from conftest import Context
from sidecache import NotFound, s3, secrets_manager, ssm
from sidecache.entries import InvalidS3UriError, NoEntryNameError


def test_handler_invoked_twice_second_call_served_from_cache(seeded, upstream):
    one, two = seeded.name("handler/one"), seeded.name("handler/two")

    @ssm.cache(parameter=one, max_age_in_seconds=300)
    @ssm.cache(parameter=two, max_age_in_seconds=300, entry_name="listed")
    @secrets_manager.cache(name="clients/python/api", max_age_in_seconds=300)
    def handler(event, context):
        return {"one": getattr(context, "one"), "listed": context.listed,
                "api": json.loads(context.api)["user"]}

    ssm_before = upstream.calls("ssm")
    first = handler({}, Context())
    ssm_after_first, sm_after_first = upstream.calls("ssm"), upstream.calls("secretsmanager")
    assert ssm_after_first - ssm_before == 2  # both parameters were fetched: cold
    second = handler({}, Context())
    assert first == second == {"one": f"one-{seeded.run}", "listed": [f"two-{seeded.run}"],
                               "api": "app"}
    # The second invocation: cache only.
    assert upstream.calls("ssm") == ssm_after_first
    assert upstream.calls("secretsmanager") == sm_after_first


def test_get_entry_with_max_age_zero_forces_a_refresh(seeded, upstream, aws):
    name = seeded.name("refresh")
    assert ssm.get_entry(parameter=name) == f"before-{seeded.run}"
    aws.client("ssm").put_parameter(Name=name, Value=f"after-{seeded.run}", Overwrite=True)
    before = upstream.calls("ssm")
    # Within max_age the cached value is served, even though AWS has a new one.
    assert ssm.get_entry(parameter=name, max_age_in_seconds=300) == f"before-{seeded.run}"
    assert upstream.calls("ssm") == before
    assert ssm.get_entry(parameter=name, max_age_in_seconds=0) == f"after-{seeded.run}"
    assert upstream.calls("ssm") == before + 1


def test_list_of_parameters_is_one_get_many_under_entry_name(seeded, upstream):
    names = [seeded.name("tree/a"), seeded.name("tree/b"), seeded.name("list"),
             seeded.name("secure"), seeded.name("tree/missing")]
    before = upstream.calls("ssm")
    values = ssm.get_entry(parameter=names, entry_name="group", max_age_in_seconds=0)
    # One GetParameters call (5 names <= 10); short names as keys; StringList split, the
    # SecureString decrypted, a missing name left out as lambda-cache's GetParameters does.
    assert upstream.calls("ssm") - before == 1
    assert values == {"a": f"a-{seeded.run}", "b": f"b-{seeded.run}",
                      "list": [f"a-{seeded.run}", "b", "c"], "secure": f"secure-python-{seeded.run}"}

    @ssm.cache(parameter=names, entry_name="group")
    def handler(event, context):
        return context.group

    assert handler({}, Context()) == values


def test_a_list_needs_an_entry_name(seeded):
    # As in lambda-cache: raised when the handler is called, not when it is decorated.
    @ssm.cache(parameter=[seeded.name("tree/a")])
    def handler(event, context):
        raise AssertionError("the handler must not run")

    with pytest.raises(NoEntryNameError):
        handler({}, Context())
    with pytest.raises(NoEntryNameError):
        ssm.get_entry(parameter=[seeded.name("tree/a")])


def test_default_entry_name_is_the_last_segment_and_entry_name_overrides(seeded):
    @ssm.cache(parameter=seeded.name("greeting"))
    @ssm.cache(parameter=seeded.name("greeting"), entry_name="renamed")
    def handler(event, context):
        return context.greeting, context.renamed

    value = f"hello python {seeded.run}"
    assert handler({}, Context()) == (value, value)


def test_missing_parameter_raises_not_found(seeded):
    @ssm.cache(parameter=seeded.name("absent"))
    def handler(event, context):
        raise AssertionError("the handler must not run without its parameter")

    with pytest.raises(NotFound) as raised:
        handler({}, Context())
    assert raised.value.error_type == "ParameterNotFound"


def test_secrets_string_and_bytes_as_stored(seeded):
    assert json.loads(secrets_manager.get_entry(name="clients/python/api"))["password"] == \
        f"pw-{seeded.run}"
    binary = secrets_manager.get_entry(name="clients/python/blob", max_age_in_seconds=0)
    assert isinstance(binary, bytes) and binary == bytes(range(256)) + seeded.run.encode()


def test_s3_path_is_a_tmp_link_to_sidecache_file(seeded):
    uri = f"s3://{seeded.bucket}/python/config/app-{seeded.run}.json"
    name = f"app-{seeded.run}.json"

    @s3.cache(s3Uri=uri)
    def handler(event, context):
        with open(getattr(context, name)) as f:
            return getattr(context, name), json.load(f)

    try:
        path, content = handler({}, Context())
        assert path == f"/tmp/{name}"
        assert content == {"from": "s3", "run": seeded.run}
        # No second copy: /tmp/<name> is a link to the file in sidecache's directory.
        assert os.path.islink(path)
        assert os.path.dirname(os.path.realpath(path)) == os.path.realpath(seeded.s3_dir)
        # A second invocation keeps the link; get_entry with an entry_name gives another.
        assert handler({}, Context())[0] == path
        other = s3.get_entry(s3Uri=uri, entry_name=f"renamed-{seeded.run}.json",
                             max_age_in_seconds=0)
        assert other == f"/tmp/renamed-{seeded.run}.json" and os.path.islink(other)
        os.unlink(other)
    finally:
        if os.path.lexists(f"/tmp/{name}"):
            os.unlink(f"/tmp/{name}")


def test_s3_copies_when_sidecache_file_is_not_visible(seeded, monkeypatch, tmp_path):
    # As for a sidecar in another container: sidecache's path does not exist here, so the
    # bytes come over HTTP (format=raw) and are written to the link directory.
    uri = f"s3://{seeded.bucket}/python/config/app-{seeded.run}.json"
    monkeypatch.setattr(s3, "LINK_DIR", str(tmp_path))
    real_exists = os.path.exists
    monkeypatch.setattr(os.path, "exists",
                        lambda p: False if str(p).startswith(seeded.s3_dir) else real_exists(p))
    path = s3.get_entry(s3Uri=uri, entry_name="copied.json")
    assert path == str(tmp_path / "copied.json")
    assert not os.path.islink(path)
    with open(path) as f:
        assert json.load(f) == {"from": "s3", "run": seeded.run}
    assert sorted(os.listdir(tmp_path)) == ["copied.json"]  # no staging file left


def test_s3_replaces_an_old_file_and_copies_where_links_are_refused(seeded, monkeypatch,
                                                                     tmp_path):
    uri = f"s3://{seeded.bucket}/python/config/app-{seeded.run}.json"
    monkeypatch.setattr(s3, "LINK_DIR", str(tmp_path))
    # A file lambda-cache downloaded earlier is replaced by the link.
    (tmp_path / "old.json").write_text("left by lambda-cache")
    assert os.path.islink(s3.get_entry(s3Uri=uri, entry_name="old.json"))

    # A filesystem that refuses symlinks gets a copy (written aside, renamed into place).
    def refuse(*args):
        raise PermissionError("symlinks refused")

    monkeypatch.setattr(os, "symlink", refuse)
    path = s3.get_entry(s3Uri=uri, entry_name="copy.json")
    assert not os.path.islink(path)
    with open(path) as f:
        assert json.load(f) == {"from": "s3", "run": seeded.run}
    assert sorted(os.listdir(tmp_path)) == ["copy.json", "old.json"]


def test_s3_rejects_a_malformed_uri():
    handler = s3.cache(s3Uri="https://bucket/key")(lambda event, context: None)
    with pytest.raises(InvalidS3UriError):
        handler({}, Context())
    with pytest.raises(InvalidS3UriError):
        s3.get_entry(s3Uri="s3://bucket-without-key")


def test_fractional_max_age_is_rounded_down_to_sidecache_whole_seconds(seeded, upstream):
    # lambda-cache compares ages with any number; sidecache's maxAge is whole seconds.
    name = seeded.name("greeting")
    ssm.get_entry(parameter=name)
    before = upstream.calls("ssm")
    assert ssm.get_entry(parameter=name, max_age_in_seconds=300.5) == f"hello python {seeded.run}"
    assert upstream.calls("ssm") == before
    # Under a second: 0, a forced refresh (never a value older than asked).
    assert ssm.get_entry(parameter=name, max_age_in_seconds=0.5) == f"hello python {seeded.run}"
    assert upstream.calls("ssm") == before + 1
