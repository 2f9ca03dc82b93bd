"""What the tests ported from lambda-cache (test_lambda_cache_port_*.py) share.

lambda-cache 0.8's unit tests (github.com/keithrozario/lambda-cache, tests/) run against AWS;
here their scenarios run against moto through the live sidecache, with the import renamed:
`from sidecache import ssm` for `from lambda_cache import ssm`, `sidecache.exceptions` for
`lambda_cache.exceptions`. Each case keeps its decorators, entry names and assertions.

Two things are changed, both about time. lambda-cache's tests wait 5 to 10 s for a value to
age past `max_age_in_seconds`; here max ages are `MAX_AGE` (2 s, sidecache's `maxAge` is
whole seconds) and a wait is `wait_past(read)`: until `MAX_AGE` has surely passed since the
value was fetched (its fetch ended before `read` returned), not a guessed sleep. And the cases
of one test file run side by side through the same steps, so that they share their waits.
"""

import os
import time

import boto3

MAX_AGE = 2
# sidecache counts age from when it stored the value, at most when the read returned.
_MARGIN = 0.05


class LambdaContext:
    """lambda-cache's tests' stand-in for Lambda's context (tests/context_object.py)."""

    def __init__(self, invokeid="1234"):
        self.aws_request_id = invokeid
        self.function_name = "_"
        self.memory_limit_in_mb = "_"

    def get_remaining_time_in_millis(self):
        return 300000


class Clock:
    """When values were last fetched, so that a test can wait until they are older than
    MAX_AGE, and check they were still younger where it expects cached values.

    Around a round of reads that fetch: `fetching()` before, `fetched()` after. A value is
    stored by sidecache between the two, so its age is at most `now - fetching` and at least
    `now - fetched`.
    """

    def __init__(self):
        self.fetching_at = self.fetched_at = None

    def fetching(self):
        self.fetching_at = time.monotonic()

    def fetched(self):
        self.fetched_at = time.monotonic()

    def wait_past(self):
        """Until MAX_AGE has passed since the last round's values were stored."""
        remaining = self.fetched_at + MAX_AGE + _MARGIN - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)

    def within_max_age(self):
        """True while the last round's values are certainly younger than MAX_AGE: what a
        "still cached" assertion relies on, asserted beside it so that a machine too slow
        for it fails saying so."""
        return time.monotonic() - self.fetching_at < MAX_AGE


def prefix():
    """Names of this run's own, so nothing passes on a value left by another test or run."""
    return f"/clients/python/lambda_cache/{os.environ['CLIENTS_RUN_ID']}"


def update_parameter(name, value, param_type="String"):
    boto3.client("ssm").put_parameter(Name=name, Value=value, Type=param_type, Overwrite=True)


def update_secret(name, value, secret_type="String"):
    client = boto3.client("secretsmanager")
    field = "SecretBinary" if secret_type == "Binary" else "SecretString"
    try:
        client.put_secret_value(SecretId=name, **{field: value})
    except client.exceptions.ResourceNotFoundException:
        client.create_secret(Name=name, **{field: value})


def upload_object(bucket, key, status):
    boto3.client("s3").put_object(Bucket=bucket, Key=key,
                                  Body=('{"status": "%s"}' % status).encode())
