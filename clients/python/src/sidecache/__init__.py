"""sidecache's handler-side client: lambda-cache's decorators, AppConfig and a plain client.

    from sidecache import ssm, secrets_manager, s3   # lambda-cache's API
    from sidecache import appconfig                  # Powertools' get_app_config, flags
    import sidecache; sidecache.Client().parameter("/app/db/url")

Standard library only, and little of it: `import sidecache` loads this package's client,
connection and encoding modules, and `socket`: a cold start's import and first value cost
about what a bare socket read does (docs/clients-python.md, "Cold start"). Everything else
loads on first use: the error classes (`sidecache.NotFound`...) when first named or raised,
the lambda-cache modules (`ssm`, `secrets_manager`, `s3`, `exceptions`), `appconfig` and
`powertools` whether imported (`from sidecache import ssm`) or reached as attributes
(`sidecache.ssm`).
"""

from .client import Client, default_client, set_default_client

__version__ = "0.1.0"

_ERRORS = frozenset(("AccessDenied", "BadRequest", "NotFound", "SidecacheError", "Throttled",
                     "Timeout", "Unreachable", "UpstreamUnavailable"))
_SUBMODULES = frozenset(("ssm", "secrets_manager", "s3", "exceptions", "entries", "errors",
                         "powertools", "appconfig"))


def __getattr__(name):
    # PEP 562: reached for names not yet in the module, by `sidecache.X` and by
    # `from sidecache import X` alike; what is loaded is then kept as a module attribute.
    if name in _ERRORS:
        from . import errors

        value = getattr(errors, name)
    elif name in _SUBMODULES:
        from importlib import import_module

        value = import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | _ERRORS | _SUBMODULES)


__all__ = [
    "AccessDenied",
    "BadRequest",
    "Client",
    "NotFound",
    "SidecacheError",
    "Throttled",
    "Timeout",
    "Unreachable",
    "UpstreamUnavailable",
    "default_client",
    "set_default_client",
]
