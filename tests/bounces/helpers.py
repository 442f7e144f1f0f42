"""Plain helpers for the bounce inbox's tests: a contact in the ledger and in the sandbox, a
bounce simulated in the sandbox, and the pull that reads it."""

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from contacts.ingest import upsert_contact
from sync.pull_bounces import pull_bounces
from sync.push import push_one_batch
from tests.conftest import make_user

ANNA = {"email": "anna@example.nl", "first_name": "Anna", "last_name": "Visser", "newsletter": True}


def pushed_contact(client, external_id: str = "C-1", **fields):
    outcome = upsert_contact(external_id=external_id, raw_fields={**ANNA, **fields})
    push_one_batch(client=client)
    outcome.contact.refresh_from_db()
    return outcome.contact


def bounce(sandbox, reference: str = "C-1", *, kind: str = "HARDBOUNCE", ago=timedelta(minutes=1)):
    at = (timezone.now() - ago).isoformat()
    return sandbox.control("POST", f"contacts/{reference}/bounce", json={"type": kind, "at": at})


def pull(client, *, days: float = 1):
    now = timezone.now()
    return pull_bounces(
        since=now - timedelta(days=days), until=now + timedelta(seconds=1), client=client
    )


def manager(username: str = "sanne", *, role: str = "Account manager", **names) -> User:
    user = make_user(username, role=role)
    for name, value in names.items():
        setattr(user, name, value)
    user.save()
    return user
