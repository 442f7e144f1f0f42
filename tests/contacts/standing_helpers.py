"""A known situation for the contacts pages' state: contacts pushed to the sandbox and pulled
back, then one recipient unsubscribes from the newsletter in Spotler and one's mail bounces."""

from datetime import timedelta

from django.utils import timezone

from contacts.ingest import upsert_contact
from sync.models import SyncRunStatus
from sync.pull import pull_updates
from sync.push import push_one_batch
from tests.bounces.helpers import bounce
from tests.bounces.helpers import pull as pull_bounces

PEOPLE = {
    "C-ANNA": {"email": "anna@example.nl", "first_name": "Anna", "last_name": "Visser",
               "account_manager": "Joost", "language": "nl"},
    "C-BRAM": {"email": "bram@example.nl", "first_name": "Bram", "last_name": "Jansen",
               "account_manager": "Joost", "language": "nl"},
    "C-CHLOE": {"email": "chloe@example.nl", "first_name": "Chloé", "last_name": "Dubois",
                "account_manager": "Petra", "language": "fr"},
}  # fmt: skip


def pull_updates_now(client) -> None:
    now = timezone.now()
    run = pull_updates(since=now - timedelta(hours=1), until=now + timedelta(seconds=1),
                       client=client)  # fmt: skip
    assert run.status == SyncRunStatus.SUCCEEDED, run.error


def unsubscribed_and_bounced(client, sandbox) -> None:
    """Anna unsubscribed from the newsletter in Spotler, Bram's mail bounced (hard), Chloé is
    subscribed and fine; all three synced, each with "newsletter: true" from the shop."""
    for external_id, fields in PEOPLE.items():
        upsert_contact(external_id=external_id, raw_fields={**fields, "newsletter": True})
    push_one_batch(client=client)
    pull_updates_now(client)  # Spotler's state as our push left it: nothing new to report
    sandbox.control("POST", "contacts/C-ANNA/unsubscribe", json={"bit": 1})
    bounce(sandbox, "C-BRAM")
    pull_updates_now(client)
    pull_bounces(client)
