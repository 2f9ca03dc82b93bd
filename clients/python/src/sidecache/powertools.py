"""A Powertools for AWS Lambda (Python) parameter provider backed by sidecache.

    from sidecache.powertools import SidecacheProvider

    ssm = SidecacheProvider()                       # SSM Parameter Store
    secrets = SidecacheProvider("secretsmanager")   # Secrets Manager

    def handler(event, context):
        config = ssm.get("/app/config", transform="json")
        url = ssm.get("/app/db/url", decrypt=True)
        tree = ssm.get_multiple("/app/", recursive=True)
        key = secrets.get("prod/api-key")

Needs `pip install "sidecache[powertools]"`; this is the only module that imports Powertools.
Powertools keeps its own short in-process cache (`max_age`, default 5 s); behind it sidecache
is the cache every process and runtime of the function shares. `max_age` is also sent to
sidecache as `maxAge`, and `force_fetch=True` as `maxAge=0`, so both mean what they say all the
way to AWS. Errors surface as Powertools' `GetParameterError`; the typed sidecache exception
(NotFound, AccessDenied...) is its `__context__`.
"""

import os

from aws_lambda_powertools.utilities.parameters.base import BaseProvider

from .client import default_client

SOURCES = ("ssm", "secretsmanager")
# Powertools' own switch for SSMProvider's default `decrypt`.
ENV_SSM_DECRYPT = "POWERTOOLS_PARAMETERS_SSM_DECRYPT"
# The keyword through which get()/get_multiple() hand the age bound to _get()/_get_multiple().
_MAX_AGE = "sidecache_max_age"


class SidecacheProvider(BaseProvider):
    """A BaseProvider reading SSM parameters (`source="ssm"`) or secrets
    (`source="secretsmanager"`) through sidecache."""

    def __init__(self, source="ssm", client=None):
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        super().__init__()
        self.source = source
        self._client = client

    @property
    def client(self):
        return self._client or default_client()

    def get(self, name, max_age=None, transform=None, force_fetch=False, **sdk_options):
        sdk_options[_MAX_AGE] = 0 if force_fetch else max_age
        return super().get(name, transform=transform, force_fetch=force_fetch,
                           **_max_age_kwarg(max_age), **sdk_options)

    def get_multiple(self, path, max_age=None, transform=None, raise_on_transform_error=False,
                     force_fetch=False, **sdk_options):
        sdk_options[_MAX_AGE] = 0 if force_fetch else max_age
        return super().get_multiple(path, transform=transform,
                                    raise_on_transform_error=raise_on_transform_error,
                                    force_fetch=force_fetch, **_max_age_kwarg(max_age),
                                    **sdk_options)

    def _get(self, name, **sdk_options):
        max_age = sdk_options.pop(_MAX_AGE, None)
        if self.source == "secretsmanager":
            return self.client.secret(name, max_age=max_age,
                                      version_stage=sdk_options.get("VersionStage"),
                                      version_id=sdk_options.get("VersionId"))
        # As Powertools' SSMProvider: no decryption unless asked, a StringList as its raw text.
        body = self.client.get_json("/systemsmanager/parameters/get", name=name,
                                    withDecryption=_flag(_decrypt(sdk_options)),
                                    maxAge=max_age)
        return body["Parameter"]["Value"]

    def _get_multiple(self, path, **sdk_options):
        max_age = sdk_options.pop(_MAX_AGE, None)
        if self.source != "ssm":
            raise NotImplementedError("get_multiple reads SSM parameters by path only")
        body = self.client.get_json("/systemsmanager/parameters/by-path", path=path,
                                    recursive=_flag(sdk_options.get("recursive", False)),
                                    withDecryption=_flag(_decrypt(sdk_options)),
                                    maxAge=max_age)
        # Keys relative to the path, as SSMProvider.get_multiple gives them.
        prefix = path.rstrip("/") + "/"
        return {record["Name"][len(prefix):] if record["Name"].startswith(prefix) else record["Name"]:
                record["Value"] for record in body.get("Parameters") or []}


def _max_age_kwarg(max_age):
    # Unset, Powertools applies its own default (older 2.x releases take no None here).
    return {} if max_age is None else {"max_age": max_age}


def _decrypt(sdk_options):
    if sdk_options.get("decrypt") is not None:
        return bool(sdk_options["decrypt"])
    return os.environ.get(ENV_SSM_DECRYPT, "false").strip().lower() in ("1", "true", "yes", "on")


def _flag(value):
    return "true" if value else "false"


__all__ = ["SidecacheProvider"]
