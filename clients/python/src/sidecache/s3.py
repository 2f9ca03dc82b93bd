"""lambda-cache's `s3` module with sidecache behind it.

    from sidecache import s3

    @s3.cache(s3Uri="s3://my-bucket/models/model.onnx", max_age_in_seconds=300)
    def handler(event, context):
        path = getattr(context, "model.onnx")   # "/tmp/model.onnx", as with lambda-cache

sidecache downloads the object once into its own directory (`SIDECACHE_S3_DIR`) and
revalidates it with its ETag. The value injected is lambda-cache's path, `/tmp/<entry name>`,
made a symbolic link to sidecache's file, so the bytes are on disk once. A symlink rather than
a hard link: sidecache replaces the file by renaming a new one over it when the object
changes, and a symlink follows that while a hard link would keep the old bytes. Where a link
cannot be made, or sidecache's file is not visible to this process (a sidecar in another
container), the bytes are copied in (atomically: written aside, then renamed into place).
"""

import os

from . import entries
from .client import default_client
from .entries import DEFAULT_MAX_AGE_IN_SECONDS

# Where lambda-cache puts its files; a module variable so tests or odd runtimes can move it.
LINK_DIR = "/tmp"


def cache(s3Uri, max_age_in_seconds=DEFAULT_MAX_AGE_IN_SECONDS, entry_name=None,  # noqa: N803
          check_before_download=True):
    """Decorate a handler: `context.<entry_name>` holds the local path `/tmp/<entry_name>`.

    `check_before_download` is accepted for lambda-cache compatibility: sidecache always
    revalidates with a conditional GET, so an unchanged object is never downloaded again.
    A malformed URI raises InvalidS3UriError when the handler is called, as in lambda-cache.
    """
    return entries.decorator(_fetch, s3Uri, max_age_in_seconds, entry_name)


def get_entry(s3Uri, max_age_in_seconds=DEFAULT_MAX_AGE_IN_SECONDS, entry_name=None,  # noqa: N803
              check_before_download=True):
    """The local path `/tmp/<entry_name>` of the object; 0 forces a revalidation."""
    return entries.get_entry(_fetch, s3Uri, max_age_in_seconds, entry_name)


def _check_uri(uri):
    if not isinstance(uri, str) or not uri.startswith("s3://") or "/" not in uri[5:]:
        from .exceptions import InvalidS3UriError

        raise InvalidS3UriError(uri)


def _fetch(uri, max_age_in_seconds, entry_name):
    _check_uri(uri)
    client = default_client()
    source = client.object_path(uri, max_age=max_age_in_seconds)
    target = os.path.join(LINK_DIR, entry_name)
    if os.path.exists(source):
        link_or_copy(source, target)
    else:
        # Just fetched or revalidated by object_path: no second maxAge, no second S3 call.
        _write_atomically(target, client.object_bytes(uri))
    return target


def link_or_copy(source, target):
    """Make `target` a symlink to `source` (kept if it already is one), else a copy of it."""
    try:
        if os.readlink(target) == source:
            return
    except OSError:
        pass  # not there, or not a symlink
    staging = _staging_name(target)
    try:
        os.symlink(source, staging)
    except OSError:
        import shutil  # only where links are refused

        shutil.copyfile(source, staging)
    _replace(staging, target)


def _write_atomically(target, data):
    staging = _staging_name(target)
    with open(staging, "xb") as f:
        f.write(data)
    _replace(staging, target)


def _staging_name(target):
    # A name no other process or thread picks (Python workers of one function share /tmp),
    # beside the target so that the rename stays on one filesystem. Not made with tempfile:
    # its import (random, shutil...) is milliseconds of a cold start, for one name.
    directory, name = os.path.split(target)
    return os.path.join(directory, f".{name}.{os.getpid()}.{os.urandom(8).hex()}.sidecache")


def _replace(staging, target):
    try:
        os.replace(staging, target)
    except OSError:
        os.unlink(staging)
        raise
