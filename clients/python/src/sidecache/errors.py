"""Typed exceptions for sidecache's JSON errors: `{"__type": ..., "message": ...}` plus a status.

The class is chosen by HTTP status, which sidecache keeps distinct per cause (docs/api.md,
"Status codes"); `error_type` keeps the exact `__type` for finer checks.

A handler written for boto3 or lambda-cache catches AWS's answers as
`botocore.exceptions.ClientError` and reads `e.response["Error"]["Code"]`. So that such a
handler keeps working when only its import changes, the errors of the 4xx classes below
(NotFound, AccessDenied, BadRequest, Throttled) are raised, when botocore is importable, as a
subclass of both the sidecache class and ClientError, with ClientError's `response` and
`operation_name`. botocore is imported on that error path only, never for a value: it is in
every Lambda Python runtime, and costs a cold start tens of milliseconds.
"""


class SidecacheError(Exception):
    """Any error answered by sidecache, or sidecache not answering at all.

    `status` is the HTTP status (None when no answer came), `error_type` the JSON `__type`
    (e.g. "ParameterNotFound"), `message` sidecache's message, which never holds a value or
    the token.
    """

    def __init__(self, status, error_type, message):
        # Exception's own: in the classes that are also ClientError, super() would be its
        # __init__, which takes other arguments.
        Exception.__init__(self, f"{error_type} (HTTP {status}): {message}" if status
                           else f"{error_type}: {message}")
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

# The AWS operation behind each endpoint, for ClientError's `operation_name`.
OPERATIONS = {
    "/systemsmanager/parameters/get": "GetParameter",
    "/systemsmanager/parameters/get-many": "GetParameters",
    "/systemsmanager/parameters/by-path": "GetParametersByPath",
    "/secretsmanager/get": "GetSecretValue",
    "/secretsmanager/get-many": "BatchGetSecretValue",
    "/s3/get": "GetObject",
}

# The AppConfig Agent's route: /applications/{app}/environments/{env}/configurations/{profile}.
APPCONFIG_PREFIX = "/applications/"


def operation_for(endpoint):
    """The AWS operation behind an endpoint (None for sidecache's own, like /stats)."""
    if endpoint.startswith(APPCONFIG_PREFIX):
        return "GetLatestConfiguration"
    return OPERATIONS.get(endpoint)


_CLIENT_ERROR_CLASSES = (BadRequest, AccessDenied, NotFound, Throttled)
_with_client_error = {}  # sidecache class -> its subclass that is also a ClientError


def make_error(status, error_type, message, operation=None):
    """The exception for an answer with this status and `__type`: the class for the status,
    also a botocore ClientError for the 4xx classes when botocore can be imported."""
    cls = _BY_STATUS.get(status, SidecacheError)
    if cls in _CLIENT_ERROR_CLASSES:
        mixed = _client_error_class(cls)
        if mixed is not None:
            return mixed(status, error_type, message, operation)
    return cls(status, error_type, message)


def error_from_response(status, body, operation=None):
    """The exception for an error answer; `body` is its raw bytes (JSON when sidecache wrote it)."""
    from .jsonreader import loads

    try:
        parsed = loads(body)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        parsed = {}
    error_type = parsed.get("__type") or f"HTTP{status}"
    message = parsed.get("message") or ""
    return make_error(status, error_type, message, operation)


def _client_error_class(cls):
    if cls not in _with_client_error:
        try:
            from botocore.exceptions import ClientError
        except ImportError:
            _with_client_error[cls] = None
        else:
            _with_client_error[cls] = type(cls.__name__, (cls, ClientError), {
                "__module__": __name__,
                "__qualname__": cls.__qualname__,
                "__doc__": cls.__doc__,
                "__init__": _client_error_init,
                "__reduce__": _client_error_reduce,
            })
    return _with_client_error[cls]


def _client_error_init(self, status, error_type, message, operation=None):
    # The sidecache side's message and fields; ClientError's own __init__ would replace the
    # message with botocore's template, so its two attributes are set here instead.
    SidecacheError.__init__(self, status, error_type, message)
    self.response = {"Error": {"Code": error_type, "Message": message},
                     "ResponseMetadata": {"HTTPStatusCode": status}}
    self.operation_name = operation or "Unknown"


def _client_error_reduce(self):
    # ClientError pickles as (response, operation_name), which this __init__ does not take.
    return make_error, (self.status, self.error_type, self.message, self.operation_name)
