"""The changes feed: what came back from Spotler, for the linked system to read with a cursor.

The cursor is `Change.id`. A reader that stores the last cursor it processed and asks for
`after=<cursor>` must never miss a row, so ids have to become visible in id order. On
PostgreSQL they need not: two transactions take ids 7 and 8 from the sequence, 8 commits first,
a reader sees 8 and moves its cursor past 7, which then commits and is never read. So publishing
is serialised with a transaction-scoped advisory lock: a publisher takes its id only after the
previous publisher has committed. Publishers (the pull jobs) should therefore publish at the end
of their transaction, to hold the lock briefly. SQLite already allows one writer at a time.

After a restore from a backup, the cursors handed out between the copy and the loss would be
handed out again, to other changes, and a reader whose cursor is past them would skip those:
`advance_cursor` moves the numbering past the highest cursor the reader has seen.
"""

from typing import Any

from django.db import connection, transaction
from django.db.models import Max

from audit import trail
from contacts.models import Change, ChangeKind, Contact, hash_external_id

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# Any fixed number, the same in every process: the key of the advisory lock.
PUBLISH_LOCK_KEY = 0x5F0C_FEED


def publish_change(*, kind: ChangeKind, external_id: str, payload: dict[str, Any]) -> Change | None:
    """Append one change to the feed (inside the caller's transaction, if it has one).

    Nothing is published about a contact the linked system deleted (its data was erased here;
    Spotler may still report on it until the anonymization has run): returns None.
    """
    if Contact.objects.erased().filter(external_id_hash=hash_external_id(external_id)).exists():
        return None
    with transaction.atomic():
        _lock_feed()
        return Change.objects.create(kind=kind, external_id=external_id, payload=payload)


def publish_changes(changes: list[Change]) -> list[Change]:
    """Append unsaved `changes` to the feed in the order given, in one statement and under one
    lock (a pull's page); those about erased contacts are left out, as by `publish_change`."""
    hashes = {hash_external_id(change.external_id) for change in changes}
    erased = set(
        Contact.objects.erased()
        .filter(external_id_hash__in=hashes)
        .values_list("external_id_hash", flat=True)
    )
    kept = [c for c in changes if hash_external_id(c.external_id) not in erased]
    if not kept:
        return []
    with transaction.atomic():
        _lock_feed()
        # One INSERT takes its ids in the order of its rows.
        return Change.objects.bulk_create(kept)


def _lock_feed() -> None:
    """Wait for the previous publisher's commit (the module docstring says why)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PUBLISH_LOCK_KEY])


def read_changes(*, after: int = 0, limit: int = DEFAULT_LIMIT) -> list[Change]:
    """Up to `limit` changes with a cursor greater than `after`, oldest first."""
    limit = max(1, min(limit, MAX_LIMIT))
    return list(Change.objects.filter(id__gt=after).order_by("id")[:limit])


def advance_cursor(*, past: int, actor: trail.Actor = None) -> tuple[int, int]:
    """Make every change published from now on have a cursor greater than `past`; never moves
    the numbering back. The next cursor (before, after)."""
    with transaction.atomic():
        _lock_feed()
        before = _next_cursor()
        after = max(before, past + 1)
        if after > before:
            _number_from(after)
            trail.record(
                actor=actor, action="advanced", object_type="changes feed",
                object_label="changes feed", before={"next_cursor": before},
                after={"next_cursor": after},
            )  # fmt: skip
    return before, after


def last_cursor() -> int:
    """The cursor of the latest change in the feed; 0 when it is empty."""
    return Change.objects.aggregate(highest=Max("id"))["highest"] or 0


def _next_cursor() -> int:
    """The cursor the next change published gets (the database's own counter)."""
    table = Change._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            (sequence,) = cursor.fetchone()
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608 (ours)
            last, called = cursor.fetchone()
            counted = last + 1 if called else last
        else:  # SQLite: AUTOINCREMENT keeps the highest id ever given in sqlite_sequence
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            counted = (row[0] if row else 0) + 1
    return max(counted, last_cursor() + 1)


def _number_from(cursor: int) -> None:
    """The next change published gets `cursor`."""
    table = Change._meta.db_table
    with connection.cursor() as sql:
        if connection.vendor == "postgresql":
            sql.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, cursor - 1])
        else:
            sql.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
            sql.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, cursor - 1]
            )
