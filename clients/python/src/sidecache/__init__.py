"""sidecache's handler-side client: lambda-cache's decorators and a plain client.

    from sidecache import ssm, secrets_manager, s3   # lambda-cache's API
    import sidecache; sidecache.Client().parameter("/app/db/url")

Standard library only. The submodules are imported on first use, so `import sidecache`
loads only what a handler touches.
"""

from .client import Client, default_client, set_default_client
from .errors import (AccessDenied, BadRequest, NotFound, SidecacheError, Throttled, Timeout,
                     Unreachable, UpstreamUnavailable)

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "BadRequest",
    "Client",
    "NotFound",
    "SidecacheError",
    "Throttled",
    "Timeout",
    "Unreachable",
    "UpstreamUnavailable",
    "default_client",
    "set_default_client",
]
