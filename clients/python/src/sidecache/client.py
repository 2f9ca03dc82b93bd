"""The plain client: one keep-alive connection to sidecache, typed errors, a start-up retry.

What a cold start pays for `import sidecache` and a first value is kept at what a bare socket
read costs (docs/clients-python.md, "Cold start"): the HTTP/1.1 exchange is sidecache.connection
over `socket`, and nothing else is imported until a call needs it: sidecache.jsonreader for
an answer that needs a JSON parser, sidecache.errors (and botocore) on an error path. A secret
is read with `format=raw`, its bare value, so no JSON is parsed for it at all; a parameter's
answer is read by `parameter_from_body` without a JSON parser when it can be.

One connection per client is reused across invocations: a cache hit then costs one request on
an open socket instead of a TCP handshake plus a request (docs/performance.md: a hit on a new
connection costs sidecache about twice the instructions of one on a kept-alive connection).
"""

import os
import time
from _thread import allocate_lock  # threading.Lock itself, without importing threading

from .connection import BrokenAnswer, Connection, StaleConnection, query_string, quote

DEFAULT_PORT = 2773
ENV_PORT = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
# The token, in this order: SIDECACHE_TOKEN, else the contents of SIDECACHE_TOKEN_FILE
# (trimmed), else AWS_SESSION_TOKEN, else AWS_CONTAINER_AUTHORIZATION_TOKEN (SnapStart and
# Lambda Managed Instances have no session token in the handler's environment; sidecache
# accepts that value there).
ENV_TOKEN = "SIDECACHE_TOKEN"
ENV_TOKEN_FILE = "SIDECACHE_TOKEN_FILE"
ENV_SESSION_TOKEN = "AWS_SESSION_TOKEN"
ENV_CONTAINER_TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
# How long a refused connection is retried: an extension that starts with the function may
# still be binding its port when INIT code makes the first call.
DEFAULT_STARTUP_WAIT = 5.0
_FIRST_BACKOFF = 0.02
_MAX_BACKOFF = 0.25


def _token_from_env():
    environ = os.environ
    if environ.get(ENV_TOKEN):
        return environ[ENV_TOKEN]
    if environ.get(ENV_TOKEN_FILE):
        return _read_token_file(environ[ENV_TOKEN_FILE])
    return environ.get(ENV_SESSION_TOKEN) or environ.get(ENV_CONTAINER_TOKEN, "")


def _read_token_file(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""  # answered 403 MissingToken/InvalidToken, which says what is wrong


def _token_header(token):
    # Header injection is refused here rather than sent: a token never holds CR or LF.
    if "\r" in token or "\n" in token:
        token = ""
    return f"{TOKEN_HEADER}: {token}\r\n".encode("latin-1", "replace")


class Client:
    """Reads parameters, secrets, S3 object paths and AppConfig configurations through
    sidecache.

    Every read of a parameter, secret or object takes `max_age` (seconds; sidecache's
    `maxAge`): serve a value at most that old, else fetch it again; 0 forces a fetch. None
    leaves it to sidecache's TTL. AppConfig configurations follow sidecache's poll interval.
    """

    def __init__(self, port=None, token=None, host="127.0.0.1", timeout=10.0,
                 startup_wait=DEFAULT_STARTUP_WAIT):
        self.host = host
        self.port = int(port if port is not None else os.environ.get(ENV_PORT) or DEFAULT_PORT)
        self.timeout = timeout
        self.startup_wait = startup_wait
        self._token = token if token is not None else _token_from_env()
        self._header_block = _token_header(self._token)
        # A token read from SIDECACHE_TOKEN_FILE may be rotated: re-read on a 403.
        self._token_file = (os.environ.get(ENV_TOKEN_FILE)
                            if token is None and not os.environ.get(ENV_TOKEN) else None)
        self._connection = None
        # X-Cache of the last value answer (hit, miss, refresh, stale): for logs and metrics.
        self.last_cache_status = None
        # One connection carries one request at a time; handlers that read from threads share
        # it in turn.
        self._lock = allocate_lock()

    # --- values ---------------------------------------------------------------------------

    def parameter(self, name, max_age=None, decrypt=True, region=None, role_arn=None):
        """The value of one SSM parameter: a str, or a list of str for a StringList."""
        body = self.get("/systemsmanager/parameters/get", name=name,
                        withDecryption=_bool(decrypt), maxAge=max_age, region=region,
                        roleArn=role_arn)[1]
        return parameter_from_body(body)

    def parameters(self, names, max_age=None, decrypt=True, missing_ok=False, region=None,
                   role_arn=None):
        """Several parameters in one request: {parameter name: value}.

        A name that does not exist raises NotFound (naming every missing one), unless
        `missing_ok`, when it is left out of the result as GetParameters does.
        """
        names = list(names)
        if not names:
            return {}
        endpoint = "/systemsmanager/parameters/get-many"
        body = self.get_json(endpoint, names=",".join(names), withDecryption=_bool(decrypt),
                             maxAge=max_age, region=region, roleArn=role_arn)
        invalid = body.get("InvalidParameters") or []
        if invalid and not missing_ok:
            from .errors import OPERATIONS, make_error

            raise make_error(404, "ParameterNotFound",
                             "parameters not found: " + ", ".join(invalid), OPERATIONS[endpoint])
        return {record["Name"]: parameter_value(record) for record in body.get("Parameters") or []}

    def parameters_by_path(self, path, recursive=False, max_age=None, decrypt=True, region=None,
                           role_arn=None):
        """Every parameter under a path: {full name: value}."""
        body = self.get_json("/systemsmanager/parameters/by-path", path=path,
                             recursive=_bool(recursive), withDecryption=_bool(decrypt),
                             maxAge=max_age, region=region, roleArn=role_arn)
        return {record["Name"]: parameter_value(record) for record in body.get("Parameters") or []}

    def secret(self, secret_id, max_age=None, version_stage=None, version_id=None, region=None,
               role_arn=None):
        """A secret's value as stored: str for SecretString, bytes for SecretBinary."""
        # format=raw: the bare value, typed by Content-Type (text/plain for a SecretString,
        # application/octet-stream for a SecretBinary's decoded bytes).
        headers, body = self.get("/secretsmanager/get", secretId=secret_id,
                                 versionStage=version_stage, versionId=version_id,
                                 maxAge=max_age, region=region, roleArn=role_arn, format="raw")
        if headers.get("Content-Type", "").startswith("text/"):
            return body.decode("utf-8")
        return body

    def object_path(self, uri, max_age=None, version_id=None, region=None, role_arn=None):
        """The local path of an S3 object (`s3://bucket/key`) that sidecache downloaded."""
        return self.object_info(uri, max_age, version_id, region, role_arn)["path"]

    def object_info(self, uri, max_age=None, version_id=None, region=None, role_arn=None):
        """The whole /s3/get answer: path, bucket, key, etag, size, lastModified, contentType."""
        return self.get_json("/s3/get", uri=uri, versionId=version_id, maxAge=max_age,
                             region=region, roleArn=role_arn)

    def object_bytes(self, uri, max_age=None, version_id=None):
        """The object's bytes over HTTP (`format=raw`), for when sidecache's files are not
        visible to this process (a sidecar in another container)."""
        return self.get("/s3/get", uri=uri, versionId=version_id, maxAge=max_age, format="raw")[1]

    def app_config(self, application, environment, configuration, flags=None):
        """An AWS AppConfig configuration's content, bytes as deployed (names or ids).

        `flags` (a flag key, or a list of them) reads a feature-flag profile's flags instead:
        one flag's object as JSON, `{"enabled": true, ...}`, or for a list an object keyed by
        flag. The configuration is as fresh as sidecache's AppConfig poll interval
        (`AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS`, docs/appconfig.md): there is no
        `max_age` here, sidecache decides when to ask AppConfig again.
        """
        return self.get(app_config_path(application, environment, configuration),
                        flag=flags)[1]

    def app_config_info(self, application, environment, configuration, flags=None):
        """`app_config` with what the answer says about it: {"content": bytes,
        "content_type", "version_label" (None without a label), "version" (sidecache's
        per-profile counter, an int)}."""
        headers, body = self.get(app_config_path(application, environment, configuration),
                                 flag=flags)
        version = headers.get("configuration-version")
        return {"content": body, "content_type": headers.get("content-type"),
                "version_label": headers.get("version-label"),
                "version": int(version) if version and version.isdigit() else None}

    def stats(self):
        """sidecache's counters (GET /stats)."""
        return self.get_json("/stats")

    # --- HTTP ----------------------------------------------------------------------------

    def get_json(self, endpoint, /, **query):
        """GET an endpoint and parse its JSON answer; None-valued query entries are left out."""
        from .jsonreader import loads

        return loads(self.get(endpoint, **query)[1])

    def get(self, endpoint, /, **query):
        """GET an endpoint: (headers, body bytes) of a 2xx answer, else the typed exception.

        `headers` is a dict by lower-case name whose `get` and `[]` take any case.
        """
        max_age = query.get("maxAge")
        if max_age is not None and not isinstance(max_age, int):
            # sidecache takes whole seconds; lambda-cache's max_age_in_seconds may be 1.5.
            # Rounded down: a value is never older than asked.
            query["maxAge"] = int(max_age)
        encoded = query_string(query)
        target = f"{endpoint}?{encoded}" if encoded else endpoint
        with self._lock:
            status, headers, body = self._send(target)
            if status == 403 and self._token_file and self._token_rotated():
                status, headers, body = self._send(target)
            self.last_cache_status = headers.get("x-cache")
        if status >= 400:
            from .errors import error_from_response, operation_for

            raise error_from_response(status, body, operation_for(endpoint))
        return headers, body

    def close(self):
        with self._lock:
            self._drop()

    def _send(self, target):
        deadline = None
        backoff = _FIRST_BACKOFF
        while True:
            reused = self._connection is not None
            try:
                if not reused:
                    self._connection = Connection(self.host, self.port, self.timeout)
                status, headers, body, will_close = self._connection.get(target,
                                                                         self._header_block)
                if will_close:
                    self._drop()
                return status, headers, body
            except StaleConnection as error:
                self._drop()
                if not reused:
                    raise _unreachable("ConnectionClosed",
                                       f"sidecache on {self.host}:{self.port} closed the "
                                       f"connection: {error}") from error
                # A pooled connection closed while idle: one fresh try at once.
            except (ConnectionResetError, BrokenPipeError) as error:
                self._drop()
                if not reused:
                    raise _unreachable("ConnectionClosed",
                                       f"sidecache on {self.host}:{self.port} closed the "
                                       f"connection: {error!r}") from error
                # As above: a reset on a pooled connection is one that was closed while idle.
            except ConnectionRefusedError as error:
                self._drop()
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.startup_wait
                if now + backoff > deadline:
                    raise _unreachable("ConnectionRefused",
                                       f"nothing listens on {self.host}:{self.port} after "
                                       f"{self.startup_wait:g} s: is the sidecache layer "
                                       f"added to the function?") from error
                time.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
            except BrokenAnswer as error:
                self._drop()
                raise _unreachable("BrokenAnswer",
                                   f"sidecache on {self.host}:{self.port}: {error}") from error
            except OSError as error:  # timeouts, unreachable host
                self._drop()
                raise _unreachable(type(error).__name__,
                                   f"sidecache on {self.host}:{self.port}: {error}") from error

    def _token_rotated(self):
        token = _read_token_file(self._token_file)
        if token == self._token:
            return False
        self._token = token
        self._header_block = _token_header(token)
        return True

    def _drop(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _unreachable(error_type, message):
    from .errors import Unreachable

    return Unreachable(None, error_type, message)


def app_config_path(application, environment, configuration):
    """The AppConfig Agent's route for a configuration profile, each identifier encoded as
    one path segment (a name holding `/` as `%2F`)."""
    return (f"/applications/{_segment(application)}/environments/{_segment(environment)}"
            f"/configurations/{_segment(configuration)}")


def _segment(identifier):
    if not isinstance(identifier, str) or not identifier:
        raise TypeError(f"an AppConfig identifier is a non-empty str, not {identifier!r}")
    return quote(identifier).replace("/", "%2F")


def parameter_from_body(body):
    """The value in a GetParameter answer (`{"Parameter": {..., "Type", "Value", ...}}`)."""
    text = body.decode("utf-8")
    kind = string_field(text, "Type")
    value = string_field(text, "Value")
    if kind is None or value is None:  # an escape in the value (or no value): parse it all
        from .jsonreader import loads

        return parameter_value(loads(text)["Parameter"])
    return value.split(",") if kind == "StringList" else value


def string_field(text, key):
    """The value of the string member `key` of a flat JSON answer, read without a parser when
    it holds no escape, else None (then the caller parses the whole text).

    Sound for sidecache's answers, whose keys are fixed and each appears once: in JSON text a
    quote inside a string is always escaped, so `"key":"` can only be that member's start, and
    the next quote ends its value unless a backslash, which this then refuses, came before it.
    """
    marker = f'"{key}":"'
    start = text.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = text.find('"', start)
    if end < 0:
        return None
    value = text[start:end]
    return None if "\\" in value else value


def parameter_value(record):
    """A GetParameter(s) record's value as lambda-cache gives it: StringList split on commas."""
    value = record["Value"]
    return value.split(",") if record.get("Type") == "StringList" else value


def _bool(flag):
    return "true" if flag else "false"


_default = None
_default_lock = allocate_lock()


def default_client():
    """The module-wide client the decorators share: created on first use, so the token and
    port are read from the environment then (Lambda sets both before INIT)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Client()
    return _default


def set_default_client(client):
    """Replace the shared client (e.g. another port or host); returns the previous one."""
    global _default
    previous, _default = _default, client
    return previous
