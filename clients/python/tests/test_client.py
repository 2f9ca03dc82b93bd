"""sidecache.Client against a live sidecache: values, errors, keep-alive, start-up retry."""

import http.server
import json
import os
import socket
import threading
import time

import pytest

import sidecache


def test_parameter_string_securestring_and_stringlist(client, seeded):
    assert client.parameter(seeded.name("greeting")) == f"hello python {seeded.run}"
    assert client.parameter(seeded.name("secure")) == f"secure-python-{seeded.run}"
    assert client.parameter(seeded.name("list")) == [f"a-{seeded.run}", "b", "c"]


def test_securestring_without_decryption_is_not_the_clear_value(client, seeded):
    assert client.parameter(seeded.name("secure"), decrypt=False) != f"secure-python-{seeded.run}"


def test_parameters_is_one_get_many_request(client, seeded, upstream):
    names = [seeded.name("many/x"), seeded.name("many/y")]
    before = upstream.calls("ssm")
    values = client.parameters(names)
    assert values == {names[0]: f"x-{seeded.run}", names[1]: f"y-{seeded.run}"}
    # Both fetched in one GetParameters call; asking again is all cache.
    assert upstream.calls("ssm") - before == 1
    assert client.parameters(names) == values
    assert upstream.calls("ssm") - before == 1


def test_parameters_missing_raise_not_found_naming_them_or_are_left_out(client, seeded):
    missing = seeded.name("does-not-exist")
    with pytest.raises(sidecache.NotFound) as raised:
        client.parameters([seeded.name("greeting"), missing])
    assert missing in raised.value.message
    assert client.parameters([seeded.name("greeting"), missing], missing_ok=True) == {
        seeded.name("greeting"): f"hello python {seeded.run}"}


def test_parameters_by_path(client, seeded):
    tree = seeded.name("tree")
    assert client.parameters_by_path(tree) == {f"{tree}/a": f"a-{seeded.run}",
                                               f"{tree}/b": f"b-{seeded.run}"}
    assert client.parameters_by_path(tree, recursive=True)[f"{tree}/deep/c"] == f"c-{seeded.run}"


def test_missing_parameter_is_not_found_with_its_type(client, seeded):
    with pytest.raises(sidecache.NotFound) as raised:
        client.parameter(seeded.name("nope"))
    error = raised.value
    assert (error.status, error.error_type) == (404, "ParameterNotFound")
    assert isinstance(error, sidecache.SidecacheError)


def test_missing_secret_and_object_are_not_found(client, seeded):
    with pytest.raises(sidecache.NotFound):
        client.secret("clients/python/nope")
    with pytest.raises(sidecache.NotFound):
        client.object_path(f"s3://{seeded.bucket}/python/nope.json")


def test_wrong_token_is_access_denied(seeded):
    with pytest.raises(sidecache.AccessDenied) as raised:
        sidecache.Client(token="wrong").parameter(seeded.name("greeting"))
    assert raised.value.error_type == "InvalidToken"


def test_bad_request(client):
    with pytest.raises(sidecache.BadRequest) as raised:
        client.get_json("/systemsmanager/parameters/get", name="x", bogus="1")
    assert raised.value.error_type == "UnknownParameter"


def test_secret_string_and_binary_as_stored(client, seeded):
    assert json.loads(client.secret("clients/python/api")) == {"user": "app",
                                                               "password": f"pw-{seeded.run}"}
    assert client.secret("clients/python/blob") == bytes(range(256)) + seeded.run.encode()


def test_object_path_is_sidecache_file(client, seeded):
    path = client.object_path(f"s3://{seeded.bucket}/python/config/app-{seeded.run}.json")
    assert path.startswith(seeded.s3_dir + "/")
    with open(path) as f:
        assert json.load(f) == {"from": "s3", "run": seeded.run}


def test_forced_refresh_goes_upstream(client, seeded, upstream):
    name = seeded.name("greeting")
    client.parameter(name)
    before = upstream.calls("ssm")
    client.parameter(name)
    assert upstream.calls("ssm") == before
    client.parameter(name, max_age=0)
    assert upstream.calls("ssm") == before + 1


def test_token_from_environment_sidecache_token_wins(monkeypatch, seeded):
    real = os.environ["SIDECACHE_TOKEN"]
    monkeypatch.setenv("AWS_SESSION_TOKEN", "not-the-token")
    assert sidecache.Client().parameter(seeded.name("greeting")).startswith("hello")
    monkeypatch.delenv("SIDECACHE_TOKEN")
    monkeypatch.setenv("AWS_SESSION_TOKEN", real)
    assert sidecache.Client().parameter(seeded.name("greeting")).startswith("hello")


def test_token_order_session_token_then_container_authorization_token(monkeypatch, seeded):
    # sidecache here expects SIDECACHE_TOKEN's value; the client is given it through the
    # other variables, one at a time, each time with a wrong value in the later ones.
    real = os.environ["SIDECACHE_TOKEN"]
    monkeypatch.delenv("SIDECACHE_TOKEN")
    monkeypatch.delenv("SIDECACHE_TOKEN_FILE", raising=False)
    monkeypatch.setenv("AWS_SESSION_TOKEN", real)
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "not-the-token")
    assert sidecache.Client().parameter(seeded.name("greeting")).startswith("hello")
    # No session token (SnapStart, Managed Instances): the container authorization token.
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", real)
    assert sidecache.Client().parameter(seeded.name("greeting")).startswith("hello")
    # Both set: the session token is sent, not the container's.
    monkeypatch.setenv("AWS_SESSION_TOKEN", "not-the-token")
    with pytest.raises(sidecache.AccessDenied):
        sidecache.Client().parameter(seeded.name("greeting"))
    # An explicit token comes first of all.
    assert sidecache.Client(token=real).parameter(seeded.name("greeting")).startswith("hello")


def test_token_file_is_read_and_reread_when_rotated(monkeypatch, tmp_path, seeded):
    token_file = tmp_path / "token"
    token_file.write_text("stale-token\n")
    real = os.environ["SIDECACHE_TOKEN"]
    monkeypatch.delenv("SIDECACHE_TOKEN")
    monkeypatch.setenv("SIDECACHE_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_SESSION_TOKEN", "not-the-token")
    client = sidecache.Client()
    with pytest.raises(sidecache.AccessDenied):
        client.parameter(seeded.name("greeting"))
    # The file now holds the token sidecache expects (as after a rotation): one 403, one retry.
    token_file.write_text(real + "\n")
    assert client.parameter(seeded.name("greeting")) == f"hello python {seeded.run}"


def test_connection_is_kept_alive(seeded):
    client = sidecache.Client()
    client.parameter(seeded.name("greeting"))
    first = client._connection.sock
    client.parameter(seeded.name("greeting"))
    assert client._connection.sock is first
    client.close()


class _OneShotHandler(http.server.BaseHTTPRequestHandler):
    """Answers as a keep-alive server would, then closes the connection anyway: what a client
    meets when a pooled connection was closed while idle."""

    protocol_version = "HTTP/1.1"
    connections = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).connections.append(self.client_address)  # before answering: no race
        body = json.dumps({"Parameter": {"Name": "n", "Type": "String", "Value": "v"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_reconnects_when_a_pooled_connection_was_closed():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OneShotHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _OneShotHandler.connections.clear()
    try:
        client = sidecache.Client(port=server.server_address[1], token="t")
        assert client.parameter("n") == "v"
        assert client.parameter("n") == "v"
        # Two requests, two connections: the second found its pooled one closed and reconnected.
        assert len(set(_OneShotHandler.connections)) == 2
    finally:
        server.shutdown()
        server.server_close()


def test_nothing_listening_is_unreachable_after_the_startup_wait():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = sidecache.Client(port=port, token="t", startup_wait=0.3)
    with pytest.raises(sidecache.Unreachable) as raised:
        client.parameter("/x")
    assert raised.value.error_type == "ConnectionRefused"


def test_waits_for_an_extension_that_is_still_starting(monkeypatch):
    # The port is reserved but not listening; the server starts listening only after the
    # client's first connection was refused, well within its start-up wait.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    refused = threading.Event()
    client = sidecache.Client(port=port, token="t", startup_wait=10)
    original_sleep = time.sleep

    def listen_when_refused():
        refused.wait(10)
        server = http.server.HTTPServer(("127.0.0.1", 0), _OneShotHandler, bind_and_activate=False)
        server.socket.close()
        server.socket = sock
        server.server_address = sock.getsockname()
        sock.listen()
        server.handle_request()
        server.server_close()

    thread = threading.Thread(target=listen_when_refused, daemon=True)
    thread.start()

    def sleep_and_signal(seconds):
        refused.set()
        original_sleep(seconds)

    # The client sleeps only between refused attempts: the first sleep proves one was refused.
    monkeypatch.setattr(time, "sleep", sleep_and_signal)
    assert client.parameter("n") == "v"
    assert refused.is_set()
    thread.join(10)
