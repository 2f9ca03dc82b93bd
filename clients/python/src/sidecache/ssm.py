"""lambda-cache's `ssm` module with sidecache behind it.

    from sidecache import ssm

    @ssm.cache(parameter="/prod/app/var", max_age_in_seconds=60)
    def handler(event, context):
        var = getattr(context, "var")

SecureStrings come back decrypted, StringLists as lists. A list of parameters is one
`get-many` request and injects {short name: value} under the required `entry_name`; as with
lambda-cache's GetParameters call, a name that does not exist is left out of that dict.
"""

from . import entries
from .client import default_client
from .entries import DEFAULT_MAX_AGE_IN_SECONDS


def cache(parameter, max_age_in_seconds=DEFAULT_MAX_AGE_IN_SECONDS, entry_name=None):
    """Decorate a handler: `context.<entry_name>` holds the parameter's value (or dict)."""
    return entries.decorator(_fetch, parameter, max_age_in_seconds, entry_name)


def get_entry(parameter, max_age_in_seconds=DEFAULT_MAX_AGE_IN_SECONDS, entry_name=None):
    """The parameter's value (or {short name: value} for a list); 0 forces a refresh."""
    return entries.get_entry(_fetch, parameter, max_age_in_seconds, entry_name)


def _fetch(parameter, max_age_in_seconds, _entry_name):
    client = default_client()
    if isinstance(parameter, str):
        return client.parameter(parameter, max_age=max_age_in_seconds)
    if type(parameter) is not list or not all(isinstance(name, str) for name in parameter):
        # lambda-cache's error for an int or a dict; for a list holding something else than
        # names, lambda-cache lets botocore refuse it (ParamValidationError).
        from .exceptions import ArgumentTypeNotSupportedError

        raise ArgumentTypeNotSupportedError(
            f"Only str or list of str supported for ssm, {parameter!r} is of type "
            f"{type(parameter).__name__}")
    values = client.parameters(parameter, max_age=max_age_in_seconds, missing_ok=True)
    return {entries.entry_name_for(name): value for name, value in values.items()}
