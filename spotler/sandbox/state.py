"""The simulated Spotler account: contacts, temporary lists, bounces, settings, credentials.

One lock guards it all; every API or control call takes it once, through `reading()` or
`changing()`. `changing()` also counts versions and tells listeners (the state file writer).
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from spotler.sandbox.bounces import BounceLog
from spotler.sandbox.config import SandboxSettings
from spotler.sandbox.contacts import ContactBook
from spotler.sandbox.templists import TemporaryLists

# The demo pair, the same as SANDBOX_CONSUMER_KEY/SECRET in spotlersync/settings.py (a test
# keeps them equal), and a second system for "another system's temporary lists".
DEMO_CONSUMER_KEY = "spotlersync-demo"
DEMO_CONSUMER_SECRET = "spotlersync-demo-secret"  # noqa: S105
OTHER_CONSUMER_KEY = "other-system"
OTHER_CONSUMER_SECRET = "other-system-secret"  # noqa: S105
DEFAULT_CREDENTIALS = {
    DEMO_CONSUMER_KEY: DEMO_CONSUMER_SECRET,
    OTHER_CONSUMER_KEY: OTHER_CONSUMER_SECRET,
}
STATE_FORMAT = 1


class Account:
    """Everything the sandbox remembers; use it inside `reading()` or `changing()`."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        self.version = 0
        self._clear()

    def _clear(self) -> None:
        self.settings = SandboxSettings()
        self.credentials: dict[str, str] = dict(DEFAULT_CREDENTIALS)
        self.contacts = ContactBook()
        self.templists = TemporaryLists()
        self.bounces = BounceLog()

    @contextmanager
    def reading(self) -> Iterator["Account"]:
        with self._lock:
            yield self

    @contextmanager
    def changing(self) -> Iterator["Account"]:
        try:
            with self._lock:
                try:
                    yield self
                finally:
                    # Also after a refusal: calls check before they change anything, so an
                    # extra save is the worst that can happen.
                    self.version += 1
        finally:
            for listener in self._listeners:
                listener()

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def secret_for(self, consumer_key: str) -> str | None:
        # A plain dict read: atomic, so signature checks need not wait for the lock.
        return self.credentials.get(consumer_key)

    def reset(self) -> None:
        with self.changing():
            self._clear()

    def to_json(self) -> dict[str, Any]:
        with self.reading():
            return {
                "format": STATE_FORMAT,
                "settings": self.settings.as_json(),
                "credentials": dict(self.credentials),
                "contacts": self.contacts.to_json(),
                "templists": self.templists.to_json(),
                "bounces": self.bounces.to_json(),
            }

    def load_json(self, data: dict[str, Any]) -> None:
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown state format {data.get('format')!r}")
        with self.changing():
            self.settings = SandboxSettings.from_json(data["settings"])
            self.credentials = dict(data["credentials"])
            self.contacts = ContactBook.from_json(data["contacts"])
            self.templists = TemporaryLists.from_json(data["templists"])
            self.bounces = BounceLog.from_json(data["bounces"])
