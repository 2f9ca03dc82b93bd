"""SigV4 on the AWS APIs: a signature that verifies with sidecache's own credentials (or the GET
endpoints' token header) is served; anything else is refused with the code AWS uses, and no
refusal body or log line carries the secret key, the session token or the token header's value."""

import datetime
import json

import boto3
import botocore.auth
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import (
    KEY_ID, REGION, RUN, SECRET_KEY, TOKEN, TOKEN_HEADER, Sidecache, error_code, error_status,
    http_request, s3_client, sdk_session,
)

JSON_11 = "application/x-amz-json-1.1"


def raw_post(sc, target, payload, headers=None, path="/"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    h = {"X-Amz-Target": target, "Content-Type": JSON_11}
    h.update(headers or {})
    return sc.request("POST", path, body=body, headers=h, timeout=10)


def body_code(body: bytes) -> str:
    return json.loads(body)["__type"].rsplit("#", 1)[-1]


@pytest.fixture
def seeded(moto_ssm, moto_sm, moto_s3, uniq):
    """A parameter, a secret and an object to read: (name, secret id, bucket, key)."""
    name, secret = f"/sdk/{uniq}/p", f"sdk/{uniq}/s"
    moto_ssm.put_parameter(Name=name, Value=f"param-{uniq}", Type="String")
    moto_sm.create_secret(Name=secret, SecretString=f"secret-value-{uniq}")
    bucket = f"sdk-{RUN}-auth"
    try:
        moto_s3.create_bucket(Bucket=bucket)
    except moto_s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    moto_s3.put_object(Bucket=bucket, Key=f"{uniq}/o", Body=b"object")
    return name, secret, bucket, f"{uniq}/o"


def test_wrong_access_key_id_is_unrecognized(monkeypatch, sidecache, seeded):
    name, secret, bucket, key = seeded
    sdk = sdk_session(monkeypatch, sidecache, aws_access_key_id="AKIAWRONGWRONGWRONG1",
                      aws_secret_access_key=SECRET_KEY)
    with pytest.raises(ClientError) as info:
        sdk.client("ssm").get_parameter(Name=name)
    assert error_code(info.value) == "UnrecognizedClientException"
    assert error_status(info.value) == 400
    with pytest.raises(ClientError) as info:
        sdk.client("secretsmanager").get_secret_value(SecretId=secret)
    assert error_code(info.value) == "UnrecognizedClientException"
    # Pass-through operations are refused the same way, and never reach moto.
    with pytest.raises(ClientError) as info:
        sdk.client("ssm").put_parameter(Name=name, Value="hijacked", Type="String", Overwrite=True)
    assert error_code(info.value) == "UnrecognizedClientException"
    s3 = s3_client(sidecache, aws_access_key_id="AKIAWRONGWRONGWRONG1", aws_secret_access_key=SECRET_KEY)
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key=key)
    assert (error_code(info.value), error_status(info.value)) == ("InvalidAccessKeyId", 403)


def test_wrong_secret_key_is_an_invalid_signature(monkeypatch, sidecache, moto_ssm, seeded):
    name, secret, bucket, key = seeded
    sdk = sdk_session(monkeypatch, sidecache, aws_access_key_id=KEY_ID,
                      aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as info:
        sdk.client("ssm").get_parameter(Name=name)
    assert error_code(info.value) == "InvalidSignatureException"
    assert error_status(info.value) == 400
    with pytest.raises(ClientError) as info:
        sdk.client("secretsmanager").get_secret_value(SecretId=secret)
    assert error_code(info.value) == "InvalidSignatureException"
    with pytest.raises(ClientError) as info:
        sdk.client("ssm").put_parameter(Name=name, Value="hijacked", Type="String", Overwrite=True)
    assert error_code(info.value) == "InvalidSignatureException"
    assert moto_ssm.get_parameter(Name=name)["Parameter"]["Value"] != "hijacked"
    s3 = s3_client(sidecache, aws_access_key_id=KEY_ID, aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key=key)
    assert (error_code(info.value), error_status(info.value)) == ("SignatureDoesNotMatch", 403)
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key=key)
    assert error_status(info.value) == 403


def test_unsigned_request_is_missing_authentication_token(sidecache, seeded):
    name = seeded[0]
    for target, payload in [
        ("AmazonSSM.GetParameter", {"Name": name}),
        ("secretsmanager.GetSecretValue", {"SecretId": seeded[1]}),
        ("AmazonSSM.PutParameter", {"Name": name, "Value": "x", "Type": "String", "Overwrite": True}),
    ]:
        status, headers, body = raw_post(sidecache, target, payload)
        assert status == 400, (target, body)
        assert body_code(body) == "MissingAuthenticationTokenException", body
        assert headers.get("x-amzn-requestid")
    # S3 without a signature is not S3 at all: no object comes back.
    status, _, body = sidecache.request("GET", f"/{seeded[2]}/{seeded[3]}")
    assert status != 200 and body != b"object"


def test_token_header_instead_of_a_signature(sidecache, seeded):
    name, secret = seeded[0], seeded[1]
    status, headers, body = raw_post(sidecache, "AmazonSSM.GetParameter", {"Name": name},
                                     {TOKEN_HEADER: TOKEN})
    assert status == 200, body
    assert json.loads(body)["Parameter"]["Value"].startswith("param-")
    assert isinstance(json.loads(body)["Parameter"]["LastModifiedDate"], (int, float))
    assert headers["content-type"] == JSON_11
    assert headers["x-cache"] == "miss"
    status, _, body = raw_post(sidecache, "secretsmanager.GetSecretValue", {"SecretId": secret},
                               {TOKEN_HEADER: TOKEN})
    assert status == 200, body
    assert json.loads(body)["SecretString"].startswith("secret-value-")
    # A wrong token is refused, and its value is not echoed.
    status, _, body = raw_post(sidecache, "AmazonSSM.GetParameter", {"Name": name},
                               {TOKEN_HEADER: "wrong-token-value-xyz"})
    assert (status, body_code(body)) == (400, "UnrecognizedClientException"), body
    assert b"param-" not in body and b"wrong-token-value-xyz" not in body


@pytest.fixture
def clock_off(monkeypatch):
    """Makes botocore sign as if its clock were `minutes` off."""
    real = botocore.auth.get_current_datetime

    def set_offset(minutes):
        monkeypatch.setattr(botocore.auth, "get_current_datetime",
                            lambda *a, **k: real(*a, **k) + datetime.timedelta(minutes=minutes))

    return set_offset


@pytest.mark.parametrize("minutes", [-10, 10])
def test_signature_too_far_from_now_is_refused(sidecache, monkeypatch, clock_off, seeded, minutes):
    name, secret, bucket, key = seeded
    sdk = sdk_session(monkeypatch, sidecache)
    ssm, sm = sdk.client("ssm"), sdk.client("secretsmanager")
    s3 = s3_client(sidecache)
    clock_off(minutes)
    sent = []
    ssm.meta.events.register("before-send", lambda request, **_: sent.append(request.headers["X-Amz-Date"]))
    with pytest.raises(ClientError) as info:
        ssm.get_parameter(Name=name)
    # The request really carried a skewed date.
    stamp = datetime.datetime.strptime(sent[0].decode() if isinstance(sent[0], bytes) else sent[0],
                                       "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    skew = (stamp - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert abs(skew - minutes * 60) < 30
    assert error_code(info.value) == "InvalidSignatureException"
    with pytest.raises(ClientError) as info:
        sm.get_secret_value(SecretId=secret)
    assert error_code(info.value) == "InvalidSignatureException"
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key=key)
    assert error_status(info.value) == 403


def test_signature_within_five_minutes_is_served(sidecache, monkeypatch, clock_off, seeded):
    name = seeded[0]
    ssm = sdk_session(monkeypatch, sidecache).client("ssm")
    s3 = s3_client(sidecache)
    clock_off(-3)
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"].startswith("param-")
    assert s3.get_object(Bucket=seeded[2], Key=seeded[3])["Body"].read() == b"object"
    clock_off(3)
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"].startswith("param-")


# A sidecache running with temporary credentials (a session token), as in Lambda, and with
# distinctive values so that a leak anywhere shows.
GUARDED_KEY_ID = f"ASIASDK{RUN.upper()}"
GUARDED_SECRET = f"SecretKeySdk{RUN}Zz9"
SESSION_TOKEN = f"tok1-session-{RUN}-IQoJb3JpZ2lu"
OTHER_TOKEN = f"tok2-session-{RUN}-IQoJb3JpZ2lu"
EXPLICIT_TOKEN = f"explicit-header-token-{RUN}"


@pytest.fixture(scope="module")
def guarded(moto, tmp_path_factory):
    """Two sidecaches with temporary credentials and debug logging: `lambda` takes the session
    token as the token header (no SIDECACHE_TOKEN), `explicit` has SIDECACHE_TOKEN set."""
    made = {}
    for kind, explicit in (("lambda", None), ("explicit", EXPLICIT_TOKEN)):
        made[kind] = Sidecache(moto.url, tmp_path_factory.mktemp(f"guarded-{kind}"), {
            "AWS_ACCESS_KEY_ID": GUARDED_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": GUARDED_SECRET,
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
            "SIDECACHE_TOKEN": explicit,
            "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL": "debug",
        })
    yield made
    for sc in made.values():
        sc.stop()


def guarded_session(monkeypatch, sc, token):
    return sdk_session(monkeypatch, sc, aws_access_key_id=GUARDED_KEY_ID,
                       aws_secret_access_key=GUARDED_SECRET, aws_session_token=token)


@pytest.mark.parametrize("kind", ["lambda", "explicit"])
def test_session_token_must_match(monkeypatch, guarded, seeded, kind):
    sc = guarded[kind]
    name, secret, bucket, key = seeded
    good = guarded_session(monkeypatch, sc, SESSION_TOKEN)
    resp = good.client("ssm").get_parameter(Name=name)
    assert resp["Parameter"]["Value"].startswith("param-")
    assert good.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"].startswith("secret-value-")
    s3 = s3_client(sc, aws_access_key_id=GUARDED_KEY_ID, aws_secret_access_key=GUARDED_SECRET,
                   aws_session_token=SESSION_TOKEN)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"object"

    for token in (OTHER_TOKEN, None):
        bad = guarded_session(monkeypatch, sc, token)
        with pytest.raises(ClientError) as info:
            bad.client("ssm").get_parameter(Name=name)
        assert error_code(info.value) == "UnrecognizedClientException", token
        with pytest.raises(ClientError) as info:
            bad.client("secretsmanager").get_secret_value(SecretId=secret)
        assert error_code(info.value) == "UnrecognizedClientException", token
        s3 = s3_client(sc, aws_access_key_id=GUARDED_KEY_ID, aws_secret_access_key=GUARDED_SECRET,
                       aws_session_token=token)
        with pytest.raises(ClientError) as info:
            s3.get_object(Bucket=bucket, Key=key)
        # S3's code for a token that is not the one: InvalidToken, 400 (AWS's error table).
        assert (error_code(info.value), error_status(info.value)) == ("InvalidToken", 400), token


@pytest.mark.parametrize("kind", ["lambda", "explicit"])
def test_token_header_follows_the_token_source(guarded, seeded, kind):
    sc = guarded[kind]
    right = SESSION_TOKEN if kind == "lambda" else EXPLICIT_TOKEN
    status, _, body = raw_post(sc, "AmazonSSM.GetParameter", {"Name": seeded[0]}, {TOKEN_HEADER: right})
    assert status == 200, body
    wrong = EXPLICIT_TOKEN if kind == "lambda" else SESSION_TOKEN
    status, _, body = raw_post(sc, "AmazonSSM.GetParameter", {"Name": seeded[0]}, {TOKEN_HEADER: wrong})
    assert (status, body_code(body)) == (400, "UnrecognizedClientException"), body


@pytest.mark.parametrize("kind", ["lambda", "explicit"])
def test_no_refusal_or_log_line_carries_a_credential(monkeypatch, clock_off, guarded, seeded, kind):
    sc = guarded[kind]
    name, secret, bucket, key = seeded
    bodies = []

    def record(http_response, **_):
        bodies.append(http_response.content)

    def attempts(session_kwargs):
        sdk = sdk_session(monkeypatch, sc, **session_kwargs)
        ssm, sm = sdk.client("ssm"), sdk.client("secretsmanager")
        s3 = s3_client(sc, **session_kwargs)
        for client in (ssm, sm, s3):
            client.meta.events.register("after-call", record)
            client.meta.events.register("needs-retry", lambda response, **_: bodies.append(
                response[0].content) if response else None)
        for call in (
            lambda: ssm.get_parameter(Name=name),
            lambda: ssm.get_parameters_by_path(Path=name.rsplit("/", 1)[0]),
            lambda: ssm.put_parameter(Name=name, Value="x", Type="String", Overwrite=True),
            lambda: sm.get_secret_value(SecretId=secret),
            lambda: sm.describe_secret(SecretId=secret),
            lambda: s3.get_object(Bucket=bucket, Key=key),
            lambda: s3.head_object(Bucket=bucket, Key=key),
            lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"x"),
        ):
            try:
                call()
            except ClientError:
                pass

    base = dict(aws_access_key_id=GUARDED_KEY_ID, aws_secret_access_key=GUARDED_SECRET)
    attempts(dict(base, aws_session_token=OTHER_TOKEN))
    attempts(dict(base, aws_session_token=None))
    attempts(dict(base, aws_secret_access_key="wrong-secret", aws_session_token=SESSION_TOKEN))
    attempts(dict(base, aws_access_key_id="ASIAUNKNOWNKEY000000", aws_session_token=SESSION_TOKEN))
    clock_off(-11)
    attempts(dict(base, aws_session_token=SESSION_TOKEN))
    monkeypatch.undo()
    # Raw refusals: no signature, wrong tokens, the right token on an endpoint that refuses
    # the input.
    for headers in ({}, {TOKEN_HEADER: OTHER_TOKEN}, {TOKEN_HEADER: EXPLICIT_TOKEN + "x"},
                    {TOKEN_HEADER: SESSION_TOKEN, "X-Forwarded-For": "1.2.3.4"},
                    {TOKEN_HEADER: EXPLICIT_TOKEN, "X-Forwarded-For": "1.2.3.4"}):
        for target, payload in (("AmazonSSM.GetParameter", {"Name": name}),
                                ("AmazonSSM.GetParameter", b"{not json"),
                                ("Foo.Bar", {})):
            status, _, body = raw_post(sc, target, payload, headers)
            if status != 200:
                bodies.append(body)
    for path in (f"/systemsmanager/parameters/get?name={name}", f"/secretsmanager/get?secretId={secret}",
                 "/stats", "/cache/invalidate?all=true"):
        for headers in ({}, {TOKEN_HEADER: OTHER_TOKEN}):
            bodies.append(sc.request("GET", path, headers=headers)[2])
    # And a successful read of the secret, so its value could reach a debug line.
    good = guarded_session(monkeypatch, sc, SESSION_TOKEN)
    assert good.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"].startswith("secret-value-")

    refusals = [b for b in bodies if b]
    assert len(refusals) >= 40
    log = sc.log_text()
    assert "debug" in log.lower() or "DEBUG" in log, "the log level took effect"
    for needle in (GUARDED_SECRET, SESSION_TOKEN, OTHER_TOKEN, EXPLICIT_TOKEN, "wrong-secret",
                   f"secret-value-{seeded[1].split('/')[1]}"):
        assert needle not in log, f"{needle!r} is in sidecache's log"
        for body in refusals:
            assert needle.encode() not in body, (needle, body)


def signed_post(sc, target, payload, service="ssm"):
    """A JSON 1.1 POST signed by botocore's own SigV4 signer: (headers, body bytes)."""
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps(payload).encode()
    request = AWSRequest(method="POST", url=f"{sc.url}/", data=body,
                         headers={"X-Amz-Target": target, "Content-Type": JSON_11})
    botocore.auth.SigV4Auth(Credentials(KEY_ID, SECRET_KEY), service, "us-east-1").add_auth(request)
    return dict(request.headers.items()), body


def send(sc, headers, body):
    return http_request(sc.port, "POST", "/", body=body, headers=headers, host="localhost")


def test_a_tampered_request_fails_its_signature(sidecache, seeded):
    name = seeded[0]
    headers, body = signed_post(sidecache, "AmazonSSM.GetParameter", {"Name": name})
    status, _, answer = send(sidecache, headers, body)
    assert status == 200, answer          # the control: botocore's signature as it is
    assert json.loads(answer)["Parameter"]["Name"] == name

    other = json.dumps({"Name": name + "x"}).encode()
    status, _, answer = send(sidecache, headers, other)
    assert (status, body_code(answer)) == (400, "InvalidSignatureException"), answer

    retargeted = dict(headers, **{"X-Amz-Target": "AmazonSSM.DeleteParameter"})
    status, _, answer = send(sidecache, retargeted, body)
    assert (status, body_code(answer)) == (400, "InvalidSignatureException"), answer

    # Signed for another service than the target's.
    headers, body = signed_post(sidecache, "AmazonSSM.GetParameter", {"Name": name}, service="s3")
    status, _, answer = send(sidecache, headers, body)
    assert (status, body_code(answer)) == (400, "InvalidSignatureException"), answer


@pytest.mark.parametrize("authorization", [
    "garbage",
    "AWS4-HMAC-SHA256 garbage",
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=00",
])
def test_a_malformed_authorization_header_is_an_incomplete_signature(sidecache, seeded, authorization):
    status, _, body = raw_post(sidecache, "AmazonSSM.GetParameter", {"Name": seeded[0]},
                               {"Authorization": authorization})
    assert status == 400, body
    assert body_code(body) == "IncompleteSignatureException", body


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:{port}", "http://[::1]:{port}",
                                      "http://localhost:{port}/", "http://LOCALHOST:{port}"])
def test_signatures_verify_whatever_the_endpoint_spelling(sidecache, seeded, endpoint):
    name, secret, bucket, key = seeded
    url = endpoint.format(port=sidecache.port)
    session = boto3.session.Session(region_name=REGION)
    assert session.client("ssm", endpoint_url=url).get_parameter(Name=name)["Parameter"]["Value"].startswith("param-")
    assert session.client("secretsmanager", endpoint_url=url).get_secret_value(
        SecretId=secret)["SecretString"].startswith("secret-value-")
    s3 = session.client("s3", endpoint_url=url, config=Config(s3={"addressing_style": "path"}))
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"object"
