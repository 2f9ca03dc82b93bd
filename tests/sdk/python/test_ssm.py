"""SSM's AWS JSON 1.1 reads through a stock boto3 client configured by AWS_ENDPOINT_URL_SSM:
GetParameter, GetParameters and GetParametersByPath served from sidecache's cache, in AWS's
shapes, sharing entries with the GET endpoints."""

import datetime

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import error_code, error_status, x_cache

GET_PARAM = "/systemsmanager/parameters/get"


def test_get_parameter_has_aws_shape_and_is_cached(ssm, moto_ssm, sidecache, uniq):
    name = f"/sdk/{uniq}/plain"
    moto_ssm.put_parameter(Name=name, Value=f"value-{uniq}", Type="String")
    truth = moto_ssm.get_parameter(Name=name)["Parameter"]

    calls = sidecache.upstream_calls("ssm")
    first = ssm.get_parameter(Name=name)
    assert sidecache.upstream_calls("ssm") == calls + 1
    p = first["Parameter"]
    assert p["Name"] == name
    assert p["Value"] == f"value-{uniq}"
    assert p["Type"] == "String"
    assert p["Version"] == 1
    assert p["ARN"] == truth["ARN"]
    assert p["DataType"] == "text"
    # Epoch seconds on the wire, so botocore parses a datetime, the same instant as moto's.
    assert isinstance(p["LastModifiedDate"], datetime.datetime)
    assert abs((p["LastModifiedDate"] - truth["LastModifiedDate"]).total_seconds()) < 0.01
    # Absent fields are omitted, not null (botocore would keep a None).
    assert "Selector" not in p and "SourceResult" not in p
    assert None not in p.values()
    headers = first["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert first["ResponseMetadata"]["RequestId"]
    assert headers["x-amzn-requestid"] == first["ResponseMetadata"]["RequestId"]
    assert x_cache(first) == "miss"
    assert "age" in headers

    second = ssm.get_parameter(Name=name)
    assert x_cache(second) == "hit"
    assert second["Parameter"] == p
    assert sidecache.upstream_calls("ssm") == calls + 1
    assert second["ResponseMetadata"]["RequestId"] != first["ResponseMetadata"]["RequestId"]


def test_secure_string_with_and_without_decryption(ssm, moto_ssm, uniq):
    name = f"/sdk/{uniq}/secure"
    moto_ssm.put_parameter(Name=name, Value=f"s3cr3t-{uniq}", Type="SecureString")
    plain = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert plain["Value"] == f"s3cr3t-{uniq}"
    assert plain["Type"] == "SecureString"
    # Without decryption: what the service answers (moto's stand-in for ciphertext), a
    # different cache entry from the decrypted one.
    raw = ssm.get_parameter(Name=name, WithDecryption=False)
    assert raw["Parameter"]["Value"] == moto_ssm.get_parameter(Name=name)["Parameter"]["Value"]
    assert raw["Parameter"]["Value"] != f"s3cr3t-{uniq}"
    assert x_cache(raw) == "miss"
    assert x_cache(ssm.get_parameter(Name=name, WithDecryption=True)) == "hit"


def test_version_and_label_selectors(ssm, moto_ssm, uniq):
    name = f"/sdk/{uniq}/versions"
    moto_ssm.put_parameter(Name=name, Value="one", Type="String")
    moto_ssm.put_parameter(Name=name, Value="two", Type="String", Overwrite=True)
    moto_ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["blue"])

    latest = ssm.get_parameter(Name=name)["Parameter"]
    assert (latest["Value"], latest["Version"]) == ("two", 2)
    for selector, value, version in [(":1", "one", 1), (":2", "two", 2), (":blue", "one", 1)]:
        got = ssm.get_parameter(Name=name + selector)["Parameter"]
        want = moto_ssm.get_parameter(Name=name + selector)["Parameter"]
        assert (got["Value"], got["Version"]) == (value, version), selector
        assert got["Name"] == want["Name"] == name
        # AWS names the selector asked for (moto leaves it out).
        assert got.get("Selector") == selector
    again = ssm.get_parameter(Name=name + ":blue")
    assert x_cache(again) == "hit"
    assert again["Parameter"]["Value"] == "one"


def test_missing_version_raises_parameter_version_not_found(ssm, moto_ssm, uniq):
    name = f"/sdk/{uniq}/one-version"
    moto_ssm.put_parameter(Name=name, Value="v", Type="String")
    with pytest.raises(ssm.exceptions.ParameterVersionNotFound) as info:
        ssm.get_parameter(Name=name + ":7")
    assert error_status(info.value) == 400
    # An unknown label: the modeled exception moto (standing in for AWS) raises.
    with pytest.raises(ClientError) as via_moto:
        moto_ssm.get_parameter(Name=name + ":nolabel")
    with pytest.raises(ClientError) as via_sidecache:
        ssm.get_parameter(Name=name + ":nolabel")
    assert error_code(via_sidecache.value) == error_code(via_moto.value)
    assert type(via_sidecache.value).__name__ == type(via_moto.value).__name__


def test_missing_parameter_raises_parameter_not_found(ssm, uniq):
    with pytest.raises(ssm.exceptions.ParameterNotFound) as info:
        ssm.get_parameter(Name=f"/sdk/{uniq}/absent")
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["ResponseMetadata"]["RequestId"]
    assert err["Error"]["Message"]


def test_sdk_read_is_a_hit_for_the_get_endpoint_and_back(ssm, moto_ssm, sidecache, uniq):
    a, b = f"/sdk/{uniq}/a", f"/sdk/{uniq}/b"
    moto_ssm.put_parameter(Name=a, Value="va", Type="String")
    moto_ssm.put_parameter(Name=b, Value="vb", Type="SecureString")

    calls = sidecache.upstream_calls("ssm")
    assert x_cache(ssm.get_parameter(Name=a)) == "miss"
    headers, body = sidecache.get_json(GET_PARAM, {"name": a})
    assert headers["x-cache"] == "hit"
    assert body["Parameter"]["Value"] == "va"

    headers, body = sidecache.get_json(GET_PARAM, {"name": b, "withDecryption": "true"})
    assert headers["x-cache"] == "miss"
    resp = ssm.get_parameter(Name=b, WithDecryption=True)
    assert x_cache(resp) == "hit"
    assert resp["Parameter"]["Value"] == "vb"
    assert isinstance(resp["Parameter"]["LastModifiedDate"], datetime.datetime)
    assert sidecache.upstream_calls("ssm") == calls + 2


def test_get_parameters_lists_misses_in_invalid_parameters(ssm, moto_ssm, sidecache, uniq):
    names = [f"/sdk/{uniq}/p{i}" for i in range(3)]
    for i, name in enumerate(names):
        moto_ssm.put_parameter(Name=name, Value=f"v{i}", Type="SecureString" if i == 2 else "String")
    missing = [f"/sdk/{uniq}/missing-{i}" for i in range(2)]

    resp = ssm.get_parameters(Names=names + missing, WithDecryption=True)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = {p["Name"]: p["Value"] for p in resp["Parameters"]}
    assert got == {names[0]: "v0", names[1]: "v1", names[2]: "v2"}
    assert sorted(resp["InvalidParameters"]) == sorted(missing)
    for p in resp["Parameters"]:
        assert isinstance(p["LastModifiedDate"], datetime.datetime)

    calls = sidecache.upstream_calls("ssm")
    again = ssm.get_parameters(Names=names, WithDecryption=True)
    assert x_cache(again) == "hit"
    assert {p["Name"]: p["Value"] for p in again["Parameters"]} == got
    assert again["InvalidParameters"] == []
    assert sidecache.upstream_calls("ssm") == calls
    # Each name is cached on its own: a single read of one of them is a hit too.
    assert x_cache(ssm.get_parameter(Name=names[1], WithDecryption=True)) == "hit"


def test_get_parameters_refuses_more_than_ten_names(ssm, uniq):
    with pytest.raises(ClientError) as info:
        ssm.get_parameters(Names=[f"/sdk/{uniq}/n{i}" for i in range(11)])
    assert error_code(info.value) == "ValidationException"
    assert error_status(info.value) == 400


def _seed_tree(moto_ssm, root):
    names = []
    for i in range(7):
        names.append(f"{root}/k{i:02d}")
    for i in range(6):
        names.append(f"{root}/sub/s{i:02d}")
    names.append(f"{root}/sub/deeper/z")
    for name in names:
        kind = "SecureString" if name.endswith("3") else "String"
        moto_ssm.put_parameter(Name=name, Value=f"val:{name}", Type=kind)
    return names


def test_get_parameters_by_path_paginator_returns_each_once(ssm, moto_ssm, sidecache, uniq):
    root = f"/sdk/{uniq}/tree"
    names = _seed_tree(moto_ssm, root)
    paginator = ssm.get_paginator("get_parameters_by_path")

    for recursive, want in [
        (False, [n for n in names if n.count("/") == root.count("/") + 1]),
        (True, names),
    ]:
        for page_size in (1, 3, 10):
            pages = list(paginator.paginate(
                Path=root, Recursive=recursive, WithDecryption=True,
                PaginationConfig={"PageSize": page_size},
            ))
            got = [p["Name"] for page in pages for p in page["Parameters"]]
            assert sorted(got) == sorted(want), (recursive, page_size)
            assert len(got) == len(set(got)), "a parameter came twice"
            assert got == sorted(got), "pages are in name order"
            assert all(len(page["Parameters"]) <= page_size for page in pages)
            assert len(pages) >= -(-len(want) // page_size)
            values = {p["Name"]: p["Value"] for page in pages for p in page["Parameters"]}
            assert all(values[n] == f"val:{n}" for n in got)

    # The whole tree is cached: paging it again calls nobody.
    calls = sidecache.upstream_calls("ssm")
    pages = list(paginator.paginate(Path=root, Recursive=True, WithDecryption=True,
                                    PaginationConfig={"PageSize": 4}))
    assert sidecache.upstream_calls("ssm") == calls
    assert all(x_cache(page) == "hit" for page in pages)
    assert sum(len(page["Parameters"]) for page in pages) == len(names)


def test_get_parameters_by_path_decryption(ssm, moto_ssm, uniq):
    root = f"/sdk/{uniq}/enc"
    moto_ssm.put_parameter(Name=f"{root}/plain", Value="p", Type="String")
    moto_ssm.put_parameter(Name=f"{root}/secure", Value="hidden", Type="SecureString")
    clear = {p["Name"]: p for p in ssm.get_parameters_by_path(Path=root, WithDecryption=True)["Parameters"]}
    assert clear[f"{root}/secure"]["Value"] == "hidden"
    assert clear[f"{root}/secure"]["Type"] == "SecureString"
    assert isinstance(clear[f"{root}/plain"]["LastModifiedDate"], datetime.datetime)
    raw = {p["Name"]: p for p in ssm.get_parameters_by_path(Path=root, WithDecryption=False)["Parameters"]}
    want = {p["Name"]: p["Value"] for p in moto_ssm.get_parameters_by_path(Path=root)["Parameters"]}
    assert raw[f"{root}/secure"]["Value"] == want[f"{root}/secure"] != "hidden"
    assert raw[f"{root}/plain"]["Value"] == "p"


def test_get_parameters_by_path_max_results_bounds(sdk, moto_ssm, uniq):
    root = f"/sdk/{uniq}/bounds"
    moto_ssm.put_parameter(Name=f"{root}/a", Value="a", Type="String")
    # No client-side validation: the server must refuse what AWS refuses.
    ssm = sdk.client("ssm", config=Config(parameter_validation=False))
    for bad in (0, 11):
        with pytest.raises(ClientError) as info:
            ssm.get_parameters_by_path(Path=root, MaxResults=bad)
        assert error_code(info.value) == "ValidationException", bad
    assert [p["Name"] for p in ssm.get_parameters_by_path(Path=root, MaxResults=10)["Parameters"]] == [f"{root}/a"]


def test_get_parameters_by_path_with_filters_is_forwarded(ssm, moto_ssm, uniq):
    root = f"/sdk/{uniq}/filtered"
    moto_ssm.put_parameter(Name=f"{root}/s", Value="s", Type="String")
    moto_ssm.put_parameter(Name=f"{root}/x", Value="x", Type="SecureString")
    moto_ssm.put_parameter(Name=f"{root}/y", Value="y", Type="SecureString")
    # Cache the unfiltered tree first, so a filter ignored by the cache would show.
    assert len(ssm.get_parameters_by_path(Path=root)["Parameters"]) == 3
    filters = [{"Key": "Type", "Option": "Equals", "Values": ["SecureString"]}]
    resp = ssm.get_parameters_by_path(Path=root, ParameterFilters=filters, WithDecryption=True)
    want = moto_ssm.get_parameters_by_path(Path=root, ParameterFilters=filters, WithDecryption=True)
    assert sorted(p["Name"] for p in resp["Parameters"]) == [f"{root}/x", f"{root}/y"]
    assert sorted(p["Value"] for p in resp["Parameters"]) == ["x", "y"]
    assert len(resp["Parameters"]) == len(want["Parameters"])
    assert x_cache(resp) is None


def test_parameter_name_as_arn(ssm, moto_ssm, uniq):
    name = f"/sdk/{uniq}/by-arn"
    moto_ssm.put_parameter(Name=name, Value="arn-value", Type="String")
    arn = moto_ssm.get_parameter(Name=name)["Parameter"]["ARN"]
    got = ssm.get_parameter(Name=arn)["Parameter"]
    assert got["Value"] == "arn-value"
    assert got["ARN"] == arn


def test_paging_stays_exact_when_the_tree_changes_between_pages(ssm, moto_ssm, uniq):
    root = f"/sdk/{uniq}/moving"
    names = [f"{root}/n{i:02d}" for i in range(9)]
    for name in names:
        moto_ssm.put_parameter(Name=name, Value=name, Type="String")
    first = ssm.get_parameters_by_path(Path=root, MaxResults=4)
    seen = [p["Name"] for p in first["Parameters"]]
    token = first["NextToken"]
    # A write through sidecache drops the cached tree while a client is paging it.
    ssm.put_parameter(Name=f"{root}/n00a", Value="before the page boundary", Type="String")
    ssm.put_parameter(Name=f"{root}/n99", Value="after it", Type="String")
    while token:
        page = ssm.get_parameters_by_path(Path=root, MaxResults=4, NextToken=token)
        seen += [p["Name"] for p in page["Parameters"]]
        token = page.get("NextToken")
    assert len(seen) == len(set(seen)), "a parameter came twice"
    assert set(names) <= set(seen), "a parameter present all along was skipped"
    assert f"{root}/n99" in seen


def test_limits_are_inclusive_and_bad_tokens_refused(ssm, moto_ssm, uniq):
    names = [f"/sdk/{uniq}/lim{i:02d}" for i in range(10)]
    for name in names:
        moto_ssm.put_parameter(Name=name, Value=name[-5:], Type="String")
    resp = ssm.get_parameters(Names=names)
    assert sorted(p["Name"] for p in resp["Parameters"]) == names
    page = ssm.get_parameters_by_path(Path=f"/sdk/{uniq}", MaxResults=10)
    assert len(page["Parameters"]) == 10
    assert "NextToken" not in page
    with pytest.raises(ssm.exceptions.InvalidNextToken):
        ssm.get_parameters_by_path(Path=f"/sdk/{uniq}", NextToken="not-a-token-sidecache-gave")
