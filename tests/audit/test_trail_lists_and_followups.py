"""The audit trail of temporary lists (made, refreshed, deleted: by a token or a Marketer) and of
follow-ups given to another owner."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from audit.models import AuditEntry
from bounces.models import FollowUp
from contacts.models import TokenScope
from lists.models import TempList
from tests.bounces.conftest import spotler_client  # noqa: F401  (a fixture)
from tests.bounces.helpers import bounce, manager, pull, pushed_contact
from tests.contacts.conftest import ApiClient
from tests.lists.helpers import contacts_in_spotler, ledger_has
from tests.queued_tasks import run_task, take_queued_tasks


def run_queued() -> None:
    for task in take_queued_tasks():
        if task.get("group") == "lists":
            run_task(task)


@pytest.mark.django_db(transaction=True)
def test_lists_made_refreshed_and_deleted_through_the_api_name_the_token(
    client, lists_sandbox, settings
):
    from contacts.tokens import create_api_token

    settings.API_RATE_LIMIT = 0
    take_queued_tasks()
    new = create_api_token(name="Shop", scope=TokenScope.WRITE)
    api = ApiClient(client, new.secret)
    ids = contacts_in_spotler(lists_sandbox, 2)
    made = api.post("lists", {"name": "Guests", "external_ids": [*ids, "C-LATE"]}).json()
    run_queued()
    lists_sandbox.control(
        "POST", "contacts", {"externalId": "C-LATE", "properties": {"email": "late@example.nl"}}
    )
    ledger_has(["C-LATE"])
    assert api.post(f"lists/{made['id']}/refresh", {}).status_code == 202
    run_queued()
    assert api.delete(f"lists/{made['id']}").status_code == 202

    shop = f"api token “Shop” ({new.token.prefix}…)"
    trail = list(AuditEntry.objects.filter(object_type="temporary list").order_by("pk"))
    assert [(e.actor_label, e.action, e.object_label) for e in trail] == [
        (shop, "created", "Guests"),
        (shop, "refreshed", "Guests"),
        (shop, "deleted", "Guests"),
    ]
    assert trail[0].changes["contacts"] == [None, 2]
    assert trail[0].changes["via"] == [None, "api"]
    assert trail[1].changes == {"contacts": [2, 3]}
    assert trail[2].changes == {"state": ["complete", "deleting"]}
    assert trail[0].object_id == str(TempList.objects.get(spotler_id=made["id"]).pk)


@pytest.mark.django_db
def test_a_marketer_deleting_a_list_is_named(client_as, lists_sandbox):
    from lists import budget

    ids = contacts_in_spotler(lists_sandbox, 1)
    made = budget.create_list(name="Few", contact_ids=ids)
    TempList.objects.filter(pk=made.pk).update(state="complete")
    client_as("marketer").post(reverse("lists:list-delete"), {"spotler_id": [made.spotler_id]})

    created, deleted = AuditEntry.objects.filter(object_type="temporary list").order_by("pk")
    assert created.actor_label == "system"
    assert (deleted.actor_label, deleted.action) == ("marketer", "deleted")


@pytest.mark.django_db
def test_a_followup_given_to_another_owner_is_recorded_with_both_owners(
    client,
    spotler_client,  # noqa: F811
    spotler_sandbox,
):
    manager("sanne", first_name="Sanne", last_name="Bakker")
    tom = manager("tom", first_name="Tom", last_name="de Wit")
    manager("boss", role="Admin")
    pushed_contact(spotler_client, "C-1", account_manager="Sanne Bakker")
    bounce(spotler_sandbox, "C-1")
    pull(spotler_client)
    followup = FollowUp.objects.get()
    client.force_login(User.objects.get(username="boss"))

    client.post("/bounces/bulk/", {"ids": [followup.pk], "action": "assign", "owner": tom.pk})

    [entry] = AuditEntry.objects.filter(object_type="follow-up")
    assert (entry.actor_label, entry.action, entry.object_label) == (
        "boss", "assigned", f"#{followup.pk}"
    )  # fmt: skip
    assert entry.changes == {"owner": ["Sanne Bakker", "Tom de Wit"]}
