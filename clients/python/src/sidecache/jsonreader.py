"""JSON answers read without importing `json`.

`json` imports `re`, its encoder and its scanner: a cold start's millisecond or more. JSON is
read here with `_json`, the C scanner that `json.loads` itself runs, which imports nothing.
Where `_json` is missing (another Python implementation), or the text is not valid JSON (to
raise `json`'s own error), `json.loads` is used. This module itself is imported on first use:
a parameter's value, the common first read, needs no parser at all
(sidecache.client.string_field), and a secret is read bare (`format=raw`).
"""


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


def _skip_space(text, index):
    length = len(text)
    while index < length and text[index] in " \t\n\r":
        index += 1
    return index
