"""Values Spotler would refuse ("Property is invalid"): the rules, the preview, the save."""

import html as html_lib

import pytest
from django.urls import reverse

from mapping import spotler_rules
from mapping.models import MappingVersion
from mapping.versions import current_version
from spotler.sandbox import catalogue as sandbox_catalogue
from spotler.sandbox.errors import ApiError
from tests.mapping.helpers import add_contact, form_data

POSTCODE_ROW = {"source_fields": ["postcode"], "property": "postalCode", "type": "postcode",
                "direction": "to_spotler", "conversion": "auto", "options": {},
                "clear_when_empty": False}  # fmt: skip
VALUES = {
    "postcode": ["3511 AB", "3511AB", " 3511 ab ", "0511 AB", "ZZZ-not-a-postcode", "SW1A 1AA"],
    "mobNr": ["+31612345678", "06-12345678", "06 1234 5678", "12345", "call me", "+31 6 1"],
    "gender": ["M", "F", "U", "X", "m"],
    "birthdate": ["1990-02-28", "1990-02-30", "28-02-1990"],
    "dateTime": ["2026-03-01T10:00:00+01:00", "2026-03-01T10:00:00", "yesterday"],
    "int": [3, -7, "12", "1.5", True],
    "email": ["anna@example.nl", "anna@", "anna example.nl"],
    "string": ["Utrecht", "x" * 255, "x" * 256],
}


def sandbox_takes(property_type: str, value: object) -> bool:
    definition = next(p for p in sandbox_catalogue.PROPERTIES if p.type == property_type)
    try:
        sandbox_catalogue.clean_value(definition, value)
    except ApiError:
        return False
    return True


@pytest.mark.parametrize(
    ("property_type", "value"), [(t, v) for t, values in VALUES.items() for v in values]
)
def test_the_editor_refuses_exactly_the_values_the_sandbox_refuses(property_type, value):
    refused = spotler_rules.refusal(property_type, value) is not None
    assert refused == (not sandbox_takes(property_type, value))


def test_the_refusal_names_the_value_and_the_rule():
    assert spotler_rules.refusal("postcode", "ZZZ-not-a-postcode") == (
        "“ZZZ-not-a-postcode” is not a Dutch postcode such as 1234 AB"
    )


def test_the_preview_warns_that_spotler_would_refuse_a_postcode(client, marketer, catalogue):
    add_contact(postcode="ZZZ-not-a-postcode")
    client.force_login(marketer)
    rows = [*current_version().rows, POSTCODE_ROW]
    page = client.post(reverse("mapping:mapping-preview"), form_data(rows)).content.decode()
    page = html_lib.unescape(page)
    assert "Spotler would refuse this contact" in page
    assert "postalCode: “ZZZ-not-a-postcode” is not a Dutch postcode such as 1234 AB" in page


def test_the_preview_has_no_warning_for_a_dutch_postcode(client, marketer, catalogue):
    add_contact(postcode="3511 AB")
    client.force_login(marketer)
    rows = [*current_version().rows, POSTCODE_ROW]
    page = client.post(reverse("mapping:mapping-preview"), form_data(rows)).content.decode()
    assert "Spotler would refuse" not in page


def test_saving_says_how_many_recent_values_spotler_would_refuse(client, marketer, catalogue):
    for n in range(9):
        add_contact(f"C-{n}", postcode=f"35{n}1 AB")
    add_contact("C-9", postcode="ZZZ-not-a-postcode")
    client.force_login(marketer)
    rows = [*current_version().rows, POSTCODE_ROW]
    response = client.post(reverse("mapping:mapping-edit"), form_data(rows), follow=True)
    page = html_lib.unescape(response.content.decode())
    assert "Saved as version 2." in page
    assert (
        "postcode → postalCode: Spotler would refuse 1 of the 10 values the 10 contacts changed "
        "last hold, e.g. “ZZZ-not-a-postcode” is not a Dutch postcode such as 1234 AB. Those "
        "contacts' pushes fail (“Property is invalid”) until the value is fixed."
    ) in page


def test_a_mapping_spotler_would_refuse_for_most_contacts_is_not_saved_and_says_so_on_top(
    client, marketer, catalogue
):
    add_contact("C-1", postcode="Utrecht")
    add_contact("C-2", postcode="3511 AB")
    client.force_login(marketer)
    rows = [*current_version().rows, POSTCODE_ROW]
    page = client.post(reverse("mapping:mapping-edit"), form_data(rows)).content.decode()
    page = html_lib.unescape(page)
    assert MappingVersion.objects.count() == 1
    top = page[page.index('data-testid="not-saved"') :]
    assert top.startswith('data-testid="not-saved">\n  <strong>Nothing was saved.</strong>')
    assert (
        "Row 7 (postalCode): 1 of 2 recent values of postcode cannot become postcode "
        "postalCode, e.g. “Utrecht” is not a Dutch postcode such as 1234 AB"
    ) in top
