"""The Spotler Mail+ REST API client (not a Django app): see `spotler.client`.

`spotler/sandbox/` is a local stand-in for Spotler, for tests and the demo only.
"""

from spotler.client import SpotlerClient, client_from_settings
from spotler.errors import SpotlerError
from spotler.retry import RetryEvent, RetryPolicy
from spotler.types import (
    BatchCode,
    BatchResult,
    Bounce,
    BounceType,
    Contact,
    Inactivation,
    Page,
    Property,
    PropertyEntry,
    TemporaryList,
)

__all__ = [
    "BatchCode",
    "BatchResult",
    "Bounce",
    "BounceType",
    "Contact",
    "Inactivation",
    "Page",
    "Property",
    "PropertyEntry",
    "RetryEvent",
    "RetryPolicy",
    "SpotlerClient",
    "SpotlerError",
    "TemporaryList",
    "client_from_settings",
]
