"""Checks the fake AppConfig Data (tests/src/fake_appconfig.rs) with AWS's own client: every
call goes through boto3.client("appconfigdata"), so the fake passes only if botocore, from the
service model, parses its answers into the right fields and raises the right modeled errors.

Usage: appconfigdata_check.py URL FIXTURES_JSON

FIXTURES_JSON describes what the harness deployed before starting the check:
  {"app": NAME, "env": NAME,
   "flags": {"profile": NAME, "ids": {...}, "content": TEXT, "label": LABEL},   # JSON, labelled
   "plain": {"profile": NAME, "ids": {...}, "content": TEXT},                   # text, no label
   "pending": {"profile": NAME, "ids": {...}}}                                  # nothing deployed
where ids is {"application": ID, "environment": ID, "profile": ID}.

The check changes the fake mid-way through its test controls: it prints
`CONTROL <name> <json args>` on stdout and reads one line `OK <json result>` from stdin (the
Rust harness, e2e::appconfig_fake, carries the control out). Every other output goes to stderr;
the last stdout line is `PASS <number of checks>`, and the exit status is 0 only then.

The deliberate client mistakes it makes (the fake records them as violations) are listed in
EXPECTED_VIOLATIONS, in order, so the harness can assert exactly those.
"""

import base64
import json
import sys
import time

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

# Substrings of the violations the check causes on purpose, in the order it causes them.
EXPECTED_VIOLATIONS = [
    "never issued",  # a garbage token
    "already used",  # a token used twice
    "Authorization",  # an unsigned request
    "requiredMinimumPollIntervalInSeconds",  # an interval below 15
    "length between 1 and 128",  # an identifier of 129 characters
]

URL = sys.argv[1]
FIX = json.loads(sys.argv[2])
APP, ENV = FIX["app"], FIX["env"]
CHECKS = 0


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def control(name, **args):
    print(f"CONTROL {name} {json.dumps(args)}", flush=True)
    line = sys.stdin.readline()
    if not line.startswith("OK"):
        raise SystemExit(f"control {name} failed: {line!r}")
    return json.loads(line[2:].strip() or "null")


def check(condition, what):
    global CHECKS
    CHECKS += 1
    if not condition:
        raise AssertionError(what)


def client(**config):
    retries = config.pop("retries", {"mode": "standard", "total_max_attempts": 1})
    return boto3.client(
        "appconfigdata",
        endpoint_url=URL,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries=retries, **config),
    )


C = client()


def start(app=APP, env=ENV, profile=None, interval=None, c=C):
    args = dict(
        ApplicationIdentifier=app,
        EnvironmentIdentifier=env,
        ConfigurationProfileIdentifier=profile,
    )
    if interval is not None:
        args["RequiredMinimumPollIntervalInSeconds"] = interval
    resp = c.start_configuration_session(**args)
    check(resp["ResponseMetadata"]["HTTPStatusCode"] == 201, f"201 for a session: {resp}")
    check(resp["ResponseMetadata"].get("RequestId"), f"x-amzn-RequestId: {resp}")
    token = resp["InitialConfigurationToken"]
    check(isinstance(token, str) and token, f"an initial token: {resp}")
    return token


def poll(token, c=C):
    """(body bytes, parsed response) of one GetLatestConfiguration."""
    resp = c.get_latest_configuration(ConfigurationToken=token)
    check(resp["ResponseMetadata"]["HTTPStatusCode"] == 200, f"200 for a poll: {resp}")
    body = resp["Configuration"].read()
    nxt = resp["NextPollConfigurationToken"]
    check(nxt and nxt != token, f"a new next token: {resp}")
    check(isinstance(resp["NextPollIntervalInSeconds"], int), f"an int interval: {resp}")
    return body, resp


def error_of(call, exception, status):
    """The ClientError `call` raises, asserting it is the modeled `exception` with `status`."""
    try:
        result = call()
    except exception as e:
        check(e.response["ResponseMetadata"]["HTTPStatusCode"] == status, f"{status}: {e.response}")
        check(e.response["Error"]["Code"] == exception.__name__, f"code: {e.response}")
        check(e.response["Error"]["Message"], f"a message: {e.response}")
        return e.response
    raise AssertionError(f"expected {exception.__name__}, got {result}")


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        check(time.monotonic() < deadline, f"timed out waiting for {what}")
        time.sleep(0.05)


def raises(call, exception):
    try:
        result = call()
    except exception as e:
        check(True, "")
        return e
    raise AssertionError(f"expected {exception.__name__}, got {result}")


def token_problem(call, problem):
    err = error_of(call, C.exceptions.BadRequestException, 400)
    check(err.get("Reason") == "InvalidParameters", f"Reason: {err}")
    expected = {"InvalidParameters": {"ConfigurationToken": {"Problem": problem}}}
    check(err.get("Details") == expected, f"Details {problem}: {err}")
    return err


def not_found(call, resource_type, referenced_by=None):
    err = error_of(call, C.exceptions.ResourceNotFoundException, 404)
    check(err.get("ResourceType") == resource_type, f"ResourceType {resource_type}: {err}")
    check(err.get("ReferencedBy") == referenced_by, f"ReferencedBy {referenced_by}: {err}")
    return err


def stats():
    return control("stats")


# ----- the token chain, bodies and headers -------------------------------------------------------

def test_chain_and_unchanged():
    flags = FIX["flags"]
    token = start(profile=flags["profile"])
    check("+" in token and "/" in token, f"tokens carry '+' and '/' as AWS's base64 do: {token}")
    body, resp = poll(token)
    check(body == flags["content"].encode(), f"the deployed JSON: {body!r}")
    check(resp["ContentType"] == "application/json", f"ContentType: {resp}")
    check(resp["VersionLabel"] == flags["label"], f"VersionLabel: {resp}")
    check(resp["NextPollIntervalInSeconds"] == 60, f"AWS's default interval: {resp}")

    body, resp = poll(resp["NextPollConfigurationToken"])
    check(body == b"", f"unchanged: empty body, got {body!r}")
    check("VersionLabel" not in resp, f"no Version-Label when unchanged: {resp}")
    check(resp["ContentType"] == "application/octet-stream", f"unchanged ContentType: {resp}")

    control("deploy", profile=flags["profile"], content=b64(b'{"v":2}'),
            content_type="application/json", label="v2")
    body, resp = poll(resp["NextPollConfigurationToken"])
    check(body == b'{"v":2}', f"the new deployment on the next poll: {body!r}")
    check(resp["VersionLabel"] == "v2", f"its label: {resp}")
    body, resp = poll(resp["NextPollConfigurationToken"])
    check(body == b"", f"then unchanged again: {body!r}")

    # The same content deployed again is a new deployment: delivered again.
    control("deploy", profile=flags["profile"], content=b64(b'{"v":2}'),
            content_type="application/json", label="v2")
    body, resp = poll(resp["NextPollConfigurationToken"])
    check(body == b'{"v":2}', f"a redeployment is delivered: {body!r}")
    return resp["NextPollConfigurationToken"]


def test_identifiers_and_interval():
    flags = FIX["flags"]
    ids = flags["ids"]
    token = start(ids["application"], ids["environment"], ids["profile"], interval=15)
    check(stats()["last_required"] == 15, "the fake saw RequiredMinimumPollIntervalInSeconds=15")
    body, resp = poll(token)
    check(body == b'{"v":2}', f"a new session gets the current deployment: {body!r}")
    check(resp["NextPollIntervalInSeconds"] == 15, f"the required interval: {resp}")
    # Required (the default check): polling again at once is too early.
    token_problem(lambda: poll(resp["NextPollConfigurationToken"]), "PollIntervalNotSatisfied")

    # Names and ids mixed.
    token = start(ids["application"], ENV, ids["profile"])
    check(stats()["last_required"] is None, "no interval sent, none recorded")
    body, _ = poll(token)
    check(body == b'{"v":2}', f"mixed identifiers: {body!r}")

    plain = FIX["plain"]
    body, resp = poll(start(profile=plain["profile"]))
    check(body == plain["content"].encode(), f"the plain profile: {body!r}")
    check(resp["ContentType"] == "text/plain", f"its type: {resp}")
    check("VersionLabel" not in resp, f"no label deployed, no VersionLabel: {resp}")


def test_binary_content():
    data = bytes(range(256)) * 3
    control("deploy", profile="binary", content=b64(data),
            content_type="application/octet-stream", label=None)
    body, resp = poll(start(profile="binary"))
    check(body == data, "binary content round-trips byte for byte")


def test_not_found():
    flags = FIX["flags"]
    not_found(lambda: start("no-such-app", ENV, flags["profile"]), "Application",
              {"ApplicationIdentifier": "no-such-app"})
    not_found(lambda: start(APP, "no-such-env", flags["profile"]), "Environment",
              {"EnvironmentIdentifier": "no-such-env"})
    not_found(lambda: start(APP, ENV, "no-such-profile"), "ConfigurationProfile",
              {"ConfigurationProfileIdentifier": "no-such-profile"})

    # A profile with nothing deployed to the environment: the session starts, polls get 404
    # until a deployment, and the refused poll did not spend its token.
    pending = FIX["pending"]
    token = start(profile=pending["profile"])
    not_found(lambda: poll(token), "Deployment")
    control("deploy", profile=pending["profile"], content=b64(b"now"),
            content_type="text/plain", label="first")
    body, resp = poll(token)
    check(body == b"now" and resp["VersionLabel"] == "first", f"after deploying: {resp}")

    # A profile deleted mid-session.
    control("deploy", profile="doomed", content=b64(b"x"), content_type="text/plain", label=None)
    _, resp = poll(start(profile="doomed"))
    control("delete_profile", profile="doomed")
    not_found(lambda: poll(resp["NextPollConfigurationToken"]), "ConfigurationProfile")
    not_found(lambda: start(profile="doomed"), "ConfigurationProfile",
              {"ConfigurationProfileIdentifier": "doomed"})


# ----- token problems ----------------------------------------------------------------------------

def test_token_problems(next_token):
    flags = FIX["flags"]
    token_problem(lambda: poll("AYADeThisIsNotATokenTheFakeIssued+/="), "Corrupted")

    # Single use: the token of the chain above was used, a second use is refused...
    first = start(profile=flags["profile"])
    _, resp = poll(first)
    token_problem(lambda: poll(first), "Corrupted")
    # ... unless the fake behaves as AWS was seen to: the token answers again as it did.
    control("token_reuse", mode="allow")
    body, _ = poll(first)
    check(body == b'{"v":2}', f"a reused initial token gets the configuration again: {body!r}")
    second = resp["NextPollConfigurationToken"]
    poll(second)
    body, _ = poll(second)
    check(body == b"", f"a reused later token answers unchanged, as it did: {body!r}")
    control("token_reuse", mode="refuse")

    # Expiry mid-life: every outstanding token expires at once, new sessions are not affected.
    initial = start(profile=flags["profile"])
    control("expire_tokens")
    token_problem(lambda: poll(next_token), "Expired")
    token_problem(lambda: poll(initial), "Expired")
    body, _ = poll(start(profile=flags["profile"]))
    check(body == b'{"v":2}', "a session started after the expiry works")

    # A short lifetime: a token older than it is expired.
    control("token_lifetime", ms=1000)
    old = start(profile=flags["profile"])
    issued = time.monotonic()
    fresh_body, _ = poll(start(profile=flags["profile"]))
    check(fresh_body == b'{"v":2}', "a token younger than its lifetime works")
    time.sleep(max(0.0, 1.05 - (time.monotonic() - issued)))  # the lifetime itself must pass
    token_problem(lambda: poll(old), "Expired")
    control("token_lifetime", ms=None)

    # Revoked (the service can no longer read them): Corrupted, and not the client's fault.
    token = start(profile=flags["profile"])
    control("revoke_tokens")
    token_problem(lambda: poll(token), "Corrupted")


def test_poll_interval_checks():
    flags = FIX["flags"]
    control("next_poll_interval", seconds=2)
    control("poll_check", mode="handed_out")
    body, resp = poll(start(profile=flags["profile"]))
    check(resp["NextPollIntervalInSeconds"] == 2, f"the interval the fake hands out: {resp}")
    answered = time.monotonic()
    token = resp["NextPollConfigurationToken"]
    token_problem(lambda: poll(token), "PollIntervalNotSatisfied")
    # The refused poll did not spend the token: it works once the interval has passed.
    deadline = answered + 10
    while True:
        try:
            body, resp = poll(token)
            break
        except C.exceptions.BadRequestException:
            check(time.monotonic() < deadline, "the token works again within 10 s")
            time.sleep(0.05)
    check(time.monotonic() - answered >= 1.95, "not before the interval handed out")
    check(body == b"", f"and answers unchanged: {body!r}")

    control("poll_check", mode="off")
    _, resp = poll(start(profile=flags["profile"], interval=15))
    _, resp = poll(resp["NextPollConfigurationToken"])  # at once, allowed
    control("poll_check", mode="required")
    control("next_poll_interval", seconds=None)


# ----- service faults ----------------------------------------------------------------------------

def test_faults():
    flags = FIX["flags"]
    control("fail_next", n=1, failure="throttle", only=None)
    err = error_of(lambda: start(profile=flags["profile"]), C.exceptions.ThrottlingException, 429)
    check(err["Error"]["Message"] == "Rate exceeded", f"throttling message: {err}")

    token = start(profile=flags["profile"])
    control("fail_next", n=1, failure="internal", only="GetLatestConfiguration")
    error_of(lambda: poll(token), C.exceptions.InternalServerException, 500)
    body, resp = poll(token)  # the failed poll did not spend the token
    check(body == b'{"v":2}', f"the token still works after a 500: {body!r}")

    # botocore retries throttling and 500s with the same token, transparently.
    patient = client(retries={"mode": "standard", "total_max_attempts": 3})
    before = stats()["calls"]["GetLatestConfiguration"]
    control("fail_next", n=2, failure="internal", only=None)
    body, resp = poll(resp["NextPollConfigurationToken"], c=patient)
    check(body == b"", f"retried to success: {body!r}")
    calls = stats()["calls"]["GetLatestConfiguration"] - before
    check(calls == 3, f"two failures and a success reached the fake, not {calls}")

    # Latency: every answer is late; a client that gives up leaves its token unspent.
    token = start(profile=flags["profile"])
    control("latency", ms=300)
    begun = time.monotonic()
    _, resp = poll(token)
    check(time.monotonic() - begun >= 0.3, "the answer came after the latency")
    control("latency", ms=2000)
    hasty = client(read_timeout=0.5, connect_timeout=1)
    token = resp["NextPollConfigurationToken"]
    raises(lambda: hasty.get_latest_configuration(ConfigurationToken=token), ReadTimeoutError)
    control("latency", ms=0)
    # The fake sees the client gone when the 2 s are over.
    wait_for(lambda: stats()["abandoned"] == 1, 10, "the fake to abandon the timed-out poll")
    body, resp = poll(token)
    check(body == b"", "the timed-out poll was not carried out: its token still works")

    # Connections refused while the fake is not listening, then the session goes on.
    token = resp["NextPollConfigurationToken"]
    control("stop_listening")
    raises(lambda: C.get_latest_configuration(ConfigurationToken=token), EndpointConnectionError)
    control("resume_listening")
    body, _ = poll(token)
    check(body == b"", "after listening again, the same token works")


# ----- client mistakes (recorded as violations) --------------------------------------------------

def test_client_mistakes():
    flags = FIX["flags"]
    unsigned = client(signature_version=UNSIGNED)
    e = raises(lambda: start(profile=flags["profile"], c=unsigned), ClientError)
    check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, f"403: {e.response}")
    check(e.response["Error"]["Code"] == "MissingAuthenticationTokenException", f"{e.response}")

    careless = client(parameter_validation=False)
    err = error_of(lambda: start(profile=flags["profile"], interval=5, c=careless),
                   C.exceptions.BadRequestException, 400)
    check("Reason" not in err and "Details" not in err, f"a validation error has no Details: {err}")
    check("requiredMinimumPollIntervalInSeconds" in err["Error"]["Message"], f"{err}")
    error_of(lambda: start(profile="p" * 129, c=careless), C.exceptions.BadRequestException, 400)


def b64(data):
    return base64.b64encode(data).decode()


def main():
    log(f"checking the fake AppConfig Data at {URL} with boto3")
    chain_token = test_chain_and_unchanged()
    test_identifiers_and_interval()
    test_binary_content()
    test_not_found()
    test_token_problems(chain_token)
    test_poll_interval_checks()
    test_faults()
    test_client_mistakes()
    s = stats()
    check(s["violations"] == len(EXPECTED_VIOLATIONS),
          f"exactly the deliberate violations: {s['violation_list']}")
    for got, want in zip(s["violation_list"], EXPECTED_VIOLATIONS):
        check(want in got, f"violation {got!r} should mention {want!r}")
    print(f"PASS {CHECKS}", flush=True)


if __name__ == "__main__":
    main()
