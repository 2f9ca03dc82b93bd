"""AWS's "Systems Manager Cloud Extensions" drop-in: POST /parameterstore for the SSM SDK,
GET /secretsmanager/<secretId>, and the optional second listener on Cloud Extensions' port."""

import json
import socket
from urllib.parse import quote

import boto3
import pytest

from conftest import REGION, TOKEN, TOKEN_HEADER, free_port, sdk_session, x_cache


def ssm_at(url):
    return boto3.session.Session(region_name=REGION).client("ssm", endpoint_url=url)


def test_parameterstore_path_with_an_explicit_endpoint(sidecache, moto_ssm, uniq):
    root = f"/sdk/{uniq}"
    moto_ssm.put_parameter(Name=f"{root}/a", Value="va", Type="String")
    moto_ssm.put_parameter(Name=f"{root}/b", Value="vb", Type="SecureString")
    ssm = ssm_at(f"{sidecache.url}/parameterstore")
    sent = []
    ssm.meta.events.register("before-send", lambda request, **_: sent.append(request.url))

    first = ssm.get_parameter(Name=f"{root}/a")
    assert first["Parameter"]["Value"] == "va"
    assert x_cache(first) == "miss"
    assert sent[-1].startswith(f"{sidecache.url}/parameterstore")
    # The same entry as POST / and the GET endpoint.
    root_client = ssm_at(sidecache.url)
    assert x_cache(root_client.get_parameter(Name=f"{root}/a")) == "hit"
    headers, _ = sidecache.get_json("/systemsmanager/parameters/get", {"name": f"{root}/a"})
    assert headers["x-cache"] == "hit"

    many = ssm.get_parameters(Names=[f"{root}/a", f"{root}/b", f"{root}/zz"], WithDecryption=True)
    assert {p["Name"]: p["Value"] for p in many["Parameters"]} == {f"{root}/a": "va", f"{root}/b": "vb"}
    assert many["InvalidParameters"] == [f"{root}/zz"]
    tree = ssm.get_parameters_by_path(Path=root, WithDecryption=True)
    assert sorted(p["Name"] for p in tree["Parameters"]) == [f"{root}/a", f"{root}/b"]
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=f"{root}/absent")
    # A write there is forwarded and invalidates as at /.
    ssm.put_parameter(Name=f"{root}/a", Value="va2", Type="String", Overwrite=True)
    assert ssm.get_parameter(Name=f"{root}/a")["Parameter"]["Value"] == "va2"


def test_parameterstore_path_through_the_endpoint_variable(monkeypatch, sidecache, moto_ssm, uniq):
    name = f"/sdk/{uniq}/env"
    moto_ssm.put_parameter(Name=name, Value="from env endpoint", Type="String")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", f"{sidecache.url}/parameterstore")
    ssm = boto3.session.Session(region_name=REGION).client("ssm")
    resp = ssm.get_parameter(Name=name)
    assert resp["Parameter"]["Value"] == "from env endpoint"
    assert x_cache(resp) == "miss"


@pytest.mark.parametrize("secret_suffix", ["plain", "app/db/password", "with space/and+plus"])
def test_secretsmanager_path_answers_like_get(sidecache, moto_sm, uniq, secret_suffix):
    secret = f"sdk/{uniq}/{secret_suffix}"
    moto_sm.create_secret(Name=secret, SecretString=f"value of {secret}")
    moto_sm.put_secret_value(SecretId=secret, SecretString=f"newer value of {secret}")

    kept = quote(secret, safe="/")      # slashes kept
    encoded = quote(secret, safe="")    # slashes as %2F
    status, headers, body = sidecache.get(f"/secretsmanager/{kept}")
    assert status == 200, body
    assert headers["x-cache"] == "miss"
    by_path = json.loads(body)
    assert by_path["SecretString"] == f"newer value of {secret}"
    assert by_path["Name"] == secret

    status, headers, body = sidecache.get(f"/secretsmanager/{encoded}")
    assert status == 200, body
    assert headers["x-cache"] == "hit"
    assert json.loads(body) == by_path
    headers, via_get = sidecache.get_json("/secretsmanager/get", {"secretId": secret})
    assert headers["x-cache"] == "hit"
    assert via_get == by_path

    status, _, body = sidecache.get(f"/secretsmanager/{kept}?versionStage=AWSPREVIOUS")
    assert status == 200, body
    assert json.loads(body)["SecretString"] == f"value of {secret}"


def test_secretsmanager_path_errors(sidecache, moto_sm, uniq):
    secret = f"sdk/{uniq}/guarded"
    moto_sm.create_secret(Name=secret, SecretString="guarded value")
    status, _, body = sidecache.get(f"/secretsmanager/{secret}", token=False)
    assert status == 403
    assert b"guarded value" not in body
    status, _, body = sidecache.get(f"/secretsmanager/sdk/{uniq}/absent")
    assert status == 404
    assert json.loads(body)["__type"] == "ResourceNotFoundException"


@pytest.fixture
def cloud_port():
    return free_port()


def test_second_listener_on_the_cloud_extensions_port(start_sidecache, monkeypatch, moto_ssm, moto_sm,
                                                     cloud_port, uniq):
    name, secret = f"/sdk/{uniq}/p", f"sdk/{uniq}/s"
    moto_ssm.put_parameter(Name=name, Value="on both ports", Type="SecureString")
    moto_sm.create_secret(Name=secret, SecretString="secret on both ports")
    sc = start_sidecache({"SIDECACHE_CLOUD_EXTENSIONS_PORT": str(cloud_port)})
    cloud = f"http://localhost:{cloud_port}"

    # Code written for Cloud Extensions: endpoint localhost:<port>/parameterstore.
    ssm = ssm_at(f"{cloud}/parameterstore")
    first = ssm.get_parameter(Name=name, WithDecryption=True)
    assert first["Parameter"]["Value"] == "on both ports"
    assert x_cache(first) == "miss"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", f"{cloud}/parameterstore")
    env_client = boto3.session.Session(region_name=REGION).client("ssm")
    assert x_cache(env_client.get_parameter(Name=name, WithDecryption=True)) == "hit"
    # One cache behind both listeners.
    main_ssm = sdk_session(monkeypatch, sc).client("ssm")
    assert x_cache(main_ssm.get_parameter(Name=name, WithDecryption=True)) == "hit"

    status, headers, body = sc.get(f"/secretsmanager/{secret}", port=cloud_port)
    assert status == 200, body
    assert json.loads(body)["SecretString"] == "secret on both ports"
    assert headers["x-cache"] == "miss"
    status, headers, _ = sc.get("/secretsmanager/get", {"secretId": secret})
    assert (status, headers["x-cache"]) == (200, "hit")
    status, headers, body = sc.get("/systemsmanager/parameters/get",
                                   {"name": name, "withDecryption": "true"}, port=cloud_port)
    assert status == 200 and headers["x-cache"] == "hit", body
    assert sc.request("GET", "/ping", port=cloud_port)[0] == 200
    sm = boto3.session.Session(region_name=REGION).client("secretsmanager", endpoint_url=cloud)
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "secret on both ports"


def test_a_taken_cloud_extensions_port_does_not_stop_sidecache(start_sidecache, monkeypatch, moto_ssm,
                                                              cloud_port, uniq):
    name = f"/sdk/{uniq}/p"
    moto_ssm.put_parameter(Name=name, Value="main port still serves", Type="String")
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", cloud_port))
    blocker.listen(1)
    try:
        sc = start_sidecache({"SIDECACHE_CLOUD_EXTENSIONS_PORT": str(cloud_port)})
        ssm = sdk_session(monkeypatch, sc).client("ssm")
        assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "main port still serves"
        assert sc.alive()
        lines = [line for line in sc.log_text().splitlines() if str(cloud_port) in line]
        assert any("Cloud Extensions" in line and ("cannot" in line or "WARN" in line) for line in lines), \
            sc.log_text()
    finally:
        blocker.close()


def test_an_endpoint_naming_the_cloud_extensions_port_is_no_loop(start_sidecache, monkeypatch, moto,
                                                                moto_ssm, cloud_port, uniq):
    name = f"/sdk/{uniq}/p"
    moto_ssm.put_parameter(Name=name, Value="from moto", Type="String")
    sc = start_sidecache({
        "SIDECACHE_CLOUD_EXTENSIONS_PORT": str(cloud_port),
        "AWS_ENDPOINT_URL_SSM": f"http://localhost:{cloud_port}/parameterstore",
        "AWS_ENDPOINT_URL": moto.url,
    })
    ssm = ssm_at(f"http://localhost:{cloud_port}/parameterstore")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "from moto"
    assert sum("AWS_ENDPOINT_URL_SSM" in line for line in sc.log_text().splitlines()) == 1
    status, _, _ = sc.request("GET", f"/systemsmanager/parameters/get?name={name}",
                              headers={TOKEN_HEADER: TOKEN})
    assert status == 200
