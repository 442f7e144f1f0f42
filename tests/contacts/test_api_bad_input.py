import json

import pytest

from contacts.api_errors import MAX_BODY_BYTES
from contacts.models import Contact, Order
from sync.models import OutboxEntry
from tests.contacts.conftest import anna


def assert_nothing_written() -> None:
    assert not Contact.objects.exists()
    assert not OutboxEntry.objects.exists()


def assert_error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}
    assert body["error"] == code
    assert body["detail"].endswith(".")
    return body


def test_malformed_json_is_400_and_says_where(api):
    response = api.put("contacts/C1", raw='{"email": "anna@example.com",')

    body = assert_error_shape(response, 400, "malformed_json")
    assert "line 1" in body["detail"]
    assert_nothing_written()


def test_nan_is_not_json_and_is_refused(api):
    response = api.put("contacts/C1", raw='{"email": "anna@example.com", "score": NaN}')

    assert_error_shape(response, 400, "malformed_json")


def test_a_body_that_is_not_an_object_is_422(api):
    response = api.put("contacts/C1", ["anna@example.com"])

    body = assert_error_shape(response, 422, "invalid_fields")
    assert "JSON object" in body["fields"]["_body"]


def test_an_empty_body_is_422_asking_for_the_email(api):
    response = api.put("contacts/C1", raw="")

    assert response.status_code == 422
    assert_nothing_written()


def test_a_missing_email_is_422_naming_the_field(api):
    response = api.put("contacts/C1", {"first_name": "Anna"})

    body = assert_error_shape(response, 422, "invalid_fields")
    assert body["fields"] == {"email": "An e-mail address is required."}
    assert "`email`" in body["detail"]
    assert_nothing_written()


@pytest.mark.parametrize("email", ["anna", "anna@", "anna@example..com", "a b@example.com", 42])
def test_an_invalid_email_is_422(api, email):
    response = api.put("contacts/C1", anna(email=email))

    body = assert_error_shape(response, 422, "invalid_fields")
    assert set(body["fields"]) == {"email"}
    assert_nothing_written()


def test_nested_values_are_422_per_field(api):
    response = api.put("contacts/C1", anna(tags=["a", "b"], address={"city": "Utrecht"}))

    body = assert_error_shape(response, 422, "invalid_fields")
    assert set(body["fields"]) == {"tags", "address"}
    assert "not a list or object" in body["fields"]["tags"]


def test_a_field_name_with_odd_characters_is_422(api):
    response = api.put("contacts/C1", anna(**{"first name": "Anna"}))

    assert set(assert_error_shape(response, 422, "invalid_fields")["fields"]) == {"first name"}


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\n", "\u0085"])
def test_control_characters_are_refused_naming_the_field(api, char):
    response = api.put("contacts/C1", anna(last_name=f"de{char}Vries"))

    body = assert_error_shape(response, 422, "invalid_fields")
    assert "control character" in body["fields"]["last_name"]
    assert_nothing_written()


def test_a_lone_surrogate_is_refused(api):
    raw = '{"email": "anna@example.com", "first_name": "\\ud800"}'

    response = api.put("contacts/C1", raw=raw)

    assert set(assert_error_shape(response, 422, "invalid_fields")["fields"]) == {"first_name"}


def test_very_long_values_are_refused_with_the_limit(api):
    response = api.put("contacts/C1", anna(first_name="A" * 1001, language="x" * 36))

    body = assert_error_shape(response, 422, "invalid_fields")
    assert "1001 characters" in body["fields"]["first_name"]
    assert "most accepted is 1000" in body["fields"]["first_name"]
    assert "language" in body["fields"]
    assert_nothing_written()


def test_an_unusable_external_id_is_422(api):
    response = api.put("contacts/-bad", anna())

    assert set(assert_error_shape(response, 422, "invalid_fields")["fields"]) == {"external_id"}


def test_a_body_over_one_mib_is_413_before_it_is_read(api):
    big = json.dumps(anna(notes="x" * 900, padding="y" * 900)) + " " * MAX_BODY_BYTES

    response = api.put("contacts/C1", raw=big)

    body = assert_error_shape(response, 413, "body_too_large")
    assert "1024 KiB" in body["detail"]
    assert_nothing_written()


def test_a_lying_content_length_over_the_limit_is_413(client, api):
    response = client.put(
        "/api/v1/contacts/C1",
        data=json.dumps(anna()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.secret}",
        CONTENT_LENGTH=str(MAX_BODY_BYTES + 1),
    )

    assert response.status_code == 413


def test_an_unknown_api_address_is_a_json_404(api):
    response = api.get("nothing-here")

    assert response.status_code == 404


def test_an_order_date_without_a_time_zone_is_422_with_an_example(api):
    api.put("contacts/C1", anna())
    order = {"external_id": "O1", "contact_external_id": "C1", "date": "2026-11-22T10:00:00"}

    response = api.post("orders", {**order, "value": "10.00"})

    body = assert_error_shape(response, 422, "invalid_fields")
    assert body["fields"] == {"date": "Include a time zone, e.g. 2026-11-22T10:00:00+01:00."}
    assert not Order.objects.exists()


def test_an_order_with_wrong_types_gets_a_message_per_field(api):
    response = api.post(
        "orders", {"external_id": "O1", "contact_external_id": 7, "date": "soon", "value": "lots"}
    )

    body = assert_error_shape(response, 422, "invalid_fields")
    assert set(body["fields"]) == {"contact_external_id", "date", "value"}


def test_an_order_missing_fields_names_them(api):
    body = assert_error_shape(api.post("orders", {}), 422, "invalid_fields")

    assert body["fields"] == {
        name: "This field is required."
        for name in ("external_id", "contact_external_id", "date", "value")
    }


def test_a_bad_changes_limit_is_422(read_api):
    body = assert_error_shape(read_api.get("changes?limit=5000"), 422, "invalid_fields")

    assert set(body["fields"]) == {"limit"}


def test_an_empty_body_says_to_send_an_object(api):
    body = assert_error_shape(api.put("contacts/C1", raw=""), 422, "invalid_fields")

    assert body["fields"] == {"_body": "The body is empty; send a JSON object."}


def test_an_external_id_in_the_body_must_match_the_url(api):
    response = api.put("contacts/C1", anna(external_id="C2"))

    assert set(assert_error_shape(response, 422, "invalid_fields")["fields"]) == {"external_id"}
    assert_nothing_written()


def test_a_cursor_beyond_any_database_integer_is_422_not_a_crash(read_api):
    response = read_api.get(f"changes?after={2**63}")

    assert response.status_code == 422
