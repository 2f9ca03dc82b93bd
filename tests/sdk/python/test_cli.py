"""The AWS CLI (v1, its own botocore) reading through sidecache."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import KEY_ID, REGION, SECRET_KEY

AWS = str(Path(sys.executable).with_name("aws"))


def aws(*args, env_extra=None):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    }
    env.update(env_extra or {})
    return subprocess.run([AWS, *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_get_parameter_with_endpoint_url(sidecache, moto_ssm, uniq):
    name = f"/sdk/{uniq}/cli"
    moto_ssm.put_parameter(Name=name, Value=f"cli-secure-{uniq}", Type="SecureString")
    done = aws("ssm", "get-parameter", "--name", name, "--with-decryption",
               "--endpoint-url", sidecache.url, "--output", "json")
    assert done.returncode == 0, done.stderr
    param = json.loads(done.stdout)["Parameter"]
    assert param["Value"] == f"cli-secure-{uniq}"
    assert param["Type"] == "SecureString"
    assert param["Version"] == 1
    # CLI v1 prints a timestamp as it arrived: AWS sends epoch seconds, and so must sidecache.
    truth = moto_ssm.get_parameter(Name=name)["Parameter"]["LastModifiedDate"].timestamp()
    assert isinstance(param["LastModifiedDate"], (int, float))
    assert abs(param["LastModifiedDate"] - truth) < 0.01
    # It was a cache read: the second one is a hit, as --debug's response headers show.
    again = aws("ssm", "get-parameter", "--name", name, "--with-decryption",
                "--endpoint-url", sidecache.url, "--output", "json", "--debug")
    assert again.returncode == 0, again.stderr
    assert "'x-cache': 'hit'" in again.stderr


def test_cli_reads_through_the_endpoint_variables(sidecache, moto_ssm, moto_sm, uniq):
    name, secret = f"/sdk/{uniq}/cli-env", f"sdk/{uniq}/cli-env"
    moto_ssm.put_parameter(Name=name, Value="via env", Type="String")
    moto_sm.create_secret(Name=secret, SecretString="cli secret")
    env = {"AWS_ENDPOINT_URL_SSM": sidecache.url, "AWS_ENDPOINT_URL_SECRETS_MANAGER": sidecache.url}
    done = aws("ssm", "get-parameters", "--names", name, f"/sdk/{uniq}/missing", "--output", "json",
               env_extra=env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [p["Value"] for p in out["Parameters"]] == ["via env"]
    assert out["InvalidParameters"] == [f"/sdk/{uniq}/missing"]
    done = aws("secretsmanager", "get-secret-value", "--secret-id", secret, "--query", "SecretString",
               "--output", "text", env_extra=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "cli secret"
    done = aws("ssm", "get-parameter", "--name", f"/sdk/{uniq}/missing", env_extra=env)
    assert done.returncode != 0
    assert "ParameterNotFound" in done.stderr
