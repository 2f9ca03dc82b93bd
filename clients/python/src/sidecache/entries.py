"""lambda-cache's decorator mechanics, shared by the ssm, secrets_manager and s3 modules.

lambda-cache keeps values in a module-level dict per process; here the cache is sidecache,
shared by every runtime and process in the function, so each decorated call asks sidecache
with `maxAge=max_age_in_seconds` (a local hit on a kept-alive connection) and injects what it
gets. The entry names and the injection into `context` are lambda-cache's.
"""

import functools

DEFAULT_MAX_AGE_IN_SECONDS = 60


class LambdaCacheError(Exception):
    """Wrong use of a decorator (lambda-cache's base class of the same name)."""


class NoEntryNameError(LambdaCacheError):
    """A list of parameters needs an entry_name to group them under."""


class ArgumentTypeNotSupportedError(LambdaCacheError):
    """The name is neither a str nor (for SSM) a list of str."""


class InvalidS3UriError(LambdaCacheError):
    """An S3 URI not of the form s3://bucket/key."""


def entry_name_for(argument, entry_name=None):
    """The name a value is injected under: `entry_name`, else the part after the last `/`."""
    if isinstance(argument, str):
        return entry_name or argument.split("/")[-1]
    if isinstance(argument, (list, tuple)):
        if not entry_name:
            raise NoEntryNameError("entry_name is required when caching a list of names")
        return entry_name
    raise ArgumentTypeNotSupportedError(
        f"a name must be a str (or a list of str for SSM), not {type(argument).__name__}")


def decorator(fetch, argument, max_age_in_seconds, entry_name):
    """A handler decorator that sets `context.<entry name>` to `fetch(argument, max_age)`."""
    name = entry_name_for(argument, entry_name)

    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(event, context):
            setattr(context, name, fetch(argument, max_age_in_seconds, name))
            return handler(event, context)

        return wrapper

    return decorate


def get_entry(fetch, argument, max_age_in_seconds, entry_name):
    """The value itself, as lambda-cache's get_entry returns it (0 forces a refresh)."""
    return fetch(argument, max_age_in_seconds, entry_name_for(argument, entry_name))
