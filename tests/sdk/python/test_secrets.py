"""Secrets Manager's AWS JSON 1.1 reads through a stock boto3 client configured by
AWS_ENDPOINT_URL_SECRETS_MANAGER: GetSecretValue and BatchGetSecretValue (by SecretIdList) from
the cache, in AWS's shapes, sharing entries with the GET endpoints."""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, error_status, x_cache


def test_get_secret_value_string_has_aws_shape_and_is_cached(sm, moto_sm, sidecache, uniq):
    name = f"sdk/{uniq}/db"
    value = json.dumps({"user": "app", "password": f"pw-{uniq}"})
    created = moto_sm.create_secret(Name=name, SecretString=value)
    truth = moto_sm.get_secret_value(SecretId=name)

    calls = sidecache.upstream_calls("secretsmanager")
    first = sm.get_secret_value(SecretId=name)
    assert x_cache(first) == "miss"
    assert first["SecretString"] == value
    assert "SecretBinary" not in first
    assert first["Name"] == name
    assert first["ARN"] == created["ARN"]
    assert first["VersionId"] == created["VersionId"]
    assert first["VersionStages"] == ["AWSCURRENT"]
    assert isinstance(first["CreatedDate"], datetime.datetime)
    assert abs((first["CreatedDate"] - truth["CreatedDate"]).total_seconds()) < 0.01
    headers = first["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-requestid"]
    assert "age" in headers

    second = sm.get_secret_value(SecretId=name)
    assert x_cache(second) == "hit"
    assert sidecache.upstream_calls("secretsmanager") == calls + 1
    strip = lambda r: {k: v for k, v in r.items() if k != "ResponseMetadata"}  # noqa: E731
    assert strip(second) == strip(first)


def test_secret_binary_round_trips_bytes(sm, moto_sm, uniq):
    name = f"sdk/{uniq}/blob"
    blob = bytes(range(256)) + uniq.encode() + b"\x00\xff"
    moto_sm.create_secret(Name=name, SecretBinary=blob)
    resp = sm.get_secret_value(SecretId=name)
    assert resp["SecretBinary"] == blob
    assert "SecretString" not in resp
    assert x_cache(sm.get_secret_value(SecretId=name)) == "hit"
    assert sm.get_secret_value(SecretId=name)["SecretBinary"] == blob


def test_version_id_and_version_stage(sm, moto_sm, uniq):
    name = f"sdk/{uniq}/rotating"
    v1 = moto_sm.create_secret(Name=name, SecretString="first")["VersionId"]
    v2 = moto_sm.put_secret_value(SecretId=name, SecretString="second")["VersionId"]

    assert sm.get_secret_value(SecretId=name)["SecretString"] == "second"
    prev = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert (prev["SecretString"], prev["VersionId"]) == ("first", v1)
    assert "AWSPREVIOUS" in prev["VersionStages"]
    by_id = sm.get_secret_value(SecretId=name, VersionId=v1)
    assert (by_id["SecretString"], by_id["VersionId"]) == ("first", v1)
    cur = sm.get_secret_value(SecretId=name, VersionId=v2, VersionStage="AWSCURRENT")
    assert (cur["SecretString"], cur["VersionId"]) == ("second", v2)
    assert x_cache(sm.get_secret_value(SecretId=name, VersionId=v1)) == "hit"


def test_by_arn(sm, moto_sm, uniq):
    name = f"sdk/{uniq}/arn"
    arn = moto_sm.create_secret(Name=name, SecretString="by-arn")["ARN"]
    resp = sm.get_secret_value(SecretId=arn)
    assert resp["SecretString"] == "by-arn"
    assert resp["ARN"] == arn and resp["Name"] == name


def test_missing_secret_raises_resource_not_found(sm, moto_sm, uniq):
    with pytest.raises(sm.exceptions.ResourceNotFoundException) as info:
        sm.get_secret_value(SecretId=f"sdk/{uniq}/absent")
    assert error_status(info.value) == 400
    assert info.value.response["ResponseMetadata"]["RequestId"]
    # An unknown version of a secret that exists: what moto (for AWS) raises.
    name = f"sdk/{uniq}/present"
    moto_sm.create_secret(Name=name, SecretString="x")
    bogus = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ClientError) as via_moto:
        moto_sm.get_secret_value(SecretId=name, VersionId=bogus)
    with pytest.raises(ClientError) as via_sidecache:
        sm.get_secret_value(SecretId=name, VersionId=bogus)
    assert error_code(via_sidecache.value) == error_code(via_moto.value)
    assert type(via_sidecache.value).__name__ == type(via_moto.value).__name__


def test_sdk_read_is_a_hit_for_the_get_endpoint_and_back(sm, moto_sm, sidecache, uniq):
    a, b = f"sdk/{uniq}/a", f"sdk/{uniq}/b"
    moto_sm.create_secret(Name=a, SecretString="secret-a")
    moto_sm.create_secret(Name=b, SecretBinary=b"\x01\x02binary")
    calls = sidecache.upstream_calls("secretsmanager")

    assert x_cache(sm.get_secret_value(SecretId=a)) == "miss"
    headers, body = sidecache.get_json("/secretsmanager/get", {"secretId": a})
    assert headers["x-cache"] == "hit"
    assert body["SecretString"] == "secret-a"

    headers, body = sidecache.get_json("/secretsmanager/get", {"secretId": b})
    assert headers["x-cache"] == "miss"
    resp = sm.get_secret_value(SecretId=b)
    assert x_cache(resp) == "hit"
    assert resp["SecretBinary"] == b"\x01\x02binary"
    assert sidecache.upstream_calls("secretsmanager") == calls + 2


def test_batch_get_secret_value_by_id_list(sm, moto_sm, sidecache, uniq):
    names = [f"sdk/{uniq}/batch-{i}" for i in range(3)]
    for i, name in enumerate(names):
        if i == 2:
            moto_sm.create_secret(Name=name, SecretBinary=b"bin\x00" + bytes([i]))
        else:
            moto_sm.create_secret(Name=name, SecretString=f"value-{i}")
    missing = f"sdk/{uniq}/batch-missing"

    resp = sm.batch_get_secret_value(SecretIdList=names + [missing])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = {v["Name"]: v for v in resp["SecretValues"]}
    assert set(got) == set(names)
    assert got[names[0]]["SecretString"] == "value-0"
    assert got[names[1]]["SecretString"] == "value-1"
    assert got[names[2]]["SecretBinary"] == b"bin\x00\x02"
    for v in resp["SecretValues"]:
        assert isinstance(v["CreatedDate"], datetime.datetime)
        assert v["VersionStages"] == ["AWSCURRENT"]
        assert v["ARN"].startswith("arn:aws:secretsmanager:")
    assert [(e["SecretId"], e["ErrorCode"]) for e in resp["Errors"]] == [
        (missing, "ResourceNotFoundException")
    ]

    calls = sidecache.upstream_calls("secretsmanager")
    again = sm.batch_get_secret_value(SecretIdList=names)
    assert x_cache(again) == "hit"
    assert {v["Name"] for v in again["SecretValues"]} == set(names)
    assert again.get("Errors", []) == []
    # Each id is cached under its single-get key.
    assert x_cache(sm.get_secret_value(SecretId=names[1])) == "hit"
    assert sidecache.upstream_calls("secretsmanager") == calls


def test_batch_get_secret_value_refuses_more_than_twenty_ids(sm, uniq):
    with pytest.raises(ClientError) as info:
        sm.batch_get_secret_value(SecretIdList=[f"sdk/{uniq}/n{i}" for i in range(21)])
    assert error_code(info.value) == "ValidationException"
    assert error_status(info.value) == 400


def test_batch_get_secret_value_with_filters_is_forwarded(sm, moto_sm, uniq):
    prefix = f"sdk/{uniq}/flt"
    for i in range(3):
        moto_sm.create_secret(Name=f"{prefix}-{i}", SecretString=f"f{i}")
    filters = [{"Key": "name", "Values": [prefix]}]
    resp = sm.batch_get_secret_value(Filters=filters)
    want = moto_sm.batch_get_secret_value(Filters=filters)
    assert sorted(v["Name"] for v in resp["SecretValues"]) == sorted(v["Name"] for v in want["SecretValues"])
    assert sorted(v["SecretString"] for v in resp["SecretValues"]) == ["f0", "f1", "f2"]
    assert x_cache(resp) is None


def test_twenty_ids_are_allowed(sm, moto_sm, uniq):
    names = [f"sdk/{uniq}/twenty-{i:02d}" for i in range(20)]
    for name in names[:5]:
        moto_sm.create_secret(Name=name, SecretString=name[-2:])
    resp = sm.batch_get_secret_value(SecretIdList=names)
    assert sorted(v["Name"] for v in resp["SecretValues"]) == names[:5]
    assert sorted(e["SecretId"] for e in resp["Errors"]) == names[5:]
    assert {e["ErrorCode"] for e in resp["Errors"]} == {"ResourceNotFoundException"}
