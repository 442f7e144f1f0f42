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
