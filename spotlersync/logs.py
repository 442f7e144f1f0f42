"""Log lines: human-readable by default, one JSON object a line with LOG_FORMAT=json.

Both carry the run and the contact (its external id) being worked on, when there is one: the
run executor, the push and the pulls set them with `log_context`, and `ContextFilter` puts them
on every record logged meanwhile, by our code or a library's. Both mask e-mail addresses in
the message (a Spotler error or a mail server's answer may quote one): beyond the external id,
no personal data is logged.
"""

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

run_id: ContextVar[int | None] = ContextVar("log_run_id", default=None)
contact_id: ContextVar[str | None] = ContextVar("log_contact_id", default=None)

EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
MASKED_EMAIL = "<e-mail>"


@contextmanager
def log_context(*, run: int | None = None, contact: str | None = None) -> Iterator[None]:
    """Name `run` (a SyncRun id) and/or `contact` (an external id) on every line logged inside."""
    tokens = []
    if run is not None:
        tokens.append((run_id, run_id.set(run)))
    if contact is not None:
        tokens.append((contact_id, contact_id.set(contact)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def mask_emails(text: str) -> str:
    return EMAIL.sub(MASKED_EMAIL, text)


class ContextFilter(logging.Filter):
    """Adds `run_id` and `contact_id` (None when there is none) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = getattr(record, "run_id", None) or run_id.get()
        record.contact_id = getattr(record, "contact_id", None) or contact_id.get()
        return True


class PlainFormatter(logging.Formatter):
    """`time level logger: message [run 12 contact C-1]`, e-mail addresses masked."""

    def __init__(self) -> None:
        super().__init__("{asctime} {levelname} {name}: {message}", style="{")

    def format(self, record: logging.LogRecord) -> str:
        line = mask_emails(super().format(record))
        context = _context(record)
        if context:
            line += (
                " [" + " ".join(f"{k.removesuffix('_id')} {v}" for k, v in context.items()) + "]"
            )
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, run_id and
    contact_id when there is one, exception when one is logged."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_emails(record.getMessage()),
            **_context(record),
        }
        if record.exc_info:
            entry["exception"] = mask_emails(self.formatException(record.exc_info))
        elif record.stack_info:
            entry["stack"] = mask_emails(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def _context(record: logging.LogRecord) -> dict:
    found = {
        "run_id": getattr(record, "run_id", None),
        "contact_id": getattr(record, "contact_id", None),
    }
    return {k: v for k, v in found.items() if v is not None}
