"""Identifiers and field names are matched whole: Python's `$` also matches before a final
newline, so `re.match` once let "C9\\n" in next to "C9" (and "first_name\\n" as a field)."""

import pytest
from django.core.exceptions import ValidationError

from contacts.models import Contact, Order, validate_external_id
from contacts.source_fields import FIELD_NAME
from sync.models import OutboxEntry
from tests.contacts.conftest import anna


def test_a_put_to_an_id_with_a_trailing_newline_is_refused(api):
    response = api.put("contacts/C9%0A", anna())

    assert response.status_code == 422, response.content
    assert set(response.json()["fields"]) == {"external_id"}
    assert not Contact.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_a_field_name_with_a_trailing_newline_is_refused(api):
    response = api.put("contacts/C9", {**anna(), "first_name\n": "Anna"})

    assert response.status_code == 422, response.content
    assert set(response.json()["fields"]) == {"first_name\n"}
    assert not Contact.objects.exists()


def test_a_batch_item_whose_id_ends_in_a_newline_is_rejected(api):
    items = [{"external_id": "C9\n", **anna()}, {"external_id": "C9", **anna()}]

    body = api.post("contacts/batch", {"contacts": items}).json()

    assert [r["status"] for r in body["results"]] == ["rejected", "accepted"]
    assert set(body["results"][0]["error"]["fields"]) == {"external_id"}
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["C9"]


@pytest.mark.parametrize(
    ("name", "order"),
    [
        ("external_id", {"external_id": "O1\n", "contact_external_id": "C9"}),
        ("contact_external_id", {"external_id": "O1", "contact_external_id": "C9\n"}),
    ],
)
def test_an_order_whose_ids_end_in_a_newline_is_refused(api, name, order):
    api.put("contacts/C9", anna())

    response = api.post("orders", {**order, "date": "2026-11-22T10:00:00Z", "value": "1"})

    assert response.status_code == 422, response.content
    assert set(response.json()["fields"]) == {name}
    assert not Order.objects.exists()


@pytest.mark.parametrize("value", ["C9\n", "C9\n\n", "\nC9"])
def test_the_ledgers_own_id_check_matches_the_whole_id(value):
    with pytest.raises(ValidationError):
        validate_external_id(value)
    validate_external_id("C9")


def test_the_field_name_pattern_is_used_whole():
    assert FIELD_NAME.fullmatch("first_name")
    assert not FIELD_NAME.fullmatch("first_name\n")


@pytest.mark.parametrize(
    "query", ["after=1%0A", "after=%201", "after=%2B1", "after=1_000", "limit=5%0A"]
)
def test_a_changes_cursor_or_limit_is_read_as_digits_only(read_api, query):
    response = read_api.get(f"changes?{query}")

    assert response.status_code == 422, response.content
    name = query.split("=")[0]
    assert response.json()["fields"] == {
        name: "Send a whole number written with the digits 0-9 only, e.g. 42."
    }


def test_the_document_says_a_changes_cursor_is_digits_only(client_as):
    document = client_as("marketer").get("/api/v1/openapi.json").json()
    parameters = document["paths"]["/api/v1/changes"]["get"]["parameters"]

    assert {p["name"]: p["schema"]["pattern"] for p in parameters} == {
        "after": "^[0-9]+$",
        "limit": "^[0-9]+$",
    }


def test_a_changes_cursor_in_digits_is_read(read_api):
    assert read_api.get("changes?after=007&limit=5").json() == {"changes": [], "next_cursor": 7}
