"""One keep-alive HTTP/1.1 connection to sidecache over a plain socket.

The client only ever sends `GET <target>` to a server on loopback (or a sidecar), so it needs
no general HTTP library: `http.client` alone costs a cold start ~13 ms of CPU, most of it
importing the `email` package to parse headers. This module writes the request in one
`sendall` and reads the answer: the status line, the headers, and a body framed by
`Content-Length` (what sidecache, on hyper, sends for every cached value), by chunked
transfer-encoding (a streamed S3 file whose length was unknown), or by the end of the
connection. The request's query is percent-encoded here too.
"""

import socket

# Not with urllib.parse, which imports re: a cold start's millisecond.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")
# Bytes that never need escaping, as a `bytes.translate` deletion table: a value made only of
# them (most parameter names) is sent as it is.
_UNRESERVED_BYTES = bytes(sorted(_UNRESERVED))


def quote(text):
    """`text` percent-encoded for a query string value, as sidecache decodes it
    (form-urlencoded: `+` would be a space, so it is escaped; `/` is left readable)."""
    data = text.encode("utf-8")
    if not data.translate(None, _UNRESERVED_BYTES):
        return text
    return "".join(chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in data)


def query_string(query):
    """`key=value&...` of the entries whose value is not None, in the order given; a list or
    tuple value repeats its key (`flag=a&flag=b`)."""
    return "&".join(f"{key}={quote(str(item))}" for key, value in query.items()
                    if value is not None
                    for item in (value if isinstance(value, (list, tuple)) else (value,)))


_MAX_HEAD = 64 * 1024  # status line plus headers: sidecache sends a few hundred bytes
_RECV = 64 * 1024


class StaleConnection(Exception):
    """The connection ended before the first byte of an answer: a kept-alive connection that
    the other side closed while idle. The request never reached sidecache."""


class BrokenAnswer(Exception):
    """The answer was cut off or is not HTTP/1.x."""


class Headers(dict):
    """Response headers by lower-cased name; `get`/`[]` take any case (`X-Cache`)."""

    def __getitem__(self, name):
        return dict.__getitem__(self, name.lower())

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)

    def __contains__(self, name):
        return dict.__contains__(self, name.lower())


class Connection:
    """A TCP connection that sends GET requests and reads their answers in turn."""

    def __init__(self, host, port, timeout):
        if host == "127.0.0.1":
            # The common case, without create_connection's name lookup.
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                self.sock.settimeout(timeout)
                self.sock.connect((host, port))
            except BaseException:
                self.sock.close()
                raise
        else:
            self.sock = socket.create_connection((host, port), timeout)
        self._host = f"Host: {host}:{port}\r\n".encode("latin-1")
        self._buffer = b""  # bytes read past the end of the previous answer

    def get(self, target, extra_headers):
        """Send `GET target` and read the answer: (status, Headers, body bytes, will_close).

        `extra_headers` is the header block ready to send, each line ending in CRLF.
        Raises StaleConnection when nothing at all came back, BrokenAnswer for a cut-off or
        malformed answer, OSError for socket errors and timeouts.
        """
        self.sock.sendall(b"GET " + target.encode("latin-1") + b" HTTP/1.1\r\n" + self._host
                          + extra_headers + b"\r\n")
        head, rest = self._read_head()
        status, headers, version = _parse_head(head)
        will_close = _will_close(version, headers)
        length = headers.get("content-length")
        if status in (204, 304) or 100 <= status < 200:
            body = b""
            self._buffer = rest
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked(rest)
        elif length is not None:
            body = self._read_exactly(rest, _content_length(length))
        else:
            body = self._read_to_end(rest)
            will_close = True
        return status, headers, body, will_close

    def close(self):
        self.sock.close()

    def _recv(self):
        return self.sock.recv(_RECV)

    def _read_head(self):
        data = self._buffer
        self._buffer = b""
        while True:
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                return data[:end], data[end + 4:]
            if len(data) > _MAX_HEAD:
                raise BrokenAnswer("response headers too long")
            chunk = self._recv()
            if not chunk:
                if data:
                    raise BrokenAnswer("connection closed inside the response headers")
                raise StaleConnection("connection closed before an answer")
            data += chunk

    def _read_exactly(self, rest, length):
        if len(rest) >= length:
            self._buffer = rest[length:]
            return rest[:length]
        # A large body (an S3 object with format=raw): read straight into its final buffer.
        body = bytearray(length)
        body[:len(rest)] = rest
        view = memoryview(body)
        filled = len(rest)
        while filled < length:
            count = self.sock.recv_into(view[filled:])
            if not count:
                raise BrokenAnswer(f"connection closed after {filled} of {length} body bytes")
            filled += count
        self._buffer = b""
        return bytes(body)

    def _read_line(self, data):
        while True:
            end = data.find(b"\r\n")
            if end >= 0:
                return data[:end], data[end + 2:]
            if len(data) > _MAX_HEAD:
                raise BrokenAnswer("chunk size line too long")
            chunk = self._recv()
            if not chunk:
                raise BrokenAnswer("connection closed inside a chunked body")
            data += chunk

    def _read_chunked(self, data):
        parts = []
        while True:
            line, data = self._read_line(data)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BrokenAnswer("bad chunk size") from None
            if size == 0:
                break
            # The chunk and its CRLF.
            chunk = self._read_exactly(data, size + 2)
            data = self._buffer
            parts.append(chunk[:size])
        # Trailers, if any, up to the empty line.
        while True:
            line, data = self._read_line(data)
            if not line:
                self._buffer = data
                return b"".join(parts)

    def _read_to_end(self, data):
        parts = [data]
        while True:
            chunk = self._recv()
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)


def _parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise BrokenAnswer("not an HTTP/1.x status line")
    try:
        status = int(parts[1])
    except ValueError:
        raise BrokenAnswer("bad status code") from None
    headers = Headers()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return status, headers, parts[0]


def _content_length(value):
    try:
        length = int(value)
    except ValueError:
        raise BrokenAnswer("bad Content-Length") from None
    if length < 0:
        raise BrokenAnswer("bad Content-Length")
    return length


def _will_close(version, headers):
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return "keep-alive" not in connection
    return "close" in connection
