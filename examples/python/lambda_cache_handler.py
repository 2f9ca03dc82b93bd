"""A Lambda handler written for lambda-cache, running on sidecache: only the import changed.

    -from lambda_cache import ssm, secrets_manager, s3
    +from sidecache import ssm, secrets_manager, s3

Each decorator puts one value into `context` before the handler runs; sidecache serves it
from its cache while it is younger than max_age_in_seconds. Names come from PARAMETER_NAME,
SECRET_ID and S3_URI. Tested by clients/python/tests/test_examples.py.
"""
import json
import os

from sidecache import s3, secrets_manager, ssm

PARAMETER = os.environ.get("PARAMETER_NAME", "/app/greeting")
SECRET = os.environ.get("SECRET_ID", "app/api")
OBJECT = os.environ.get("S3_URI", "s3://my-bucket/config/app.json")


@ssm.cache(parameter=PARAMETER, max_age_in_seconds=300, entry_name="greeting")
@secrets_manager.cache(name=SECRET, max_age_in_seconds=300, entry_name="api")
@s3.cache(s3Uri=OBJECT, max_age_in_seconds=300, entry_name="app_config.json")
def handler(event, context):
    secret = json.loads(context.api)  # a SecretString, as stored
    with open(getattr(context, "app_config.json")) as f:  # /tmp/app_config.json
        config = json.load(f)
    # Never return the secret itself: only its field names.
    return {"greeting": context.greeting, "secret_keys": sorted(secret), "config": config}
