"""examples/python/lambda_cache_handler.py, a lambda-cache handler with only its import
changed: invoked twice as Lambda would, the second invocation makes no upstream call."""

import importlib.util
import json
import os

from conftest import Context
from sidecache import s3

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "python",
                       "lambda_cache_handler.py")


def load_example(monkeypatch, seeded):
    monkeypatch.setenv("PARAMETER_NAME", seeded.name("handler/example"))
    monkeypatch.setenv("SECRET_ID", "clients/python/example")
    monkeypatch.setenv("S3_URI", f"s3://{seeded.bucket}/python/config/app-{seeded.run}.json")
    spec = importlib.util.spec_from_file_location("lambda_cache_handler", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_handler_second_invocation_from_cache(monkeypatch, tmp_path, seeded, upstream,
                                                      aws):
    # Values of the example's own, so its first invocation is certainly cold.
    aws.client("ssm").put_parameter(Name=seeded.name("handler/example"), Type="String",
                                    Value=f"example-{seeded.run}", Overwrite=True)
    aws.client("secretsmanager").create_secret(
        Name="clients/python/example", SecretString=json.dumps({"token": seeded.run}))
    monkeypatch.setattr(s3, "LINK_DIR", str(tmp_path))
    example = load_example(monkeypatch, seeded)

    calls = {service: upstream.calls(service) for service in ("ssm", "secretsmanager", "s3")}
    first = example.handler({}, Context())
    after_first = {service: upstream.calls(service) for service in calls}
    assert after_first["ssm"] == calls["ssm"] + 1
    assert after_first["secretsmanager"] == calls["secretsmanager"] + 1
    second = example.handler({}, Context())
    assert {service: upstream.calls(service) for service in calls} == after_first
    assert first == second == {"greeting": f"example-{seeded.run}", "secret_keys": ["token"],
                               "config": {"from": "s3", "run": seeded.run}}
    assert os.path.islink(tmp_path / "app_config.json")
