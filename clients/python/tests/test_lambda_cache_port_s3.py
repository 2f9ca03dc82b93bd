"""lambda-cache's S3 tests (test_s3.py) with the import renamed: see lambda_cache_port.

lambda-cache's files are /tmp/<entry name>; here `s3.LINK_DIR` is a directory of the test's
own, so that nothing is left in /tmp, and the handlers open the path they are given.
"""

import json
import os

import pytest

from lambda_cache_port import MAX_AGE, Clock, LambdaContext, prefix, upload_object
from sidecache import s3
from sidecache.exceptions import InvalidS3UriError

bucket_name = os.environ.get("CLIENTS_BUCKET", "")
P = prefix().strip("/")
# The cases run side by side and change their objects: an object each.
keys = {name: f"{P}/{name}/key.json" for name in ("download", "entry_name", "not_updated")}


def uri(case):
    return f"s3://{bucket_name}/{keys[case]}"


@pytest.fixture(autouse=True)
def link_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(s3, "LINK_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module", autouse=True)
def initialized():
    for key in keys.values():
        upload_object(bucket_name, key, "old")


def status_of(path):
    with open(path) as file_data:
        return json.loads(file_data.read())["status"]


@s3.cache(s3Uri=uri("download"), max_age_in_seconds=MAX_AGE, check_before_download=False)
def s3_download(event, context):
    return status_of(getattr(context, "key.json"))


@s3.cache(s3Uri=f"L3:--/{bucket_name}/{keys['download']}", max_age_in_seconds=MAX_AGE,
          check_before_download=False)
def invalid_uri(event, context):
    return True


@s3.cache(s3Uri=uri("entry_name"), entry_name="temp_key.json", max_age_in_seconds=MAX_AGE,
          check_before_download=False)
def s3_download_entry_name(event, context):
    return status_of(os.path.join(s3.LINK_DIR, "temp_key.json"))


@s3.cache(s3Uri=uri("not_updated"), max_age_in_seconds=MAX_AGE, entry_name="not_updated.json",
          check_before_download=True)
def s3_not_updated(event, context):
    return status_of(getattr(context, "not_updated.json"))


def test_decorated_functions():
    # lambda-cache's decorated_function_test (two functions) and not_refreshed_test, at once.
    changing = [("download", s3_download), ("entry_name", s3_download_entry_name)]

    def statuses():
        return [function({"event_name": "test"}, LambdaContext()) for _, function in changing] \
            + [s3_not_updated({"event_name": "test"}, LambdaContext())]

    clock = Clock()
    clock.fetching()
    assert statuses() == ["old", "old", "old"]
    clock.fetched()
    for case, _ in changing:
        upload_object(bucket_name, keys[case], "new")
    assert statuses() == ["old", "old", "old"]
    assert clock.within_max_age()
    clock.wait_past()
    clock.fetching()
    assert statuses() == ["new", "new", "old"]
    clock.fetched()
    for case, _ in changing:
        upload_object(bucket_name, keys[case], "old")
    assert statuses() == ["new", "new", "old"]
    assert clock.within_max_age()
    clock.wait_past()
    assert statuses() == ["old", "old", "old"]


def test_invalid_s3Uri():  # noqa: N802 (lambda-cache's name)
    with pytest.raises(InvalidS3UriError) as e:
        invalid_uri({}, LambdaContext())
    assert e.value.Code == "InvalidS3UriError"


def test_get_entry():
    file_location = s3.get_entry(s3Uri=uri("not_updated"), max_age_in_seconds=MAX_AGE,
                                 entry_name=False, check_before_download=True)
    assert file_location == os.path.join(s3.LINK_DIR, "key.json")
    assert status_of(file_location) == "old"
