"""The formats of what the client sends and reads: query strings and JSON bodies.

Neither uses `urllib.parse` nor `json`: both import `re` (and `json` its encoder and scanner
too), which is a cold start's millisecond or more. The query is percent-encoded here; JSON is
read with `_json`, the C scanner that `json.loads` itself runs, which imports nothing. Where
`_json` is missing (another Python implementation), or the text is not valid JSON (to raise
`json`'s own error), `json.loads` is used. A parameter's value, the common first read, needs no
parser at all (`string_field`): loading `_json` is a fifth of a millisecond.
"""

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
    """`key=value&...` of the entries whose value is not None, in the order given."""
    return "&".join(f"{key}={quote(str(value))}" for key, value in query.items()
                    if value is not None)


class _ScannerContext:
    """The settings `_json.make_scanner` reads, as `json.JSONDecoder()` has them."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo = None

    @staticmethod
    def parse_constant(name):
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


_scan = None


def _scanner():
    global _scan
    if _scan is None:
        try:
            from _json import make_scanner
        except ImportError:
            _scan = False
        else:
            _scan = make_scanner(_ScannerContext())
    return _scan


def loads(body):
    """The value of a JSON document given as bytes (UTF-8) or str."""
    text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    scan = _scanner()
    if scan:
        start = _skip_space(text, 0)
        try:
            value, end = scan(text, start)
        except (StopIteration, ValueError):
            pass  # json.loads below raises the exact JSONDecodeError
        else:
            if _skip_space(text, end) == len(text):
                return value
    import json

    return json.loads(text)


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


def _skip_space(text, index):
    length = len(text)
    while index < length and text[index] in " \t\n\r":
        index += 1
    return index
