"""The plain client: one keep-alive connection to sidecache, typed errors, a start-up retry.

Standard library only (http.client), so a handler pays no SDK import. One connection per
client is reused across invocations: a cache hit then costs one request on an open socket
instead of a TCP handshake plus a request (docs/api.md; /work/shared/notes: a hit on a new
connection costs sidecache ~3x the instructions of one on a kept-alive connection).
"""

import base64
import http.client
import json
import os
import threading
import time
from urllib.parse import urlencode

from .errors import NotFound, SidecacheError, Unreachable, error_from_response

DEFAULT_PORT = 2773
ENV_PORT = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
# The token, in the extension's own order: SIDECACHE_TOKEN, else the contents of
# SIDECACHE_TOKEN_FILE (trimmed), else AWS_SESSION_TOKEN.
ENV_TOKEN = "SIDECACHE_TOKEN"
ENV_TOKEN_FILE = "SIDECACHE_TOKEN_FILE"
ENV_SESSION_TOKEN = "AWS_SESSION_TOKEN"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
# How long a refused connection is retried: an extension that starts with the function may
# still be binding its port when INIT code makes the first call.
DEFAULT_STARTUP_WAIT = 5.0
_FIRST_BACKOFF = 0.02
_MAX_BACKOFF = 0.25
# Errors that mean a kept-alive connection was closed by the other side while idle: the request
# never reached sidecache, so sending it again on a new connection is safe (all reads are GETs).
_STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                     http.client.BadStatusLine)


def _token_from_env():
    if os.environ.get(ENV_TOKEN):
        return os.environ[ENV_TOKEN]
    if os.environ.get(ENV_TOKEN_FILE):
        return _read_token_file(os.environ[ENV_TOKEN_FILE])
    return os.environ.get(ENV_SESSION_TOKEN, "")


def _read_token_file(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""  # answered 403 MissingToken/InvalidToken, which says what is wrong


class Client:
    """Reads parameters, secrets and S3 object paths through sidecache.

    Every read takes `max_age` (seconds; sidecache's `maxAge`): serve a value at most that old,
    else fetch it again; 0 forces a fetch. None leaves it to sidecache's TTL.
    """

    def __init__(self, port=None, token=None, host="127.0.0.1", timeout=10.0,
                 startup_wait=DEFAULT_STARTUP_WAIT):
        self.host = host
        self.port = int(port if port is not None else os.environ.get(ENV_PORT) or DEFAULT_PORT)
        self.timeout = timeout
        self.startup_wait = startup_wait
        self._headers = {TOKEN_HEADER: token if token is not None else _token_from_env()}
        # A token read from SIDECACHE_TOKEN_FILE may be rotated: re-read on InvalidToken.
        self._token_file = (os.environ.get(ENV_TOKEN_FILE)
                            if token is None and not os.environ.get(ENV_TOKEN) else None)
        self._connection = None
        # X-Cache of the last value answer (hit, miss, refresh, stale): for logs and metrics.
        self.last_cache_status = None
        # http.client connections are not thread-safe; handlers that read from threads share
        # the one connection in turn.
        self._lock = threading.Lock()

    # --- values ---------------------------------------------------------------------------

    def parameter(self, name, max_age=None, decrypt=True, region=None, role_arn=None):
        """The value of one SSM parameter: a str, or a list of str for a StringList."""
        body = self.get_json("/systemsmanager/parameters/get", name=name,
                             withDecryption=_bool(decrypt), maxAge=max_age, region=region,
                             roleArn=role_arn)
        return parameter_value(body["Parameter"])

    def parameters(self, names, max_age=None, decrypt=True, missing_ok=False, region=None,
                   role_arn=None):
        """Several parameters in one request: {parameter name: value}.

        A name that does not exist raises NotFound (naming every missing one), unless
        `missing_ok`, when it is left out of the result as GetParameters does.
        """
        names = list(names)
        if not names:
            return {}
        body = self.get_json("/systemsmanager/parameters/get-many", names=",".join(names),
                             withDecryption=_bool(decrypt), maxAge=max_age, region=region,
                             roleArn=role_arn)
        invalid = body.get("InvalidParameters") or []
        if invalid and not missing_ok:
            raise NotFound(404, "ParameterNotFound", "parameters not found: " + ", ".join(invalid))
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
        body = self.get_json("/secretsmanager/get", secretId=secret_id, versionStage=version_stage,
                             versionId=version_id, maxAge=max_age, region=region, roleArn=role_arn)
        if body.get("SecretString") is not None:
            return body["SecretString"]
        return base64.b64decode(body.get("SecretBinary") or "")

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

    def stats(self):
        """sidecache's counters (GET /stats)."""
        return self.get_json("/stats")

    # --- HTTP ----------------------------------------------------------------------------

    def get_json(self, endpoint, /, **query):
        """GET an endpoint and parse its JSON answer; None-valued query entries are left out."""
        return json.loads(self.get(endpoint, **query)[1])

    def get(self, endpoint, /, **query):
        """GET an endpoint: (headers, body bytes) of a 2xx answer, else the typed exception."""
        query = {k: v for k, v in query.items() if v is not None}
        target = f"{endpoint}?{urlencode(query)}" if query else endpoint
        with self._lock:
            status, headers, body = self._send(target)
            if status == 403 and self._token_file and self._token_rotated():
                status, headers, body = self._send(target)
            self.last_cache_status = headers.get("X-Cache")
        if status >= 400:
            raise error_from_response(status, body)
        return headers, body

    def close(self):
        with self._lock:
            self._drop()

    def _send(self, target):
        deadline = time.monotonic() + self.startup_wait
        backoff = _FIRST_BACKOFF
        while True:
            reused = self._connection is not None
            if not reused:
                self._connection = http.client.HTTPConnection(self.host, self.port,
                                                              timeout=self.timeout)
            try:
                self._connection.request("GET", target, headers=self._headers)
                response = self._connection.getresponse()
                body = response.read()
                if response.will_close:
                    self._drop()
                return response.status, response.headers, body
            except _STALE_CONNECTION as error:
                self._drop()
                if not reused:
                    raise Unreachable(None, "ConnectionClosed",
                                      f"sidecache on {self.host}:{self.port} closed the "
                                      f"connection: {error!r}") from error
                # A pooled connection closed while idle: one fresh try at once.
            except ConnectionRefusedError as error:
                self._drop()
                if time.monotonic() + backoff > deadline:
                    raise Unreachable(None, "ConnectionRefused",
                                      f"nothing listens on {self.host}:{self.port} after "
                                      f"{self.startup_wait:g} s: is the sidecache layer "
                                      f"added to the function?") from error
                time.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
            except OSError as error:  # timeouts, unreachable host
                self._drop()
                raise Unreachable(None, type(error).__name__,
                                  f"sidecache on {self.host}:{self.port}: {error}") from error

    def _token_rotated(self):
        token = _read_token_file(self._token_file)
        if token == self._headers[TOKEN_HEADER]:
            return False
        self._headers[TOKEN_HEADER] = token
        return True

    def _drop(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def parameter_value(record):
    """A GetParameter(s) record's value as lambda-cache gives it: StringList split on commas."""
    value = record["Value"]
    return value.split(",") if record.get("Type") == "StringList" else value


def _bool(flag):
    return "true" if flag else "false"


_default = None
_default_lock = threading.Lock()


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
