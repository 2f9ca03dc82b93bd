"""lambda-cache's `secrets_manager` module with sidecache behind it.

    from sidecache import secrets_manager

    @secrets_manager.cache(name="prod/db", max_age_in_seconds=300)
    def handler(event, context):
        secret = getattr(context, "db")   # str (SecretString) or bytes (SecretBinary)
"""

from . import entries
from .client import default_client
from .entries import DEFAULT_MAX_AGE_IN_SECONDS


def cache(name, max_age_in_seconds=DEFAULT_MAX_AGE_IN_SECONDS, entry_name=None):
    """Decorate a handler: `context.<entry_name>` holds the secret's value as stored."""
    return entries.decorator(_fetch, name, max_age_in_seconds, entry_name)


def get_entry(name, max_age_in_seconds=DEFAULT_MAX_AGE_IN_SECONDS, entry_name=None):
    """The secret's value, str or bytes as stored; 0 forces a refresh."""
    return entries.get_entry(_fetch, name, max_age_in_seconds, entry_name)


def _fetch(name, max_age_in_seconds, _entry_name):
    if not isinstance(name, str):
        from .exceptions import ArgumentTypeNotSupportedError

        raise ArgumentTypeNotSupportedError(
            f"Secrets Manager only supports str arguments: {name!r} is not a string")
    return default_client().secret(name, max_age=max_age_in_seconds)
