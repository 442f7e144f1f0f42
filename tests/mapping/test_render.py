from zoneinfo import ZoneInfo

from mapping.render import Conversion, Direction, Row, compile_mapping, render_contact
from mapping.rows import row_from_json

AMS = ZoneInfo("Europe/Amsterdam")

ROWS = [
    Row(("email",), "email", "email"),
    Row(("first_name",), "firstName", "string"),
    Row(("last_name",), "lastName", "string", clear_when_empty=True),
    Row(("birthday",), "birthday", "birthdate"),
    Row(("first_purchase_at",), "firstPurchaseDate", "dateTime"),
    Row(("total_spent",), "totalSpent", "money"),
    Row(("newsletter",), "permissions", "set", conversion=Conversion.PERMISSION,
        options={"bit": 1}),
    Row(("promotions",), "permissions", "set", conversion=Conversion.PERMISSION,
        options={"bit": 2}),
    Row(("locale",), "language", "string", conversion=Conversion.LANGUAGE_TABLE,
        options={"table": {"nl_NL": "NL", "de_DE": "DE"}}),
    Row(("store", "store_view"), "storeLevel", "string", conversion=Conversion.LEVELS),
    Row((), "customerType", "string", conversion=Conversion.CONSTANT,
        options={"value": "webshop"}),
    Row(("city",), "city", "string", direction=Direction.FROM_SPOTLER),
    Row(("loyalty",), "loyaltyPoints", "int", broken=True),
]  # fmt: skip


def render(fields: dict, rows=ROWS):
    return render_contact(external_id="C-1", fields=fields, mapping=compile_mapping(rows, tz=AMS))


def test_a_contact_becomes_exactly_the_json_spotler_receives():
    result = render(
        {
            "email": "anna@example.nl",
            "first_name": "Anna",
            "last_name": "de Vries",
            "birthday": "29-02-2000",
            "first_purchase_at": "2026-03-01T09:00:00+01:00",
            "total_spent": "1.234,50",
            "newsletter": "yes",
            "promotions": False,
            "locale": "nl-NL",
            "store": "Shop NL",
            "store_view": "Dutch",
            "city": "Utrecht",
            "loyalty": 12,
        }
    )
    assert result.problems == []
    assert result.payload == {
        "externalId": "C-1",
        "properties": {
            "email": "anna@example.nl",
            "firstName": "Anna",
            "lastName": "de Vries",
            "birthday": "2000-02-29",
            "firstPurchaseDate": "2026-03-01T09:00:00+01:00",
            "totalSpent": 123450,
            "permissions": [{"bit": 1, "enabled": True}, {"bit": 2, "enabled": False}],
            "language": "NL",
            "storeLevel": "Shop NL - Dutch",
            "customerType": "webshop",
        },
    }


def test_rows_that_only_come_back_from_spotler_or_are_broken_are_not_sent():
    props = render({"email": "a@example.nl", "city": "Utrecht", "loyalty": 3}).payload
    assert "city" not in props["properties"]
    assert "loyaltyPoints" not in props["properties"]


def test_an_empty_source_value_clears_only_where_the_row_says_so():
    props = render({"email": "a@example.nl", "first_name": "", "last_name": ""}).payload
    assert "firstName" not in props["properties"]
    assert props["properties"]["lastName"] == ""


def test_a_bad_value_drops_only_that_field_and_says_why():
    result = render({"email": "a@example.nl", "first_name": "Bo", "birthday": "31-02-1990"})
    assert result.pushable
    assert result.payload["properties"]["firstName"] == "Bo"
    assert "birthday" not in result.payload["properties"]
    [problem] = result.problems
    assert problem.spotler_property == "birthday"
    assert "not a day in the calendar" in problem.message


def test_a_contact_without_a_valid_email_cannot_be_pushed():
    result = render({"email": "not-an-address", "first_name": "Bo"})
    assert not result.pushable
    assert result.problems[0].spotler_property == "email"
    assert not render({"first_name": "Bo"}).pushable


def test_a_saved_row_says_which_way_it_goes_and_which_bit_it_feeds():
    def parsed(direction: str, **more) -> Row:
        saved = {"source_fields": ["city"], "property": "city", "type": "string"}
        return row_from_json({**saved, "direction": direction, **more})

    assert (parsed("to_spotler").sends, parsed("to_spotler").receives) == (True, False)
    assert (parsed("from_spotler").sends, parsed("from_spotler").receives) == (False, True)
    assert (parsed("both").sends, parsed("both").receives) == (True, True)
    consent = parsed("both", conversion="permission", options={"bit": "2"})
    assert (consent.bit, parsed("both").bit) == (2, None)
