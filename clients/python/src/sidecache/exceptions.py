"""lambda-cache's exceptions, under the module name lambda-cache gives them.

    from sidecache.exceptions import ArgumentTypeNotSupportedError   # was: lambda_cache.exceptions

Same names, same base class, same constructor arguments, and the same `message` and `Code`
attributes as lambda-cache 0.8's, so a handler that catches them (or reads `e.Code`) keeps
working when only its import changes. They are raised when a decorated handler is called (or
`get_entry` is), as lambda-cache raises them, never when the decorator is applied: a module
with a wrong argument still imports.

What a value's absence raises is not here: it is an AWS answer, `sidecache.NotFound`, which is
also a `botocore.exceptions.ClientError` as lambda-cache's would be (see sidecache.errors).
"""


class LambdaCacheError(Exception):
    """Wrong use of a decorator or of get_entry (lambda-cache's base class)."""


class ArgumentTypeNotSupportedError(LambdaCacheError):
    """The name is of a type the decorator cannot read: not a str (nor, for SSM, a list of
    str; nor an int, list or dict together with an entry_name)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message
        self.Code = "ArgumentTypeNotSupportedError"


class NoEntryNameError(LambdaCacheError):
    """A name that is not a str (a list, an int, a dict) needs an entry_name to be injected
    under."""

    def __init__(self, message=False):
        super().__init__(message or "No entry_name provided")
        # lambda-cache's fixed text, whatever the message given.
        self.message = "No entry_name provided"
        self.Code = "NoEntryNameError"


class InvalidS3UriError(LambdaCacheError):
    """An S3 URI not of the form s3://bucket-name/path/to/file."""

    def __init__(self, invalid_uri):
        self.message = ("Expected Valid s3uri of the form 's3://bucket-name/path/to/file', "
                        f"given: {invalid_uri}")
        super().__init__(self.message)
        self.Code = "InvalidS3UriError"


__all__ = ["ArgumentTypeNotSupportedError", "InvalidS3UriError", "LambdaCacheError",
           "NoEntryNameError"]
