"""The cache behind the SDK APIs is the GET endpoints' cache: TTL expiry, stale-if-error when the
upstream fails, single-flight under concurrent SDK reads, per-region entries."""

import threading

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import RUN, Moto, REGION, error_status, s3_client, sdk_session, wait_until, x_cache

SHORT_TTL = {"SSM_PARAMETER_STORE_TTL": "1", "SECRETS_MANAGER_TTL": "1", "SIDECACHE_S3_TTL": "1"}
NO_RETRY = Config(retries={"total_max_attempts": 1})


@pytest.fixture
def own_moto(tmp_path):
    """A moto of this test's own, which it may stop."""
    server = Moto(tmp_path)
    yield server
    server.stop()


def test_expiry_refreshes_and_a_failing_upstream_serves_stale(own_moto, start_sidecache, monkeypatch, uniq):
    name, secret, bucket = f"/sdk/{uniq}/ttl", f"sdk/{uniq}/ttl", f"sdk-{RUN}-ttl"
    m_ssm, m_sm, m_s3 = own_moto.client("ssm"), own_moto.client("secretsmanager"), own_moto.client("s3")
    m_ssm.put_parameter(Name=name, Value="first", Type="String")
    m_sm.create_secret(Name=secret, SecretString="first secret")
    m_s3.create_bucket(Bucket=bucket)
    m_s3.put_object(Bucket=bucket, Key="k", Body=b"first object")
    sc = start_sidecache(dict(SHORT_TTL, SIDECACHE_STALE_IF_ERROR="3600"), moto_url=own_moto.url)
    sdk = sdk_session(monkeypatch, sc)
    ssm = sdk.client("ssm", config=NO_RETRY)
    sm = sdk.client("secretsmanager", config=NO_RETRY)
    s3 = s3_client(sc, config=NO_RETRY)

    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "first"
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "first secret"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"first object"

    # Changed behind sidecache's back: seen once the TTL has run out.
    m_ssm.put_parameter(Name=name, Value="second", Type="String", Overwrite=True)
    resp = wait_until(lambda: (lambda r: r if r["Parameter"]["Value"] == "second" else None)(
        ssm.get_parameter(Name=name)), 10, "the parameter's TTL to run out")
    assert x_cache(resp) in ("miss", "refresh")

    own_moto.stop()
    # Expired and the upstream gone: the last value, marked stale (a 200, no exception).
    resp = wait_until(lambda: (lambda r: r if x_cache(r) == "stale" else None)(ssm.get_parameter(Name=name)),
                      10, "a stale parameter")
    assert resp["Parameter"]["Value"] == "second"
    resp = wait_until(lambda: (lambda r: r if x_cache(r) == "stale" else None)(
        sm.get_secret_value(SecretId=secret)), 10, "a stale secret")
    assert resp["SecretString"] == "first secret"
    resp = wait_until(lambda: (lambda r: r if x_cache(r) == "stale" else None)(
        s3.get_object(Bucket=bucket, Key="k")), 10, "a stale object")
    assert resp["Body"].read() == b"first object"

    # Nothing cached and the upstream gone: a server error the SDK raises at once.
    # (The codes are the services' modeled server errors.)
    with pytest.raises(ssm.exceptions.InternalServerError) as info:
        ssm.get_parameter(Name=f"/sdk/{uniq}/never-cached")
    assert 500 <= error_status(info.value) <= 599
    with pytest.raises(sm.exceptions.InternalServiceError) as info:
        sm.get_secret_value(SecretId=f"sdk/{uniq}/never-cached")
    assert 500 <= error_status(info.value) <= 599
    # A forwarded operation too.
    with pytest.raises(ClientError) as info:
        ssm.put_parameter(Name=name, Value="x", Type="String", Overwrite=True)
    assert 500 <= error_status(info.value) <= 599
    assert sc.alive()


def test_concurrent_sdk_misses_make_one_upstream_call(sidecache, monkeypatch, moto_ssm, moto_sm, uniq):
    name, secret = f"/sdk/{uniq}/together", f"sdk/{uniq}/together"
    moto_ssm.put_parameter(Name=name, Value="together", Type="String")
    moto_sm.create_secret(Name=secret, SecretString="together secret")
    sdk = sdk_session(monkeypatch, sidecache)
    n = 12
    ssm_clients = [sdk.client("ssm") for _ in range(n)]
    sm_clients = [sdk.client("secretsmanager") for _ in range(n)]
    for kind, clients, read, want in [
        ("ssm", ssm_clients, lambda c: c.get_parameter(Name=name)["Parameter"]["Value"], "together"),
        ("secretsmanager", sm_clients, lambda c: c.get_secret_value(SecretId=secret)["SecretString"],
         "together secret"),
    ]:
        before = sidecache.upstream_calls(kind)
        barrier = threading.Barrier(n)
        results, errors = [], []

        def run(client):
            try:
                barrier.wait(10)
                results.append(read(client))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=run, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert results == [want] * n
        assert sidecache.upstream_calls(kind) == before + 1, kind


def test_each_signed_region_reads_its_own_region(sidecache, monkeypatch, moto, uniq):
    name = f"/sdk/{uniq}/regional"
    east, west = moto.client("ssm"), boto3.session.Session().client(
        "ssm", endpoint_url=moto.url, region_name="us-west-2")
    east.put_parameter(Name=name, Value="east", Type="String")
    west.put_parameter(Name=name, Value="west", Type="String")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", sidecache.url)
    ssm_west = boto3.session.Session(region_name="us-west-2").client("ssm")
    ssm_east = boto3.session.Session(region_name=REGION).client("ssm")

    got = ssm_west.get_parameter(Name=name)["Parameter"]
    assert got["Value"] == "west"
    assert ":us-west-2:" in got["ARN"]
    assert ssm_east.get_parameter(Name=name)["Parameter"]["Value"] == "east"
    # The GET endpoint's region= names the same entry.
    headers, body = sidecache.get_json("/systemsmanager/parameters/get", {"name": name, "region": "us-west-2"})
    assert body["Parameter"]["Value"] == "west"
    assert headers["x-cache"] == "hit"
    # A write in one region invalidates that region's entry.
    ssm_west.put_parameter(Name=name, Value="west 2", Type="String", Overwrite=True)
    assert ssm_west.get_parameter(Name=name)["Parameter"]["Value"] == "west 2"
    assert west.get_parameter(Name=name)["Parameter"]["Value"] == "west 2"
    assert east.get_parameter(Name=name)["Parameter"]["Value"] == "east"
    assert ssm_east.get_parameter(Name=name)["Parameter"]["Value"] == "east"


def test_values_with_awkward_characters_round_trip(ssm, sm, moto_ssm, moto_sm, uniq):
    value = 'héllo ☃ 日本 "quoted" \\ back\nnew line\ttab \u0001 </script> {"json": [1]}'
    moto_ssm.put_parameter(Name=f"/sdk/{uniq}/odd", Value=value, Type="String")
    moto_ssm.put_parameter(Name=f"/sdk/{uniq}/list", Value="a,b,c", Type="StringList")
    moto_sm.create_secret(Name=f"sdk/{uniq}/odd", SecretString=value)
    for _ in range(2):
        assert ssm.get_parameter(Name=f"/sdk/{uniq}/odd")["Parameter"]["Value"] == value
        assert sm.get_secret_value(SecretId=f"sdk/{uniq}/odd")["SecretString"] == value
    lst = ssm.get_parameter(Name=f"/sdk/{uniq}/list")["Parameter"]
    assert (lst["Type"], lst["Value"]) == ("StringList", "a,b,c")
    big = "x" * 65536
    moto_sm.create_secret(Name=f"sdk/{uniq}/big", SecretString=big)
    assert sm.get_secret_value(SecretId=f"sdk/{uniq}/big")["SecretString"] == big
    moto_sm.create_secret(Name=f"sdk/{uniq}/bigbin", SecretBinary=bytes(range(256)) * 256)
    assert sm.get_secret_value(SecretId=f"sdk/{uniq}/bigbin")["SecretBinary"] == bytes(range(256)) * 256


def test_secrets_manager_reference_through_get_parameter(ssm, moto_ssm, moto_sm, uniq):
    secret = f"sdk/{uniq}/referenced"
    moto_sm.create_secret(Name=secret, SecretString="via reference")
    name = f"/aws/reference/secretsmanager/{secret}"
    got = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    want = moto_ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert got["Value"] == want["Value"] == "via reference"
    assert got["Type"] == want["Type"]
    with pytest.raises(ClientError) as info:
        ssm.get_parameter(Name=name, WithDecryption=False)
    assert info.value.response["Error"]["Code"] == "ValidationException"
