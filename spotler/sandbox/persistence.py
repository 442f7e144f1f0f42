"""The optional state file: loaded at start, written behind changes and once more at stop.

Writes go to a temporary file in the same folder that then replaces the state file
(`os.replace` is atomic), so a crash mid-write leaves the previous state intact.
"""

import json
import logging
import os
import threading
from pathlib import Path

from spotler.sandbox.state import Account

logger = logging.getLogger("spotler.sandbox")

# Changes that follow each other within this many seconds are written once.
WRITE_DELAY_SECONDS = 0.2


class StateFileError(Exception):
    """The state file exists but cannot be read; the sandbox refuses to start over it."""


def load_account(path: Path) -> Account:
    """The account kept in `path`, or an empty one when the file does not exist yet."""
    account = Account()
    if not path.exists():
        return account
    try:
        account.load_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StateFileError(
            f"Cannot read the sandbox state file {path}: {exc}. "
            "Move it aside to start with an empty sandbox."
        ) from exc
    return account


def save_account(account: Account, path: Path) -> int:
    """Write the account to `path` atomically; returns the version written."""
    with account.reading():
        version = account.version
        data = account.to_json()
    text = json.dumps(data, ensure_ascii=False, indent=1)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    return version


class StateWriter:
    """Writes the account to its file shortly after it changes, from a thread of its own."""

    def __init__(self, account: Account, path: Path, *, delay: float = WRITE_DELAY_SECONDS):
        self._account = account
        self._path = path
        self._delay = delay
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._write_lock = threading.Lock()
        self._written_version = account.version
        self._thread = threading.Thread(target=self._run, name="sandbox-state-writer", daemon=True)
        account.on_change(self._changed.set)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write what is not written yet."""
        self._stopping.set()
        self._changed.set()
        self._thread.join(timeout=10)
        self.flush()

    def flush(self) -> None:
        with self._write_lock:
            if self._account.version == self._written_version:
                return
            try:
                self._written_version = save_account(self._account, self._path)
            except OSError:
                logger.exception("Could not write the sandbox state to %s", self._path)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._changed.wait()
            if self._stopping.wait(self._delay):
                return
            self._changed.clear()
            self.flush()
