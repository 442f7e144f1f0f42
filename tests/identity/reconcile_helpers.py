"""Helpers the reconciliation's tests share: the sandbox as our Spotler, contacts in the ledger
and in Spotler, and runs."""

import pytest

from contacts.ingest import upsert_contact
from contacts.models import Contact
from mapping.versions import current_version, save_version
from sync import push, runs
from sync.models import OutboxEntry, OutboxStatus, SyncRun, SyncRunKind, SyncRunTrigger


@pytest.fixture(name="sandbox")
def sandbox_as_spotler(spotler_sandbox, catalogue, settings):
    """The sandbox as our Spotler account (its catalogue fetched), with no rate limit: the
    reconciliation and the push talk to it through the client the settings describe. Used as
    `sandbox` by the tests that import it (tests/identity/conftest.py, the browser test)."""
    spotler_sandbox.set(rate_limit=0)
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_RATE_LIMIT = 0
    return spotler_sandbox


def anna(n: int, **extra) -> dict:
    return {"email": f"c{n}@example.nl", "first_name": f"Anna {n}", "newsletter": True, **extra}


def pushed(count: int, **extra) -> list[Contact]:
    """`count` contacts C-0, C-1, ... in the ledger, pushed to the sandbox."""
    for n in range(count):
        upsert_contact(external_id=f"C-{n}", raw_fields=anna(n, **extra))
    while push.push_one_batch() is not None:
        pass
    return list(Contact.objects.order_by("pk"))


def lost_in_the_outbox(external_id: str, **fields) -> None:
    """The shop changes a contact, and the change never reaches Spotler (an outbox entry lost
    in an old failure, a restore from a backup): the drift a reconciliation is there for."""
    n = int(external_id.split("-")[1])
    upsert_contact(external_id=external_id, raw_fields=anna(n, **fields))
    OutboxEntry.objects.filter(
        contact__external_id=external_id, status=OutboxStatus.PENDING
    ).update(status=OutboxStatus.DONE)


def reconcile(**filters) -> SyncRun:
    """A reconciliation started from the command line and done here, at once."""
    run = runs.start_run(
        kind=SyncRunKind.RECONCILE, trigger=SyncRunTrigger.COMMAND, filters=filters or None
    )
    return runs.execute_run(run.pk)


def mapping_sends_city(author) -> None:
    """A mapping row the linked system owns: the shop's city to Spotler's, never back."""
    row = {"source_fields": ["city"], "property": "city", "type": "string"}
    save_version(rows=[*current_version().rows, row], author=author)
