"""Status codes and bodies to typed exceptions (no server needed: the mapping itself)."""

import json

import pytest

import sidecache
from sidecache.errors import error_from_response


@pytest.mark.parametrize("status, kind, expected", [
    (400, "UnknownParameter", sidecache.BadRequest),
    (403, "InvalidToken", sidecache.AccessDenied),
    (404, "ParameterNotFound", sidecache.NotFound),
    (429, "ThrottlingException", sidecache.Throttled),
    (502, "UpstreamUnreachable", sidecache.UpstreamUnavailable),
    (503, "ServiceUnavailable", sidecache.UpstreamUnavailable),
    (504, "UpstreamTimeout", sidecache.Timeout),
    (507, "InsufficientStorage", sidecache.SidecacheError),
])
def test_status_maps_to_its_class(status, kind, expected):
    error = error_from_response(status, json.dumps({"__type": kind, "message": "m"}).encode())
    # The class itself, or (4xx, with botocore importable) its subclass that is also a
    # botocore ClientError: test_lambda_cache_errors.py.
    assert type(error) is expected or type(error).__bases__[0] is expected
    assert (error.status, error.error_type, error.message) == (status, kind, "m")
    assert kind in str(error) and str(status) in str(error)


def test_a_body_that_is_not_json_still_gives_a_typed_error():
    error = error_from_response(502, b"<html>Bad Gateway</html>")
    assert isinstance(error, sidecache.UpstreamUnavailable)
    assert error.error_type == "HTTP502"
