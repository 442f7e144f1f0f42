"""The duplicates report on PostgreSQL (issue 17): its page over a ledger of 200,000 contacts,
of which about 3% share an address with another (pairs and a few threes; a third of the
addresses households, the rest the same person entered twice), one in a hundred is an erased
tombstone. Also the CSV export of every shared address.

Server time only: Django's test client calls the view in this process, logged in as a Marketer
(as bench_contacts_list.py), so the figure is the middleware, the queries and the rendering.
The ledger is made afresh in a database of its own (BENCH_DUPLICATES_DB, default
`spotlersync_bench_duplicates`). Run it on its own: `make bench BENCH=duplicates`
(BENCH_DUPLICATES_CONTACTS=1000000 for a million-customer ledger).
"""

import os
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

from bench.bench_contacts_list import (
    FIRST_NAMES,
    LAST_NAMES,
    MANAGERS,
    REQUESTS,
    marketer_client,
    time_page,
)
from bench.database import set_up_fresh_database
from bench.figures import Figure

DB_NAME = os.environ.get("BENCH_DUPLICATES_DB", "spotlersync_bench_duplicates")
CONTACTS = int(os.environ.get("BENCH_DUPLICATES_CONTACTS", "200000"))
SHARED_EVERY = 60  # one contact in 60 starts a shared address...
THREE_EVERY = 5  # ...and one such address in 5 is shared by three
ERASED_EVERY = 100
TARGET_MS = 300
SEED = 17

CASES = {
    "first page": "",
    "households": "kind=households",
    "same person twice": "kind=same_person",
    "page 40": "page=40",
    "search (start of an address)": "q=anna.",
    "preview of the other mode": "mode=email",
}


def make_contacts() -> Iterator:
    """The ledger's contacts, one at a time (a million do not fit in memory at once)."""
    from contacts.models import Contact, SyncStatus, hash_external_id
    from contacts.source_fields import hash_fields

    rng = random.Random(SEED)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    previous, twins = None, 0
    for i in range(CONTACTS):
        external_id = f"C-{i:07d}"
        created = now - timedelta(seconds=rng.randint(0, 3 * 365 * 24 * 3600))
        if i % ERASED_EVERY == 0:
            yield Contact(external_id=None, external_id_hash=hash_external_id(external_id),
                          sync_status=SyncStatus.ANONYMIZED, changed_at=created,
                          created_at=created, erased_at=created)  # fmt: skip
            continue
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first}.{last}".lower().replace(" ", "").replace("é", "e").replace("ü", "u")
        email = f"{local}.{i}@example.nl"
        if twins:  # the second (or third) contact of the previous address
            twins -= 1
            email = previous.email.upper() if rng.random() < 0.5 else previous.email
            if i % 3:  # the same person entered again; otherwise someone else of the household
                first, last = previous.fields["first_name"], previous.fields["last_name"]
        elif i % SHARED_EVERY == 1:
            twins = 2 if (i // SHARED_EVERY) % THREE_EVERY == 0 else 1
        fields = {"email": email, "first_name": first, "last_name": last,
                  "account_manager": rng.choice(MANAGERS), "newsletter": True}  # fmt: skip
        synced = rng.random() < 0.85
        previous = Contact(
            external_id=external_id, external_id_hash=hash_external_id(external_id),
            fields=fields, fields_hash=hash_fields(fields), email=email,
            account_manager=fields["account_manager"],
            sync_status=SyncStatus.SYNCED if synced else SyncStatus.PENDING,
            synced_at=created if synced else None, changed_at=created, created_at=created,
        )  # fmt: skip
        yield previous


def fill_ledger() -> None:
    from django.db import connection

    from contacts.models import Contact

    contacts = make_contacts()
    while chunk := list(islice(contacts, 50_000)):
        Contact.objects.bulk_create(chunk, batch_size=5000)
    # What autovacuum does soon after a load; it lets PostgreSQL answer from indexes alone.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE contacts_contact")


def run() -> list:
    set_up_fresh_database(DB_NAME)
    from identity.duplicates import count_duplicates

    started = time.monotonic()
    fill_ledger()
    totals = count_duplicates()
    note = (
        f"PostgreSQL, {CONTACTS:,} contacts, {totals.groups:,} shared addresses "
        f"({totals.households:,} households) of {totals.contacts:,} contacts; ledger made in "
        f"{time.monotonic() - started:.0f} s"
    )
    client = marketer_client()
    figures = []
    for name, query in CASES.items():
        median, queries = time_page(client, query, path="/duplicates/")
        figures.append(
            Figure(f"duplicates report, {name}: median server time", median, "ms",
                   target=TARGET_MS, higher_is_better=False,
                   note=f"{REQUESTS} requests, {queries} queries; {note}")
        )  # fmt: skip
    started = time.perf_counter()
    response = client.get("/duplicates/export.csv")
    lines = b"".join(response.streaming_content).count(b"\n")
    figures.append(
        Figure("duplicates report, CSV export of every shared address", time.perf_counter() -
               started, "s", note=f"{lines - 1:,} rows; {note}")
    )  # fmt: skip
    return figures
