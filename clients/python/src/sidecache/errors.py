"""Typed exceptions for sidecache's JSON errors: `{"__type": ..., "message": ...}` plus a status.

The class is chosen by HTTP status, which sidecache keeps distinct per cause (docs/api.md,
"Status codes"); `error_type` keeps the exact `__type` for finer checks.
"""

import json


class SidecacheError(Exception):
    """Any error answered by sidecache, or sidecache not answering at all.

    `status` is the HTTP status (None when no answer came), `error_type` the JSON `__type`
    (e.g. "ParameterNotFound"), `message` sidecache's message, which never holds a value or
    the token.
    """

    def __init__(self, status, error_type, message):
        super().__init__(f"{error_type} (HTTP {status}): {message}" if status else f"{error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message


class BadRequest(SidecacheError):
    """400: a malformed name or query, or AWS refused the request as invalid."""


class AccessDenied(SidecacheError):
    """403: a missing or wrong token, or the function's role may not read or decrypt the value."""


class NotFound(SidecacheError):
    """404: the parameter, secret, version, bucket or object does not exist."""


class Throttled(SidecacheError):
    """429: AWS throttled the call after the SDK's own retries."""


class UpstreamUnavailable(SidecacheError):
    """502/503: AWS could not be reached, or answered 5xx, after retries."""


class Timeout(SidecacheError):
    """504: the AWS call ran out of time."""


class Unreachable(SidecacheError):
    """Nothing answered on the port: the extension is not in the function, or never started."""


_BY_STATUS = {
    400: BadRequest,
    403: AccessDenied,
    404: NotFound,
    429: Throttled,
    502: UpstreamUnavailable,
    503: UpstreamUnavailable,
    504: Timeout,
}


def error_from_response(status, body):
    """The exception for an error answer; `body` is its raw bytes (JSON when sidecache wrote it)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        parsed = {}
    error_type = parsed.get("__type") or f"HTTP{status}"
    message = parsed.get("message") or ""
    return _BY_STATUS.get(status, SidecacheError)(status, error_type, message)
