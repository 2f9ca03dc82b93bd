"""S3 GetObject and HeadObject through a stock boto3 S3 client whose endpoint_url is sidecache
(path style), answered from the S3 file cache that /s3/get fills; other S3 operations are
refused with 501 NotImplemented and never reach the bucket."""

import datetime
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from conftest import RUN, error_code, error_status, x_cache


@pytest.fixture(scope="module")
def bucket(moto_s3):
    name = f"sdk-{RUN}"
    moto_s3.create_bucket(Bucket=name)
    return name


def test_get_object_bytes_and_metadata(s3, moto_s3, bucket, sidecache, uniq):
    key = f"{uniq}/config.json"
    body = b'{"hello": "' + uniq.encode() + b'"}'
    moto_s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-sdk-test")
    truth = moto_s3.head_object(Bucket=bucket, Key=key)

    calls = sidecache.upstream_calls("s3")
    resp = s3.get_object(Bucket=bucket, Key=key)
    assert resp["Body"].read() == body
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ETag"] == truth["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert resp["ContentLength"] == len(body)
    assert resp["ContentType"] == "application/x-sdk-test"
    assert resp["LastModified"] == truth["LastModified"]
    assert x_cache(resp) == "miss"
    grown = sidecache.upstream_calls("s3")
    assert grown > calls

    again = s3.get_object(Bucket=bucket, Key=key)
    assert again["Body"].read() == body
    assert x_cache(again) == "hit"
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == truth["ETag"]
    assert head["ContentType"] == "application/x-sdk-test"
    assert head["LastModified"] == truth["LastModified"]
    assert x_cache(head) == "hit"
    assert sidecache.upstream_calls("s3") == grown


def test_shares_the_cache_with_the_s3_get_endpoint(s3, moto_s3, bucket, sidecache, uniq):
    first, second = f"{uniq}/one.txt", f"{uniq}/two.txt"
    moto_s3.put_object(Bucket=bucket, Key=first, Body=b"one")
    moto_s3.put_object(Bucket=bucket, Key=second, Body=b"two")

    assert x_cache(s3.get_object(Bucket=bucket, Key=first)) == "miss"
    headers, meta = sidecache.get_json("/s3/get", {"bucket": bucket, "key": first})
    assert headers["x-cache"] == "hit"
    assert meta["size"] == 3
    with open(meta["path"], "rb") as f:
        assert f.read() == b"one"

    headers, _ = sidecache.get_json("/s3/get", {"bucket": bucket, "key": second})
    assert headers["x-cache"] == "miss"
    calls = sidecache.upstream_calls("s3")
    resp = s3.get_object(Bucket=bucket, Key=second)
    assert x_cache(resp) == "hit"
    assert resp["Body"].read() == b"two"
    assert sidecache.upstream_calls("s3") == calls


def test_version_id_reads_an_old_version(s3, moto_s3, uniq):
    versioned = f"sdk-{RUN}-versioned"
    moto_s3.create_bucket(Bucket=versioned)
    moto_s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    key = f"{uniq}/v.txt"
    v1 = moto_s3.put_object(Bucket=versioned, Key=key, Body=b"version one")["VersionId"]
    v2 = moto_s3.put_object(Bucket=versioned, Key=key, Body=b"version two!")["VersionId"]
    assert v1 != v2

    old = s3.get_object(Bucket=versioned, Key=key, VersionId=v1)
    assert old["Body"].read() == b"version one"
    assert old["VersionId"] == v1
    assert old["ContentLength"] == len(b"version one")
    new = s3.get_object(Bucket=versioned, Key=key)
    assert new["Body"].read() == b"version two!"
    assert s3.head_object(Bucket=versioned, Key=key, VersionId=v1)["ContentLength"] == len(b"version one")
    assert s3.get_object(Bucket=versioned, Key=key, VersionId=v2)["Body"].read() == b"version two!"


@pytest.mark.parametrize("range_,start,end", [
    ("bytes=2-5", 2, 5),
    ("bytes=-3", 17, 19),
    ("bytes=10-", 10, 19),
    ("bytes=0-0", 0, 0),
    ("bytes=15-1000", 15, 19),
])
def test_range_gives_206_and_those_bytes(s3, moto_s3, bucket, uniq, range_, start, end):
    key = f"{uniq}/range.bin"
    data = b"0123456789abcdefghij"
    moto_s3.put_object(Bucket=bucket, Key=key, Body=data)
    resp = s3.get_object(Bucket=bucket, Key=key, Range=range_)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert resp["Body"].read() == data[start:end + 1]
    assert resp["ContentLength"] == end - start + 1
    assert resp["ContentRange"] == f"bytes {start}-{end}/{len(data)}"


def test_unsatisfiable_range_is_invalid_range(s3, moto_s3, bucket, uniq):
    key = f"{uniq}/short.bin"
    moto_s3.put_object(Bucket=bucket, Key=key, Body=b"short")
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key=key, Range="bytes=100-200")
    assert error_code(info.value) == "InvalidRange"
    assert error_status(info.value) == 416
    # The object is still there, whole.
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"short"


def test_if_none_match(s3, moto_s3, bucket, uniq):
    key = f"{uniq}/etagged.txt"
    etag = moto_s3.put_object(Bucket=bucket, Key=key, Body=b"tagged")["ETag"]
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key=key, IfNoneMatch=etag)
    assert error_status(info.value) == 304
    # Another ETag: the object.
    resp = s3.get_object(Bucket=bucket, Key=key, IfNoneMatch='"0123456789abcdef0123456789abcdef"')
    assert resp["Body"].read() == b"tagged"
    assert resp["ETag"] == etag


def test_missing_key_and_bucket(s3, moto_s3, bucket, uniq):
    with pytest.raises(s3.exceptions.NoSuchKey) as info:
        s3.get_object(Bucket=bucket, Key=f"{uniq}/absent")
    assert error_status(info.value) == 404
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key=f"{uniq}/absent")
    assert error_status(info.value) == 404
    assert error_code(info.value) == "404"
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=f"sdk-{RUN}-no-such-bucket", Key="k")
    assert error_status(info.value) == 404
    assert error_code(info.value) == "NoSuchBucket"


def test_other_operations_are_not_implemented_and_change_nothing(s3, moto_s3, bucket, uniq):
    key = f"{uniq}/existing.txt"
    moto_s3.put_object(Bucket=bucket, Key=key, Body=b"original")

    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key=f"{uniq}/written.txt", Body=b"should not land")
    assert (error_code(info.value), error_status(info.value)) == ("NotImplemented", 501)
    assert info.value.response["Error"]["Message"]
    with pytest.raises(moto_s3.exceptions.ClientError) as absent:
        moto_s3.head_object(Bucket=bucket, Key=f"{uniq}/written.txt")
    assert error_status(absent.value) == 404

    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key=key, Body=b"overwritten")
    assert (error_code(info.value), error_status(info.value)) == ("NotImplemented", 501)

    with pytest.raises(ClientError) as info:
        s3.delete_object(Bucket=bucket, Key=key)
    assert (error_code(info.value), error_status(info.value)) == ("NotImplemented", 501)

    with pytest.raises(ClientError) as info:
        s3.list_objects_v2(Bucket=bucket, Prefix=uniq)
    assert (error_code(info.value), error_status(info.value)) == ("NotImplemented", 501)

    with pytest.raises(ClientError) as info:
        s3.list_buckets()
    assert (error_code(info.value), error_status(info.value)) == ("NotImplemented", 501)

    assert moto_s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"original"


@pytest.mark.parametrize("key", [
    "with space/file name.txt",
    "plus+sign/a+b=c.txt",
    "unicode/ü ñ 日本語/ファイル.txt",
    "nested/a/b/c/d/e/f.json",
    "chars/~tilde!*'()&$,;@:.txt",
    "percent/100%25 sure.txt",
    "double//slash.txt",
    "dot/./x.txt",
    "dot/../y.txt",
    "trailing/",
    "/leading.txt",
    "query?x=1&y=2.txt",
    "hash#frag.txt",
    "two  spaces.txt",
    "emoji 😀.txt",
    "back\\slash;semi",
    "long/" + "k" * 900,
])
def test_awkward_keys(s3, moto_s3, bucket, sidecache, uniq, key):
    full = f"{uniq}/{key}"
    body = f"content of {full}".encode()
    moto_s3.put_object(Bucket=bucket, Key=full, Body=body)
    resp = s3.get_object(Bucket=bucket, Key=full)
    assert resp["Body"].read() == body
    assert x_cache(resp) == "miss"
    # The same entry the GET endpoint names with the same key.
    headers, meta = sidecache.get_json("/s3/get", {"bucket": bucket, "key": full})
    assert headers["x-cache"] == "hit"
    assert meta["key"] == full


def test_a_larger_object_streams_whole(s3, moto_s3, bucket, uniq):
    key = f"{uniq}/large.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)
    moto_s3.put_object(Bucket=bucket, Key=key, Body=data)
    for _ in range(2):
        resp = s3.get_object(Bucket=bucket, Key=key)
        assert resp["ContentLength"] == len(data)
        assert hashlib.sha256(resp["Body"].read()).digest() == hashlib.sha256(data).digest()
    part = s3.get_object(Bucket=bucket, Key=key, Range="bytes=1048570-1048585")
    assert part["Body"].read() == data[1048570:1048586]


@pytest.mark.parametrize("bucket_name,key", [
    ("ping", "x"),
    ("secretsmanager", "get"),
    ("systemsmanager", "parameters/get"),
    ("stats", "x"),
])
def test_buckets_named_like_endpoints_are_s3(s3, moto_s3, bucket_name, key):
    try:
        moto_s3.create_bucket(Bucket=bucket_name)
    except moto_s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    body = f"s3 object {bucket_name}/{key} {RUN}".encode()
    moto_s3.put_object(Bucket=bucket_name, Key=key, Body=body, ContentType="text/x-s3")
    resp = s3.get_object(Bucket=bucket_name, Key=key)
    assert resp["Body"].read() == body
    assert resp["ContentType"] == "text/x-s3"
    head = s3.head_object(Bucket=bucket_name, Key=key)
    assert head["ContentLength"] == len(body)
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket_name, Key=f"{key}-absent-{RUN}")


def test_missing_version_and_multi_range(s3, moto_s3, bucket, uniq):
    key = f"{uniq}/plain.txt"
    moto_s3.put_object(Bucket=bucket, Key=key, Body=b"0123456789")
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key=key, VersionId="no-such-version")
    with pytest.raises(ClientError) as via_moto:
        moto_s3.get_object(Bucket=bucket, Key=key, VersionId="no-such-version")
    assert (error_code(info.value), error_status(info.value)) == (
        error_code(via_moto.value), error_status(via_moto.value))
    # S3 ignores a multi-range or malformed Range: the whole object, 200.
    for range_ in ("bytes=0-1,3-4", "bytes=abc", "bytes=5-2"):
        resp = s3.get_object(Bucket=bucket, Key=key, Range=range_)
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200, range_
        assert resp["Body"].read() == b"0123456789"
    head = s3.head_object(Bucket=bucket, Key=key, Range="bytes=2-3")
    assert (head["ResponseMetadata"]["HTTPStatusCode"], head["ContentLength"]) == (206, 2)
    etag = moto_s3.head_object(Bucket=bucket, Key=key)["ETag"]
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key=key, IfNoneMatch=etag)
    assert error_status(info.value) == 304


def test_options_it_cannot_honour_are_refused_not_ignored(s3, moto_s3, bucket, uniq):
    key = f"{uniq}/opts.txt"
    moto_s3.put_object(Bucket=bucket, Key=key, Body=b"opts")
    for kwargs in ({"ResponseContentType": "text/x-other"}, {"PartNumber": 1}):
        with pytest.raises(ClientError) as info:
            s3.get_object(Bucket=bucket, Key=key, **kwargs)
        assert (error_code(info.value), error_status(info.value)) == ("NotImplemented", 501), kwargs


@pytest.mark.parametrize("condition,statuses", [
    ({"IfMatch": '"0123456789abcdef0123456789abcdef"'}, (412, 501)),
    ({"IfUnmodifiedSince": datetime.datetime(2000, 1, 1)}, (412, 501)),
    ({"IfModifiedSince": datetime.datetime(2100, 1, 1)}, (304, 501)),
])
def test_other_conditional_headers_are_honoured(s3, moto_s3, bucket, uniq, condition, statuses):
    key = f"{uniq}/conditional.txt"
    moto_s3.put_object(Bucket=bucket, Key=key, Body=b"conditional")
    with pytest.raises(ClientError) as via_moto:
        moto_s3.get_object(Bucket=bucket, Key=key, **condition)
    assert error_status(via_moto.value) == statuses[0]
    try:
        resp = s3.get_object(Bucket=bucket, Key=key, **condition)
        status = resp["ResponseMetadata"]["HTTPStatusCode"]
    except ClientError as error:
        status = error_status(error)
    assert status in statuses


def test_object_metadata_and_headers_are_returned(s3, moto_s3, bucket, uniq):
    key = f"{uniq}/meta.txt"
    moto_s3.put_object(Bucket=bucket, Key=key, Body=b"meta", Metadata={"owner": "team-a"},
                       CacheControl="max-age=60", ContentDisposition="attachment; filename=m.txt",
                       ContentEncoding="identity")
    for resp in (s3.get_object(Bucket=bucket, Key=key), s3.head_object(Bucket=bucket, Key=key)):
        assert resp["Metadata"] == {"owner": "team-a"}
        assert resp["CacheControl"] == "max-age=60"
        assert resp["ContentDisposition"] == "attachment; filename=m.txt"
        assert resp["ContentEncoding"] == "identity"
