"""The quiet period: a contact edited again and again right after its push goes to Spotler
once more with its latest state, not once per edit; a single edit is not delayed."""

import math
import time
from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client

from contacts.ingest import upsert_contact
from contacts.models import Contact, SyncStatus, TokenScope
from contacts.tokens import create_api_token
from spotler.sandbox.handle import SandboxControlError
from sync import push, push_requests
from sync.models import OutboxEntry
from tests.conftest import transactional
from tests.helpers import wait_for
from tests.queue_cluster import running_cluster

ANNA = {"email": "anna@example.nl", "first_name": "Anna", "newsletter": True}
# Far longer than any step of these tests takes, however loaded the machine: what is held back
# is still held when the test looks. Time passes only when a test says so (`let_time_pass`).
QUIET_SECONDS = 60.0
# The cluster's own (the default): the burst test below measures real time.
CLUSTER_QUIET_SECONDS = 1.0


@pytest.fixture
def quiet(settings):
    settings.SYNC_PUSH_QUIET_SECONDS = QUIET_SECONDS


def let_time_pass(seconds: float) -> None:
    """As if `seconds` had passed since the contacts were claimed: their claims, from which
    the quiet period counts, are made that much older."""
    OutboxEntry.objects.exclude(claimed_at=None).update(
        claimed_at=F("claimed_at") - timedelta(seconds=seconds)
    )


def upserts_of(sandbox) -> int:
    return sum(sandbox.requests().get("POST contact", {}).values())


def in_spotler(sandbox, external_id: str, first_name: str) -> bool:
    try:
        return sandbox.contact(external_id)["properties"]["firstName"] == first_name
    except SandboxControlError:
        return False  # not there yet


def test_edits_right_after_a_push_wait_out_the_quiet_period_then_go_once(
    quiet, spotler_sandbox, spotler_client
):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    assert push.push_one_batch(client=spotler_client).sent == 1  # the first edit goes at once
    for name in ("Ann", "Anne", "Annie"):
        upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": name})

    assert push.push_one_batch(client=spotler_client) is None  # held back
    waited = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        let_time_pass(seconds)

    assert push_requests.wait_for_held_contacts(sleep=sleep) is True
    assert QUIET_SECONDS - 10 < waited[0] <= QUIET_SECONDS + 0.05  # until the period is over
    assert push.push_one_batch(client=spotler_client).sent == 1

    assert upserts_of(spotler_sandbox) == 2
    assert spotler_sandbox.contact("C-1")["properties"]["firstName"] == "Annie"
    assert push_requests.wait_for_held_contacts() is False  # nothing left to wait for


def test_another_contact_is_not_held_back_by_one_in_its_quiet_period(
    quiet, spotler_sandbox, spotler_client
):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    push.push_one_batch(client=spotler_client)
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": "Ann"})
    upsert_contact(external_id="C-2", raw_fields={**ANNA, "email": "bram@example.nl"})

    run = push.push_one_batch(client=spotler_client)

    assert run.sent == 1
    assert spotler_sandbox.contact("C-2")["properties"]["email"] == "bram@example.nl"
    assert Contact.objects.get(external_id="C-1").sync_status == SyncStatus.PENDING


def test_one_push_task_waits_for_held_contacts_and_the_others_end(
    quiet, spotler_sandbox, spotler_client
):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    push.push_one_batch(client=spotler_client)
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": "Ann"})
    others = []
    waited = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        others.append(push_requests.wait_for_held_contacts())  # another task, while this one waits

    assert push_requests.wait_for_held_contacts(sleep=sleep) is True
    assert others == [False]
    assert QUIET_SECONDS - 10 < waited[0] <= QUIET_SECONDS + 0.05


@transactional
def test_twenty_edits_of_one_contact_within_a_second_make_at_most_two_spotler_calls(
    spotler_sandbox, catalogue
):
    spotler_sandbox.set(rate_limit=0)
    token = create_api_token(name="shop", scope=TokenScope.WRITE).secret
    env = {
        "SPOTLER_BASE_URL": spotler_sandbox.base_url,
        "SYNC_PUSH_QUIET_SECONDS": str(CLUSTER_QUIET_SECONDS),
    }
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    with running_cluster(workers=2, extra_env=env):
        # Another contact first: once it is in Spotler, the cluster is up and draining.
        api.put("/api/v1/contacts/C-0", data=ANNA, content_type="application/json")
        assert wait_for(lambda: in_spotler(spotler_sandbox, "C-0", "Anna"), seconds=20)
        started = time.monotonic()
        for n in range(20):  # spread over most of a second, as a shop's quick edits would be
            time.sleep(max(0.0, started + n * 0.045 - time.monotonic()))
            response = api.put(
                "/api/v1/contacts/C-7", data={**ANNA, "first_name": f"Edit {n}"},
                content_type="application/json",
            )  # fmt: skip
            assert response.status_code == 202
        burst = time.monotonic() - started

        assert wait_for(lambda: in_spotler(spotler_sandbox, "C-7", "Edit 19"), seconds=20)
        time.sleep(CLUSTER_QUIET_SECONDS + 0.5)  # nothing more goes out afterwards

    # One call at once, then one per quiet period the burst lasted: 2 for a burst under 1 s
    # (C-0 made one call before).
    assert upserts_of(spotler_sandbox) - 1 <= 1 + math.ceil(burst / CLUSTER_QUIET_SECONDS)
    assert Contact.objects.get(external_id="C-7").sync_status == SyncStatus.SYNCED
