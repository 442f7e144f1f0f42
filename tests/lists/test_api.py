"""Temporary lists through the ingest API, against the Spotler sandbox over loopback: every
answer (made, listed, read, deleted, in use, refused) and every refusal's words."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from contacts.models import Contact, TokenScope
from lists.models import TempList, TempListState
from tests.contacts.conftest import ApiClient, make_token
from tests.lists.helpers import contacts_in_spotler, ledger_has
from tests.queued_tasks import run_task, take_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)


# A contact in the ledger and in Spotler, for lists whose contacts do not matter.
ONE = ["C-900"]


@pytest.fixture
def api(client, lists_sandbox, settings) -> ApiClient:
    settings.API_RATE_LIMIT = 0
    take_queued_tasks()
    contacts_in_spotler(lists_sandbox, 1, start=900)
    return ApiClient(client, make_token(TokenScope.WRITE))


@pytest.fixture
def read_api(client, api) -> ApiClient:
    return ApiClient(client, make_token(TokenScope.READ, name="Reporting"))


def run_queued() -> list:
    return [run_task(task) for task in take_queued_tasks() if task.get("group") == "lists"]


def in_sandbox(sandbox, list_id: str) -> dict | None:
    found = [t for t in sandbox.state()["templists"] if t["externalTemporaryListId"] == list_id]
    return found[0] if found else None


def test_a_list_is_made_with_its_counts_and_sent_on_the_queue(api, lists_sandbox):
    ids = contacts_in_spotler(lists_sandbox, 3)
    ledger_has(["GONE-1"])
    Contact.objects.filter(external_id="GONE-1").update(inactivated_at=timezone.now())
    ledger_has(["NEW-1"])
    Contact.objects.filter(external_id="NEW-1").update(synced_at=None)
    named = [*ids, ids[0], "GONE-1", "NEW-1", "NOBODY-1"]

    answer = api.post("lists", {"name": "Event guests", "external_ids": named})

    assert answer.status_code == 202, answer.json()
    body = answer.json()
    assert body["id"].startswith("spotlersync-")
    assert (body["name"], body["ours"], body["state"]) == ("Event guests", True, "draft")
    assert body["counts"] == {
        "total": 4,
        "sent": 0,
        "to_push": 1,  # NEW-1: not in Spotler yet, pushed before the list names it
        "pushed_first": 0,
        "left_out": {
            "erased": 0,
            "anonymized": 0,
            "inactive": 1,
            "permissions_off": 0,
            "push_failed": 0,
        },
        "unknown_ids": 1,
    }
    assert body["unknown_ids"] == ["NOBODY-1"]
    assert TempList.objects.get().created_via == "api"

    run_queued()
    done = api.get(f"lists/{body['id']}").json()
    assert (done["state"], done["counts"]["sent"]) == ("complete", 4)
    assert (done["counts"]["to_push"], done["counts"]["pushed_first"]) == (0, 1)
    assert in_sandbox(lists_sandbox, body["id"])["contacts"] == [*ids, "NEW-1"]
    assert lists_sandbox.contact("NEW-1")["properties"]["email"] == "new-1@example.nl"


def test_the_budget_lists_every_systems_lists_and_marks_theirs(api, read_api, lists_sandbox):
    (theirs,) = lists_sandbox.control("POST", "templists", {"count": 1})["created"]
    ours = api.post("lists", {"name": "Ours", "external_ids": ONE}).json()

    answer = read_api.get("lists")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["limit"], body["in_use"], body["free"]) == (30, 2, 28)
    by_id = {item["id"]: item for item in body["lists"]}
    assert (by_id[theirs]["ours"], by_id[theirs]["state"]) == (False, "other_system")
    assert by_id[theirs]["counts"] is None
    assert (by_id[ours["id"]]["ours"], by_id[ours["id"]]["name"]) == (True, "Ours")
    assert read_api.get(f"lists/{theirs}").json()["state"] == "other_system"
    assert read_api.get(f"lists/{ours['id']}").json()["counts"]["total"] == 1


def test_an_unknown_list_is_404(read_api):
    answer = read_api.get("lists/spotlersync-000000000000")

    assert answer.status_code == 404
    assert answer.json()["error"] == "list_not_found"
    assert "GET /api/v1/lists" in answer.json()["detail"]


def test_our_list_is_deleted_and_theirs_refused(api, lists_sandbox):
    (theirs,) = lists_sandbox.control("POST", "templists", {"count": 1})["created"]
    ours = api.post("lists", {"name": "Ours", "external_ids": ONE}).json()
    run_queued()

    answer = api.delete(f"lists/{ours['id']}")
    assert answer.status_code == 202
    assert answer.json()["state"] == "deleting"
    run_queued()
    assert api.get(f"lists/{ours['id']}").json()["state"] == "deleted"
    assert in_sandbox(lists_sandbox, ours["id"]) is None

    refused = api.delete(f"lists/{theirs}")
    assert refused.status_code == 403
    assert refused.json()["error"] == "not_our_list"
    assert "another system" in refused.json()["detail"]
    assert in_sandbox(lists_sandbox, theirs) is not None
    assert api.delete("lists/nobody-s-list").status_code == 404


def test_a_list_in_use_is_pending_and_deleted_once_free(api, lists_sandbox, settings):
    ours = api.post("lists", {"name": "In a mailing", "external_ids": ONE}).json()
    run_queued()
    lists_sandbox.control("POST", f"templists/{ours['id']}/in-use", {"in_use": True})

    assert api.delete(f"lists/{ours['id']}").status_code == 202
    run_queued()

    pending = api.get(f"lists/{ours['id']}").json()
    assert pending["state"] == "delete_pending_in_use"
    assert "Temporary list in use" in pending["error"]
    again = api.delete(f"lists/{ours['id']}")  # asked again: deleting, not an error
    assert again.status_code == 202
    lists_sandbox.control("POST", f"templists/{ours['id']}/in-use", {"in_use": False})
    run_queued()
    assert api.get(f"lists/{ours['id']}").json()["state"] == "deleted"


def test_a_used_up_budget_is_409_naming_our_oldest_lists(api, lists_sandbox, settings):
    settings.SPOTLER_TEMPLIST_LIMIT = 2
    lists_sandbox.control("POST", "templists", {"count": 1})
    api.post("lists", {"name": "Oldest of ours", "external_ids": ONE})

    answer = api.post("lists", {"name": "One too many", "external_ids": ONE})

    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "list_budget_exhausted"
    assert "All 2 temporary lists" in body["detail"]
    assert "“Oldest of ours”" in body["detail"]
    assert not TempList.objects.filter(name="One too many").exists()


def test_a_name_in_use_is_409(api):
    assert api.post("lists", {"name": "Guests", "external_ids": ONE}).status_code == 202

    answer = api.post("lists", {"name": "Guests", "external_ids": ONE})

    assert answer.status_code == 409
    assert answer.json()["error"] == "list_name_taken"
    assert "choose another" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "", "external_ids": ONE}, "name", "at least 1 character"),
        ({"name": "   ", "external_ids": ONE}, "name", "not only spaces"),
        ({"external_ids": ONE}, "name", "required"),
        ({"name": "x", "external_ids": ["C1", "bad id"]}, "external_ids.1", "letters, digits"),
        ({"name": "x", "external_ids": "C1"}, "external_ids", "valid list"),
        ({"name": "x", "external_ids": ONE, "expires_at": "3000-01-01T00:00:00Z"},
         "expires_at", "between 1900-01-01 and 2999-12-31"),
        ({"name": "x", "external_ids": ONE, "expires_at": "2020-01-01T00:00:00Z"},
         "expires_at", "in the future"),
        ({"name": "x", "external_ids": ONE, "expires_at": "2030-01-01T00:00:00"},
         "expires_at", "Include a time zone"),
    ],
)  # fmt: skip
def test_bad_input_says_what_to_fix(api, body, field, words):
    answer = api.post("lists", body)

    assert answer.status_code == 422, answer.json()
    assert answer.json()["error"] == "invalid_fields"
    assert words in answer.json()["fields"][field]
    assert f"`{field}`" in answer.json()["detail"]
    assert not TempList.objects.exists()


def test_more_than_100000_ids_are_refused_and_100000_taken(api):
    too_many = [f"C{n:07d}" for n in range(100_001)]

    answer = api.post("lists", {"name": "Everyone", "external_ids": too_many})

    assert answer.status_code == 422
    assert (
        "at most 100,000 contacts; this one names 100,001"
        in answer.json()["fields"]["external_ids"]
    )
    named = [*ONE, *too_many[: 100_000 - len(ONE)]]
    taken = api.post("lists", {"name": "Everyone", "external_ids": named})
    assert taken.status_code == 202, taken.json()
    assert taken.json()["counts"]["unknown_ids"] == 100_000 - len(ONE)
    assert taken.json()["counts"]["total"] == len(ONE)


def test_a_read_token_may_not_make_or_delete_lists(api, read_api):
    ours = api.post("lists", {"name": "Ours", "external_ids": ONE}).json()

    for answer in (
        read_api.post("lists", {"name": "Mine", "external_ids": ONE}),
        read_api.delete(f"lists/{ours['id']}"),
    ):
        assert answer.status_code == 403
        assert answer.json()["error"] == "read_only_token"
    assert TempList.objects.get().state == TempListState.DRAFT
    assert api.get("lists").status_code == 200  # a write token reads too
    assert ApiClient(api.client, None).get("lists").status_code == 401


def test_spotler_unreachable_is_a_clear_503(api, settings):
    settings.SPOTLER_BASE_URL = "http://127.0.0.1:9/integrationservice"

    for answer in (
        api.post("lists", {"name": "Guests", "external_ids": ONE}),
        api.get("lists"),
        api.get("lists/someone-elses"),
    ):
        assert answer.status_code == 503
        assert answer.json()["error"] == "spotler_unavailable"
        assert "Send the same call again" in answer.json()["detail"]
        assert answer["Retry-After"] == "60"
    assert not TempList.objects.exists()


def test_a_body_past_the_lists_limit_is_413(api):
    answer = api.post("lists", raw='{"name": "x", "external_ids": ONE}' + " " * (12 * 1024 * 1024))

    assert answer.status_code == 413
    assert answer.json()["error"] == "body_too_large"
    assert "larger than 12288 KiB; name fewer contacts" in answer.json()["detail"]


def test_spotler_refusing_our_credentials_is_a_503_for_an_admin(api, settings):
    settings.SPOTLER_CONSUMER_SECRET = "not-the-secret"

    answer = api.get("lists")

    assert answer.status_code == 503
    assert answer.json()["error"] == "spotler_refused"
    assert "An Admin must check the Spotler connection" in answer.json()["detail"]


def test_two_api_calls_taking_the_last_slot_get_one_list_and_one_409(api, lists_sandbox, settings):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    settings.SPOTLER_TEMPLIST_LIMIT = 2
    lists_sandbox.set(templist_limit=10, latency_ms=100)  # Spotler would let both through
    lists_sandbox.control("POST", "templists", {"count": 1})
    start = threading.Barrier(2)
    answers: dict[str, tuple[int, dict]] = {}

    def make(name: str) -> None:
        try:
            caller = ApiClient(Client(), api.secret)
            start.wait()
            answer = caller.post("lists", {"name": name, "external_ids": ONE})
            answers[name] = (answer.status_code, answer.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=make, args=(n,)) for n in ("Shop A", "Shop B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(status for status, _ in answers.values()) == [202, 409]
    (refusal,) = [body for status, body in answers.values() if status == 409]
    assert refusal["error"] == "list_budget_exhausted"
    assert refusal["detail"].startswith("All 2 temporary lists of the Spotler account are in use")
    assert TempList.objects.count() == 1
    assert len(lists_sandbox.state()["templists"]) == 2


def test_a_list_includes_inactive_contacts_when_asked_and_refuses_a_group_it_may_not(
    api, lists_sandbox
):
    ids = contacts_in_spotler(lists_sandbox, 2)
    Contact.objects.filter(external_id=ids[1]).update(inactivated_at=timezone.now())

    left = api.post("lists", {"name": "Service notice", "external_ids": ids})
    assert left.json()["counts"]["left_out"]["inactive"] == 1
    included = api.post(
        "lists", {"name": "Service notice 2", "external_ids": ids, "include": ["inactive"]}
    )
    assert included.status_code == 202, included.json()
    assert included.json()["counts"]["total"] == 2
    assert included.json()["counts"]["left_out"]["inactive"] == 0
    assert TempList.objects.get(name="Service notice 2").filters == {"include": ["inactive"]}

    refused = api.post("lists", {"name": "X", "external_ids": ids, "include": ["erased"]})
    assert refused.status_code == 422
    assert "include.0" in refused.json()["fields"]


def test_a_list_of_nobody_is_refused_and_takes_no_slot(api, lists_sandbox):
    ledger_has(["GONE-1"])
    Contact.objects.filter(external_id="GONE-1").update(inactivated_at=timezone.now())

    empty = api.post("lists", {"name": "Nobody", "external_ids": []})
    assert empty.status_code == 422
    assert "external_ids" in empty.json()["fields"]
    nobody = api.post("lists", {"name": "Nobody", "external_ids": ["GONE-1", "NOPE-1"]})
    assert nobody.status_code == 422
    assert nobody.json()["error"] == "empty_selection"
    assert "(1 unknown; 1 inactive)" in nobody.json()["detail"]
    assert not TempList.objects.exists()
    assert lists_sandbox.state()["templists"] == []


def test_a_field_the_call_does_not_know_is_refused_not_ignored(api):
    answer = api.post(
        "lists", {"name": "Filtered?", "external_ids": ONE, "filters": {"language": "de"}}
    )
    assert answer.status_code == 422
    assert "filters" in answer.json()["fields"]
    assert not TempList.objects.exists()
