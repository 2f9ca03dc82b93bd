"""lambda-cache's decorator mechanics, shared by the ssm, secrets_manager and s3 modules.

lambda-cache keeps values in a module-level dict per process; here the cache is sidecache,
shared by every runtime and process in the function, so each decorated call asks sidecache
with `maxAge=max_age_in_seconds` (a local hit on a kept-alive connection) and injects what it
gets. The entry names, the injection into `context`, and when each misuse is raised are
lambda-cache's: arguments are checked when the handler is called, never when it is decorated,
so a module with a wrong argument still imports (as with lambda-cache) and fails on its first
invocation.
"""

import functools

DEFAULT_MAX_AGE_IN_SECONDS = 60
# lambda-cache's exceptions, reachable from here as well as from sidecache.exceptions; that
# module is imported when one is raised or named, not by a handler that only reads values.
_EXCEPTIONS = frozenset(("ArgumentTypeNotSupportedError", "InvalidS3UriError",
                         "LambdaCacheError", "NoEntryNameError"))


def __getattr__(name):
    if name in _EXCEPTIONS:
        from . import exceptions

        return getattr(exceptions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def entry_name_for(argument, entry_name=None):
    """The name a value is injected under, as lambda-cache's get_entry_name decides it.

    A str: `entry_name`, else the part after its last `/`. An int, list or dict: `entry_name`,
    which it then needs (NoEntryNameError). Anything else (a tuple, None, a float):
    ArgumentTypeNotSupportedError. Whether the decorator can read such a name at all is the
    decorator module's check, made after this one as in lambda-cache.
    """
    if isinstance(argument, str):
        return entry_name or argument.split("/")[-1]
    # lambda-cache compares exact types: a tuple is not a list.
    from . import exceptions

    if type(argument) in (int, list, dict):
        if not entry_name:
            raise exceptions.NoEntryNameError(
                "You must specify an entry_name for arguments of type list, dict or int")
        return entry_name
    raise exceptions.ArgumentTypeNotSupportedError(
        "Argument can only be of Type str, int, list or dict")


def decorator(fetch, argument, max_age_in_seconds, entry_name):
    """A handler decorator that sets `context.<entry name>` to `fetch(argument, max_age, name)`
    on every call."""

    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(event, context):
            name = entry_name_for(argument, entry_name)
            setattr(context, name, fetch(argument, max_age_in_seconds, name))
            return handler(event, context)

        return wrapper

    return decorate


def get_entry(fetch, argument, max_age_in_seconds, entry_name):
    """The value itself, as lambda-cache's get_entry returns it (0 forces a refresh)."""
    return fetch(argument, max_age_in_seconds, entry_name_for(argument, entry_name))


__all__ = ["DEFAULT_MAX_AGE_IN_SECONDS", "ArgumentTypeNotSupportedError", "InvalidS3UriError",
           "LambdaCacheError", "NoEntryNameError", "decorator", "entry_name_for", "get_entry"]
