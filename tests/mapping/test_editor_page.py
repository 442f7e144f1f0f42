"""The editor page: what a save that is refused says, the preview's contact, each row's options."""

import html as html_lib
import re

from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from mapping.models import MappingVersion
from mapping.versions import current_version, save_version
from tests.mapping.helpers import add_contact, form_data


def row_html(page: str, index: int) -> str:
    return re.search(rf'data-testid="row-{index}">(.*?)</tr>', page, re.S).group(1)


def test_a_property_mapped_twice_says_at_the_top_that_nothing_was_saved_and_why(
    client, marketer, catalogue
):
    client.force_login(marketer)
    rows = current_version().rows
    rows = [*rows, {**rows[1], "source_fields": ["nickname"]}]
    page = html_lib.unescape(
        client.post(reverse("mapping:mapping-edit"), form_data(rows)).content.decode()
    )
    top = page[page.index('data-testid="not-saved"') : page.index('data-testid="mapping-rows"')]
    assert "Nothing was saved." in top
    assert "Row 7 (firstName): firstName is already mapped in row 2" in top
    assert "firstName is already mapped in row 2" in row_html(page, 6)
    assert MappingVersion.objects.count() == 1


def test_the_preview_keeps_the_picked_contact_when_another_one_changes(client, marketer, catalogue):
    add_contact("C-1", first_name="Anna")
    add_contact("C-2", first_name="Bram")
    client.force_login(marketer)
    page = client.get(reverse("mapping:mapping-edit")).content.decode()
    assert 'name="preview_id" id="preview-id" value="C-2"' in page  # the latest, made explicit

    rows = current_version().rows
    client.post(reverse("mapping:mapping-preview"), form_data(rows, preview_id="C-1"))
    add_contact("C-3", first_name="Chloé")  # a newer change does not take the preview over
    page = client.get(reverse("mapping:mapping-edit")).content.decode()
    assert 'name="preview_id" id="preview-id" value="C-1"' in page
    assert '"firstName": "Anna"' in html_lib.unescape(page)


def test_contacts_to_preview_are_found_by_the_start_of_their_id_or_address(
    client, marketer, catalogue
):
    add_contact("SHOP-17", first_name="Anna")
    add_contact("SHOP-18")
    add_contact("OTHER-1")
    client.force_login(marketer)
    found = client.get(reverse("mapping:preview-matches"), {"q": "NOBODY"}).content.decode()
    assert "No contact whose external id or e-mail address starts with “NOBODY”." in found
    found = client.get(reverse("mapping:preview-matches"), {"q": "SHOP-1"}).content.decode()
    assert re.findall(r'data-preview-pick="([^"]+)"', found) == ["SHOP-18", "SHOP-17"]
    assert "SHOP-17 · anna@example.nl · Anna" in found
    found = client.get(reverse("mapping:preview-matches"), {"q": "ANNA@"}).content.decode()
    assert len(re.findall(r"data-preview-pick=", found)) == 3


def test_each_row_shows_only_the_options_its_conversion_reads(client, marketer, catalogue):
    client.force_login(marketer)
    rows = [*current_version().rows,
            {"source_fields": ["city"], "property": "city", "type": "string"},
            {"source_fields": ["locale"], "property": "taal", "type": "string",
             "conversion": "language_table", "options": {"table": {"nl_NL": "NL"}}},
            {"source_fields": [], "property": "customerType", "type": "string",
             "conversion": "constant", "options": {"value": "webshop"}}]  # fmt: skip
    save_version(rows=rows, author=marketer)
    page = client.get(reverse("mapping:mapping-edit")).content.decode()

    def options(index: int) -> list[str]:
        return re.findall(r'name="rows-\d+-(bit|table|default|value|separator|month_first|clear)"',
                          row_html(page, index))  # fmt: skip

    assert options(0) == []  # the e-mail: nothing to choose
    assert options(3) == ["bit"]  # newsletter → permission bit
    assert options(4) == ["month_first", "clear"]  # a date-time
    assert options(6) == ["clear"]  # city
    assert options(7) == ["table", "default", "clear"]
    assert options(8) == ["value"]
    assert '<option value="1" selected>1: Newsletter</option>' in row_html(page, 3)


def test_the_preview_goes_back_to_the_latest_contact_when_the_picked_one_is_erased(
    client, marketer, catalogue
):
    add_contact("C-1")
    add_contact("C-2")
    client.force_login(marketer)
    client.post(reverse("mapping:mapping-preview"), form_data([], preview_id="C-1"))
    Contact.objects.filter(external_id="C-1").update(erased_at=timezone.now())
    page = client.get(reverse("mapping:mapping-edit")).content.decode()
    assert 'name="preview_id" id="preview-id" value="C-2"' in page
