"""Every other SSM and Secrets Manager operation is forwarded to the upstream (moto), signed again
with sidecache's credentials, the answer relayed as it is; a successful write invalidates what
it touched, so a read after a write sees the write."""

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, x_cache


def test_put_parameter_is_forwarded_and_errors_relayed(ssm, moto_ssm, uniq):
    name = f"/sdk/{uniq}/new"
    resp = ssm.put_parameter(Name=name, Value="created", Type="String")
    assert resp["Version"] == 1
    assert x_cache(resp) is None
    assert resp["ResponseMetadata"]["RequestId"]
    assert moto_ssm.get_parameter(Name=name)["Parameter"]["Value"] == "created"
    # moto's own error, relayed: the modeled exception.
    with pytest.raises(ssm.exceptions.ParameterAlreadyExists):
        ssm.put_parameter(Name=name, Value="again", Type="String")
    assert moto_ssm.get_parameter(Name=name)["Parameter"]["Value"] == "created"


def test_put_parameter_read_your_writes(ssm, moto_ssm, sidecache, uniq):
    name = f"/sdk/{uniq}/ryw"
    moto_ssm.put_parameter(Name=name, Value="before", Type="String")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "before"
    assert x_cache(ssm.get_parameter(Name=name)) == "hit"
    # The GET endpoint's entry is the same one; a decrypted read is another entry of the name.
    _, body = sidecache.get_json("/systemsmanager/parameters/get", {"name": name, "withDecryption": "true"})
    assert body["Parameter"]["Value"] == "before"

    put = ssm.put_parameter(Name=name, Value="after", Type="String", Overwrite=True)
    assert put["Version"] == 2
    got = ssm.get_parameter(Name=name)
    assert (got["Parameter"]["Value"], got["Parameter"]["Version"]) == ("after", 2)
    assert x_cache(got) == "miss"
    _, body = sidecache.get_json("/systemsmanager/parameters/get", {"name": name, "withDecryption": "true"})
    assert body["Parameter"]["Value"] == "after"
    assert ssm.get_parameters(Names=[name])["Parameters"][0]["Value"] == "after"


def test_delete_parameter_then_read_is_not_found(ssm, moto_ssm, uniq):
    name = f"/sdk/{uniq}/doomed"
    moto_ssm.put_parameter(Name=name, Value="here", Type="String")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "here"
    ssm.delete_parameter(Name=name)
    with pytest.raises(moto_ssm.exceptions.ParameterNotFound):
        moto_ssm.get_parameter(Name=name)
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=name)
    # And deleting it again: moto's ParameterNotFound, relayed.
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.delete_parameter(Name=name)


def test_write_under_a_cached_tree_shows_in_by_path(ssm, moto_ssm, uniq):
    root = f"/sdk/{uniq}/tree"
    moto_ssm.put_parameter(Name=f"{root}/a", Value="a", Type="String")
    moto_ssm.put_parameter(Name=f"{root}/deep/b", Value="b", Type="String")
    names = lambda: sorted(  # noqa: E731
        p["Name"] for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=root, Recursive=True)
        for p in page["Parameters"]
    )
    assert names() == [f"{root}/a", f"{root}/deep/b"]
    assert x_cache(ssm.get_parameters_by_path(Path=root, Recursive=True)) == "hit"

    ssm.put_parameter(Name=f"{root}/deep/c", Value="c", Type="String")
    assert names() == [f"{root}/a", f"{root}/deep/b", f"{root}/deep/c"]
    ssm.put_parameter(Name=f"{root}/a", Value="a2", Type="String", Overwrite=True)
    values = {p["Name"]: p["Value"] for p in ssm.get_parameters_by_path(Path=root, Recursive=True)["Parameters"]}
    assert values[f"{root}/a"] == "a2"
    ssm.delete_parameter(Name=f"{root}/deep/b")
    assert names() == [f"{root}/a", f"{root}/deep/c"]


def test_label_parameter_version_moves_a_cached_label(ssm, moto_ssm, uniq):
    name = f"/sdk/{uniq}/labelled"
    moto_ssm.put_parameter(Name=name, Value="v1", Type="String")
    moto_ssm.put_parameter(Name=name, Value="v2", Type="String", Overwrite=True)
    resp = ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["live"])
    assert resp["InvalidLabels"] == []
    assert ssm.get_parameter(Name=f"{name}:live")["Parameter"]["Value"] == "v1"
    assert x_cache(ssm.get_parameter(Name=f"{name}:live")) == "hit"
    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["live"])
    assert ssm.get_parameter(Name=f"{name}:live")["Parameter"]["Value"] == "v2"


def test_describe_parameters_is_forwarded(ssm, moto_ssm, uniq):
    root = f"/sdk/{uniq}/described"
    for leaf in ("x", "y"):
        moto_ssm.put_parameter(Name=f"{root}/{leaf}", Value=leaf, Type="String", Description=f"about {leaf}")
    filters = [{"Key": "Name", "Option": "BeginsWith", "Values": [root]}]
    resp = ssm.describe_parameters(ParameterFilters=filters)
    assert sorted((p["Name"], p["Description"]) for p in resp["Parameters"]) == [
        (f"{root}/x", "about x"), (f"{root}/y", "about y")
    ]
    assert x_cache(resp) is None


def test_secret_writes_through_sidecache_are_read_back(sm, moto_sm, uniq):
    name = f"sdk/{uniq}/lifecycle"
    created = sm.create_secret(Name=name, SecretString="v1", Description="made via sidecache")
    assert created["Name"] == name
    assert moto_sm.get_secret_value(SecretId=name)["SecretString"] == "v1"
    # moto's errors, relayed as the modeled exceptions.
    with pytest.raises(sm.exceptions.ResourceExistsException):
        sm.create_secret(Name=name, SecretString="dup")
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.describe_secret(SecretId=f"sdk/{uniq}/never")

    described = sm.describe_secret(SecretId=name)
    assert described["Description"] == "made via sidecache"
    assert described["ARN"] == created["ARN"]
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])
    assert [s["Name"] for s in listed["SecretList"]] == [name]
    assert x_cache(listed) is None

    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v1"
    sm.update_secret(SecretId=name, SecretString="v2")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v2"

    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId=name)


@pytest.mark.parametrize("read_by,write_by", [
    ("name", "name"), ("name", "arn"), ("arn", "name"), ("arn", "arn"),
])
def test_put_secret_value_read_your_writes(sm, moto_sm, sidecache, uniq, read_by, write_by):
    name = f"sdk/{uniq}/ryw"
    arn = moto_sm.create_secret(Name=name, SecretString="before")["ARN"]
    ids = {"name": name, "arn": arn}
    assert sm.get_secret_value(SecretId=ids[read_by])["SecretString"] == "before"
    assert x_cache(sm.get_secret_value(SecretId=ids[read_by])) == "hit"
    assert sm.get_secret_value(SecretId=ids[read_by], VersionStage="AWSCURRENT")["SecretString"] == "before"
    _, body = sidecache.get_json("/secretsmanager/get", {"secretId": ids[read_by]})
    assert body["SecretString"] == "before"

    put = sm.put_secret_value(SecretId=ids[write_by], SecretString="after")
    assert put["ARN"] == arn
    assert sm.get_secret_value(SecretId=ids[read_by])["SecretString"] == "after"
    assert sm.get_secret_value(SecretId=ids[read_by], VersionStage="AWSCURRENT")["SecretString"] == "after"
    _, body = sidecache.get_json("/secretsmanager/get", {"secretId": ids[read_by]})
    assert body["SecretString"] == "after"
    prev = sm.get_secret_value(SecretId=ids[read_by], VersionStage="AWSPREVIOUS")
    assert prev["SecretString"] == "before"


def test_batch_read_after_write(sm, moto_sm, uniq):
    names = [f"sdk/{uniq}/b{i}" for i in range(2)]
    for name in names:
        moto_sm.create_secret(Name=name, SecretString="old")
    assert {v["SecretString"] for v in sm.batch_get_secret_value(SecretIdList=names)["SecretValues"]} == {"old"}
    sm.put_secret_value(SecretId=names[1], SecretString="new")
    got = {v["Name"]: v["SecretString"] for v in sm.batch_get_secret_value(SecretIdList=names)["SecretValues"]}
    assert got == {names[0]: "old", names[1]: "new"}


def test_failed_write_changes_nothing(ssm, moto_ssm, uniq):
    name = f"/sdk/{uniq}/kept"
    moto_ssm.put_parameter(Name=name, Value="kept", Type="String")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "kept"
    with pytest.raises(ClientError) as info:
        ssm.put_parameter(Name=name, Value="nope", Type="String")
    assert error_code(info.value) == "ParameterAlreadyExists"
    resp = ssm.get_parameter(Name=name)
    assert resp["Parameter"]["Value"] == "kept"


def test_delete_parameters_and_unlabel(ssm, moto_ssm, uniq):
    root = f"/sdk/{uniq}/bulk"
    for leaf in ("a", "b", "c"):
        moto_ssm.put_parameter(Name=f"{root}/{leaf}", Value=leaf, Type="String")
    moto_ssm.label_parameter_version(Name=f"{root}/c", ParameterVersion=1, Labels=["tag"])
    assert len(ssm.get_parameters_by_path(Path=root)["Parameters"]) == 3
    assert ssm.get_parameters(Names=[f"{root}/a", f"{root}/b"])["InvalidParameters"] == []
    assert ssm.get_parameter(Name=f"{root}/c:tag")["Parameter"]["Value"] == "c"

    resp = ssm.delete_parameters(Names=[f"{root}/a", f"{root}/b", f"{root}/never"])
    assert sorted(resp["DeletedParameters"]) == [f"{root}/a", f"{root}/b"]
    assert resp["InvalidParameters"] == [f"{root}/never"]
    for leaf in ("a", "b"):
        with pytest.raises(ssm.exceptions.ParameterNotFound):
            ssm.get_parameter(Name=f"{root}/{leaf}")
    assert sorted(ssm.get_parameters(Names=[f"{root}/a", f"{root}/b"])["InvalidParameters"]) == [
        f"{root}/a", f"{root}/b"]
    assert [p["Name"] for p in ssm.get_parameters_by_path(Path=root)["Parameters"]] == [f"{root}/c"]

    ssm.unlabel_parameter_version(Name=f"{root}/c", ParameterVersion=1, Labels=["tag"])
    with pytest.raises(ClientError) as info:
        ssm.get_parameter(Name=f"{root}/c:tag")
    with pytest.raises(ClientError) as via_moto:
        moto_ssm.get_parameter(Name=f"{root}/c:tag")
    assert error_code(info.value) == error_code(via_moto.value)


def test_scheduled_deletion_and_restore(sm, moto_sm, uniq):
    name = f"sdk/{uniq}/scheduled"
    moto_sm.create_secret(Name=name, SecretString="restorable")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "restorable"
    deleted = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert deleted["Name"] == name and "DeletionDate" in deleted
    # What the service says of a secret marked for deletion, not the cached value.
    with pytest.raises(ClientError) as info:
        sm.get_secret_value(SecretId=name)
    with pytest.raises(ClientError) as via_moto:
        moto_sm.get_secret_value(SecretId=name)
    assert error_code(info.value) == error_code(via_moto.value) == "InvalidRequestException"
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "restorable"


def test_put_secret_value_invalidates_its_parameter_store_reference(ssm, sm, moto_sm, uniq):
    secret = f"sdk/{uniq}/referenced"
    moto_sm.create_secret(Name=secret, SecretString="old value")
    ref = f"/aws/reference/secretsmanager/{secret}"
    assert ssm.get_parameter(Name=ref, WithDecryption=True)["Parameter"]["Value"] == "old value"
    sm.put_secret_value(SecretId=secret, SecretString="new value")
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "new value"
    resp = ssm.get_parameter(Name=ref, WithDecryption=True)
    assert resp["Parameter"]["Value"] == "new value", x_cache(resp)
