"""Both pulls run one loop: they stop after the page in which an operator cancelled them, keep
their place, and word Spotler's errors alike."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.ingest import upsert_contact
from sync import pull, pull_bounces
from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger
from sync.push import push_one_batch
from tests.helpers import sandbox_client

ANNA = {"email": "anna@example.nl", "first_name": "Anna", "newsletter": True}
PULLS = {
    SyncRunKind.PULL_UPDATES: (pull, pull.pull_updates),
    SyncRunKind.PULL_BOUNCES: (pull_bounces, pull_bounces.pull_bounces),
}


def three_pushed_and_bounced(client, sandbox) -> None:
    for n in range(3):
        upsert_contact(external_id=f"C-{n}", raw_fields={**ANNA, "email": f"c{n}@example.nl"})
    push_one_batch(client=client)
    at = (timezone.now() - timedelta(minutes=1)).isoformat()
    for n in range(3):
        sandbox.control("POST", f"contacts/C-{n}/bounce", json={"type": "HARDBOUNCE", "at": at})


def window() -> dict:
    now = timezone.now()
    return {"since": now - timedelta(hours=1), "until": now + timedelta(seconds=1)}


@pytest.mark.parametrize("kind", PULLS)
def test_a_pull_cancelled_while_it_runs_stops_after_its_page_and_keeps_its_place(
    kind, spotler_client, spotler_sandbox, monkeypatch, settings
):
    module, pull_window = PULLS[kind]
    three_pushed_and_bounced(spotler_client, spotler_sandbox)
    if kind == SyncRunKind.PULL_BOUNCES:
        settings.SYNC_PULL_BOUNCES_PAGE_SIZE = 1
    else:
        monkeypatch.setattr(module, "PAGE_SIZE", 1)
    run = SyncRun.objects.create(kind=kind, trigger=SyncRunTrigger.DASHBOARD, cancel_requested=True)

    ended = pull_window(**window(), client=spotler_client, run=run)

    run.refresh_from_db()
    assert (run.status, run.done, run.cancel_requested) == (SyncRunStatus.CANCELLED, 1, True)
    assert run.checkpoint.get("after")  # where a pull of this run would go on
    assert run.finished_at is not None and ended.status == run.status


@pytest.mark.parametrize("kind", PULLS)
def test_both_pulls_explain_spotlers_refusal_in_the_same_words(kind, spotler_sandbox, db):
    _module, pull_window = PULLS[kind]
    wrong = sandbox_client(spotler_sandbox, secret="wrong")

    run = pull_window(**window(), client=wrong)

    assert run.status == SyncRunStatus.FAILED
    assert run.error.startswith("Spotler: “Invalid signature")
    assert "(401 NOT_AUTHORIZED). Spotler refused our credentials." in run.error
