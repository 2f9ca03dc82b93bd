"""No loop: Lambda hands extensions the function's environment, so the endpoint variables that
make the function's SDK a sidecache client reach sidecache too. One naming sidecache's own
listener is ignored for its upstream calls (logged once); any other is honoured."""

import re

from conftest import RUN, TOKEN, TOKEN_HEADER, free_port, s3_client, sdk_session, x_cache


def lines_naming(log, variable):
    return [line for line in log.splitlines() if re.search(rf"\b{variable}\b", line)]


def test_endpoint_variables_naming_sidecache_are_ignored(start_sidecache, monkeypatch, moto,
                                                        moto_ssm, moto_sm, moto_s3, uniq):
    name, secret = f"/sdk/{uniq}/looped", f"sdk/{uniq}/looped"
    moto_ssm.put_parameter(Name=name, Value=f"from-moto-{uniq}", Type="SecureString")
    moto_sm.create_secret(Name=secret, SecretString=f"secret-from-moto-{uniq}")
    bucket = f"sdk-{RUN}-loop"
    moto_s3.create_bucket(Bucket=bucket)
    moto_s3.put_object(Bucket=bucket, Key="k.txt", Body=b"object from moto")

    port = free_port()
    sc = start_sidecache({
        "AWS_ENDPOINT_URL_SSM": f"http://localhost:{port}",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{port}",
        "AWS_ENDPOINT_URL_S3": f"http://localhost:{port}/",
        "AWS_ENDPOINT_URL": moto.url,
    }, port=port)

    sdk = sdk_session(monkeypatch, sc)
    ssm, sm = sdk.client("ssm"), sdk.client("secretsmanager")
    got = ssm.get_parameter(Name=name, WithDecryption=True)
    assert got["Parameter"]["Value"] == f"from-moto-{uniq}"
    assert x_cache(got) == "miss"
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == f"secret-from-moto-{uniq}"
    # Pass-through too goes to moto, not back to sidecache.
    ssm.put_parameter(Name=name, Value="rewritten", Type="SecureString", Overwrite=True)
    assert moto_ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "rewritten"
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "rewritten"
    # The GET endpoints, on the same upstream.
    _, body = sc.get_json("/secretsmanager/get", {"secretId": secret})
    assert body["SecretString"] == f"secret-from-moto-{uniq}"
    _, meta = sc.get_json("/s3/get", {"bucket": bucket, "key": "k.txt"})
    with open(meta["path"], "rb") as f:
        assert f.read() == b"object from moto"
    s3 = s3_client(sc)
    assert s3.get_object(Bucket=bucket, Key="k.txt")["Body"].read() == b"object from moto"

    log = sc.log_text()
    for variable in ("AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_S3"):
        assert len(lines_naming(log, variable)) == 1, (variable, log)
    # AWS_ENDPOINT_URL names moto: honoured, so not reported.
    assert not any(moto.url in line for line in lines_naming(log, "AWS_ENDPOINT_URL")), log
    assert "UnknownEndpoint" not in log


def test_aws_endpoint_url_naming_sidecache_is_ignored_and_a_service_variable_honoured(
        start_sidecache, monkeypatch, moto, moto_ssm, uniq):
    name = f"/sdk/{uniq}/honoured"
    moto_ssm.put_parameter(Name=name, Value="via service variable", Type="String")
    port = free_port()
    sc = start_sidecache({
        "AWS_ENDPOINT_URL": f"http://[::1]:{port}",
        "AWS_ENDPOINT_URL_SSM": moto.url,
    }, port=port)
    ssm = sdk_session(monkeypatch, sc).client("ssm")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "via service variable"
    status, _, body = sc.get("/systemsmanager/parameters/get", {"name": name})
    assert status == 200, body
    log = sc.log_text()
    assert len(lines_naming(log, "AWS_ENDPOINT_URL")) == 1, log
    assert not lines_naming(log, "AWS_ENDPOINT_URL_SSM"), log


def test_a_loop_is_logged_once_however_many_reads(start_sidecache, monkeypatch, moto, moto_ssm, uniq):
    name = f"/sdk/{uniq}/many"
    moto_ssm.put_parameter(Name=name, Value="v", Type="String")
    port = free_port()
    sc = start_sidecache({"AWS_ENDPOINT_URL_SSM": f"http://localhost:{port}", "AWS_ENDPOINT_URL": moto.url},
                         port=port)
    ssm = sdk_session(monkeypatch, sc).client("ssm")
    for i in range(5):
        ssm.get_parameter(Name=name)
        sc.request("GET", f"/systemsmanager/parameters/get?name={name}&maxAge=0",
                   headers={TOKEN_HEADER: TOKEN})
    assert len(lines_naming(sc.log_text(), "AWS_ENDPOINT_URL_SSM")) == 1
