"""Reconciliation against the sandbox: each kind of drift Spotler is made to hold is found."""

from identity.models import DriftFinding
from sync.models import SyncRunStatus
from tests.identity.helpers import lost_in_the_outbox, pushed, reconcile


def test_a_clean_ledger_gives_a_clean_run(sandbox):
    pushed(5)
    run = reconcile()
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    assert (run.total, run.done, run.sent, run.failed, run.skipped) == (5, 5, 5, 0, 0)
    assert not DriftFinding.objects.exists()
    assert sandbox.requests()["GET contact/{externalId}"] == {"200": 5}


def test_each_kind(sandbox):
    pushed(4)
    lost_in_the_outbox("C-9")
    sandbox.control("POST", "contacts/C-1/edit", {"properties": {"firstName": "Ann"}})
    sandbox.control("POST", "contacts/C-2/unsubscribe", {"bit": 1})
    lost_in_the_outbox("C-3", newsletter=False)
    run = reconcile()
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    for f in DriftFinding.objects.all():
        print(f.kind, f.external_id, f.details)
    print(run.total, run.done, run.sent, run.failed, run.skipped)
