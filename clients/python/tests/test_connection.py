"""sidecache.connection's framing of answers sidecache itself does not send (chunked,
HTTP/1.0, `Connection: close`, no length, cut-off answers), against a real socket server of
the test's own that answers with exactly the bytes given."""

import socket
import threading

import pytest

import sidecache

BODY = b'{"Parameter":{"Name":"n","Type":"String","Value":"v"}}'


class ScriptedServer:
    """Accepts connections and answers each request on it with the next scripted answer:
    bytes to send, `closing(bytes)` to send and then close the connection, or None to close
    it without answering. Records the requests' first lines."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.answers:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                data = b""
                while self.answers:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    if b"\r\n\r\n" not in data:
                        break
                    request, data = data.split(b"\r\n\r\n", 1)
                    self.requests.append(request.split(b"\r\n")[0].decode())
                    answer = self.answers.pop(0)
                    if answer is None:
                        break
                    conn.sendall(bytes(answer))
                    if isinstance(answer, closing):
                        break

    def close(self):
        self.sock.close()


class closing(bytes):  # noqa: N801 (reads as what it does in a script)
    """An answer after which the server closes the connection."""


@pytest.fixture
def serve():
    servers = []

    def start(*answers):
        server = ScriptedServer(answers)
        servers.append(server)
        return server, sidecache.Client(port=server.port, token="t", startup_wait=0)

    yield start
    for server in servers:
        server.close()


def ok(body=BODY, extra=b""):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


def test_content_length_answers_reuse_one_connection(serve):
    server, client = serve(ok(), ok(), ok())
    assert [client.parameter("n") for _ in range(3)] == ["v", "v", "v"]
    assert server.connections == 1
    assert server.requests[0] == "GET /systemsmanager/parameters/get?name=n&withDecryption=true HTTP/1.1"


def test_chunked_answer_with_extensions_and_trailers(serve):
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"10;ext=1\r\n" + BODY[:16] + b"\r\n"
               + f"{len(BODY) - 16:x}".encode() + b"\r\n" + BODY[16:] + b"\r\n"
               + b"0\r\nX-Trailer: t\r\n\r\n")
    server, client = serve(chunked, ok())
    assert client.parameter("n") == "v"
    assert client.parameter("n") == "v"  # the connection was left at the next answer
    assert server.connections == 1


def test_large_body_read_in_pieces(serve):
    payload = bytes(range(256)) * 4096  # 1 MiB: several reads
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    server, client = serve(answer)
    assert client.object_bytes("s3://b/k") == payload


def test_connection_close_and_http10_reconnect_for_the_next_request(serve):
    server, client = serve(closing(ok(extra=b"Connection: close\r\n")),
                           closing(ok().replace(b"HTTP/1.1", b"HTTP/1.0")), ok())
    assert [client.parameter("n") for _ in range(3)] == ["v", "v", "v"]
    assert server.connections == 3


def test_an_answer_without_length_lasts_until_the_connection_closes(serve):
    server, client = serve(
        closing(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + BODY))
    assert client.parameter("n") == "v"


def test_a_cut_off_body_is_unreachable_broken_answer(serve):
    server, client = serve(closing(ok()[:-5]))
    with pytest.raises(sidecache.Unreachable) as raised:
        client.parameter("n")
    assert raised.value.error_type == "BrokenAnswer"
    assert client._connection is None  # not reused after a broken answer


def test_not_http_is_unreachable_broken_answer(serve):
    server, client = serve(closing(b"SSH-2.0-OpenSSH\r\n\r\n"))
    with pytest.raises(sidecache.Unreachable) as raised:
        client.parameter("n")
    assert raised.value.error_type == "BrokenAnswer"


def test_closed_before_any_answer_on_a_new_connection_is_connection_closed(serve):
    server, client = serve(None)
    with pytest.raises(sidecache.Unreachable) as raised:
        client.parameter("n")
    assert raised.value.error_type == "ConnectionClosed"


def test_error_answers_are_typed_from_their_json(serve):
    body = b'{"__type":"ParameterNotFound","message":"no such parameter"}'
    answer = (b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: "
              + str(len(body)).encode() + b"\r\n\r\n" + body)
    server, client = serve(answer, ok())
    with pytest.raises(sidecache.NotFound) as raised:
        client.parameter("n")
    assert (raised.value.error_type, raised.value.message) == ("ParameterNotFound",
                                                               "no such parameter")
    assert client.parameter("n") == "v"  # the connection stays usable after an error answer
    assert server.connections == 1
