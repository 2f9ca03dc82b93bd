"""AWS AppConfig through sidecache: Powertools' `get_app_config`, feature flags, a decorator.

    from sidecache import appconfig

    # was: from aws_lambda_powertools.utilities.parameters import get_app_config
    config = appconfig.get_app_config("settings", environment="prod", application="shop",
                                      transform="json")
    if appconfig.is_enabled("new_checkout", name="flags", environment="prod", application="shop"):
        ...

    @appconfig.cache(name="settings", environment="prod", application="shop", transform="json")
    def handler(event, context):
        limit = context.settings["limit"]

Every read is one request to sidecache's main port with the token, on the AppConfig Agent's
route (`/applications/{app}/environments/{env}/configurations/{profile}`), through the package's
shared client: it works whether or not the agent's own port (2772) is on. sidecache holds one
AppConfig Data session per profile and answers from memory within its poll interval
(`AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS`, 45 s by default; docs/appconfig.md): there is
no second cache in this process, so every runtime of the function sees the same configuration.

Standard library only, and on first use only: `json`'s C scanner for `transform="json"` and
flags, `base64` for `transform="binary"`, the error classes when an error is raised.
"""

import os

from .client import default_client

# Powertools' variable for the application when none is given (its `service_undefined` else).
ENV_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
TRANSFORMS = (None, "json", "binary", "auto")
# StartConfigurationSession's own option, which Powertools' SDK provider passes through: the
# session's minimum poll interval. sidecache sets it from its poll interval
# (AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS), so a call that passes it runs unchanged.
_SESSION_OPTIONS = frozenset(("RequiredMinimumPollIntervalInSeconds",))


def get_app_config(name, environment, application=None, transform=None, force_fetch=False,
                   max_age=None, *, flag=None, client=None, **sdk_options):
    """A configuration profile's content, as Powertools' `parameters.get_app_config` gives it:
    bytes as deployed, or `transform`ed ("json": parsed; "binary": base64-decoded bytes;
    "auto": by the name's suffix, `.json` or `.binary`, else as it is).

    `name` is the configuration profile (name or id); `application` defaults to
    `POWERTOOLS_SERVICE_NAME`, as in Powertools. `flag` (a key, or a list of keys) reads those
    flags of a feature-flag profile (as Powertools' `AppConfigExtensionProvider` passes it):
    one flag's object, or an object keyed by flag.

    `max_age` and `force_fetch` are accepted so that Powertools calls run unchanged; neither
    reaches AppConfig sooner: the configuration is at most sidecache's poll interval old
    (docs/clients-python.md, "AppConfig"). Errors are the package's: `NotFound` for an unknown
    application, environment, profile or flag, `BadRequest`, `UpstreamUnavailable`, `Timeout`;
    a transform that fails raises `ValueError` (the JSON or base64 error).
    """
    unknown = set(sdk_options) - _SESSION_OPTIONS
    if unknown:
        raise TypeError(f"get_app_config() got unexpected keyword arguments: "
                        f"{', '.join(sorted(unknown))}")
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {TRANSFORMS}, not {transform!r}")
    content = (client or default_client()).app_config(_application(application), environment,
                                                       name, flags=flag)
    return transform_value(content, transform, name)


def get_flag(flag, name, environment, application=None, *, client=None):
    """One feature flag's object from a feature-flag profile: `{"enabled": True, ...}` with
    its attributes. An unknown flag raises `NotFound` (`error_type` "FlagNotFound")."""
    from .jsonreader import loads

    return loads((client or default_client()).app_config(_application(application), environment,
                                                         name, flags=_one_flag(flag)))


def is_enabled(flag, name, environment, application=None, default=False, *, client=None):
    """Whether a feature flag is enabled: its `enabled`, or `default` when the profile has no
    such flag. Anything else (an unknown profile, a profile not in feature-flag form, sidecache
    unreachable) raises, as a misconfiguration should."""
    try:
        value = get_flag(flag, name, environment, application, client=client)
    except Exception as error:  # only the flag's absence is answered with the default
        if getattr(error, "error_type", None) == "FlagNotFound":
            return default
        raise
    return value.get("enabled") is True


def cache(name, environment, application=None, transform=None, entry_name=None, flag=None):
    """Decorate a handler (lambda-cache's style): `context.<entry_name>` holds
    `get_app_config(name, environment, application, transform, flag=flag)`, read on every
    call (a local hit within sidecache's poll interval). `entry_name` defaults to the part of
    `name` after its last `/`."""
    from . import entries

    def fetch(profile, _max_age, _entry_name):
        if not isinstance(profile, str):
            from .exceptions import ArgumentTypeNotSupportedError

            raise ArgumentTypeNotSupportedError(
                f"AppConfig only supports str profile names: {profile!r} is not a string")
        return get_app_config(profile, environment, application, transform, flag=flag)

    return entries.decorator(fetch, name, None, entry_name)


def transform_value(value, transform, name=""):
    """Powertools' transforms on bytes: None as it is, "json" parsed, "binary" base64-decoded,
    "auto" by `name`'s suffix (`.json`, `.binary`)."""
    if transform == "auto":
        suffix = name.rsplit(".", 1)[-1] if "." in name else ""
        transform = suffix if suffix in ("json", "binary") else None
    if transform is None:
        return value
    if transform == "json":
        from .jsonreader import loads

        return loads(value)
    if transform == "binary":
        import base64

        return base64.b64decode(value)
    raise ValueError(f"transform must be one of {TRANSFORMS}, not {transform!r}")


def _application(application):
    if application is not None:
        return application
    return os.environ.get(ENV_SERVICE_NAME) or "service_undefined"


def _one_flag(flag):
    if not isinstance(flag, str) or not flag:
        raise TypeError(f"a flag key is a non-empty str, not {flag!r}")
    return flag


__all__ = ["cache", "get_app_config", "get_flag", "is_enabled", "transform_value"]
