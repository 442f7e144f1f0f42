"""Values the editor's form cannot read get a message on their row, never a server error."""

import html as html_lib
import re

import pytest
from django.urls import reverse

from mapping.models import MappingVersion
from mapping.versions import current_version
from tests.mapping.helpers import add_contact, form_data

BIT_MESSAGE = "the permission bit must be a whole number from 0 to 2147483647, not “{}”"
DIRECTIONS = "choose one of → Spotler, ← Spotler, ↔ both as the direction (not “bogus”)"
CONVERSIONS = (
    "choose one of auto (by type), yes/no, consent → permission, language table, store levels, "
    "gender, constant as the conversion (not “bogus”)"
)


def permission_row() -> int:
    return next(
        i for i, r in enumerate(current_version().rows) if r.get("conversion") == "permission"
    )


def posted(**fields: str) -> dict:
    """The current mapping as the editor posts it, with `fields` typed over it."""
    return {**form_data(current_version().rows), **fields}


def row_html(page: str, index: int) -> str:
    match = re.search(rf'data-testid="row-{index}">(.*?)</tr>', page, re.S)
    return html_lib.unescape(match.group(1))


@pytest.mark.parametrize("typed", ["1e3", "1.5", "-1", "²", "99999999999"])
def test_a_permission_bit_that_is_no_whole_number_is_named_in_the_preview(
    client, marketer, catalogue, typed
):
    add_contact(newsletter=True)
    client.force_login(marketer)
    data = posted(**{f"rows-{permission_row()}-bit": typed})
    response = client.post(reverse("mapping:mapping-preview"), data)
    assert response.status_code == 200
    page = html_lib.unescape(response.content.decode())
    assert f"newsletter → permissions: {BIT_MESSAGE.format(typed)}" in page
    assert '"permissions"' not in page.split('data-testid="preview-json">')[1]


@pytest.mark.parametrize("typed", ["1e3", "1.5"])
def test_saving_a_permission_bit_that_is_no_whole_number_is_refused_on_its_row(
    client, marketer, catalogue, typed
):
    add_contact(newsletter=True)
    client.force_login(marketer)
    index = permission_row()
    data = posted(**{f"rows-{index}-bit": typed}, note="typo")
    response = client.post(reverse("mapping:mapping-edit"), data)
    assert response.status_code == 200
    row = row_html(response.content.decode(), index)
    assert BIT_MESSAGE.format(typed) in row
    assert f'value="{typed}"' in row  # what was typed stays, to be corrected
    assert MappingVersion.objects.count() == 1


def test_an_empty_permission_bit_is_named_in_the_preview(client, marketer, catalogue):
    add_contact(newsletter=True)
    client.force_login(marketer)
    data = posted(**{f"rows-{permission_row()}-bit": ""})
    response = client.post(reverse("mapping:mapping-preview"), data)
    assert response.status_code == 200
    assert "newsletter → permissions: choose the permission bit" in response.content.decode()


@pytest.mark.parametrize(
    ("name", "message"), [("direction", DIRECTIONS), ("conversion", CONVERSIONS)]
)
def test_a_forged_choice_is_refused_on_save_with_the_choices(
    client, marketer, catalogue, name, message
):
    client.force_login(marketer)
    response = client.post(reverse("mapping:mapping-edit"), posted(**{f"rows-1-{name}": "bogus"}))
    assert response.status_code == 200
    assert message in row_html(response.content.decode(), 1)
    assert MappingVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "message"), [("direction", DIRECTIONS), ("conversion", CONVERSIONS)]
)
@pytest.mark.parametrize("url", ["mapping:mapping-preview", "mapping:mapping-rows"])
def test_a_forged_choice_is_named_in_the_preview(client, marketer, catalogue, name, message, url):
    add_contact(first_name="Anna")
    client.force_login(marketer)
    response = client.post(reverse(url), posted(**{f"rows-1-{name}": "bogus"}))
    assert response.status_code == 200
    assert f"first_name → firstName: {message}" in html_lib.unescape(response.content.decode())


@pytest.mark.parametrize("typed", ["\x00", "C-1\x00", "C 1"])
def test_a_contact_to_preview_that_is_no_external_id_is_refused_with_what_to_type(
    client, marketer, catalogue, typed
):
    add_contact()
    client.force_login(marketer)
    for url in ("mapping:mapping-preview", "mapping:mapping-edit"):
        response = client.post(reverse(url), posted(preview_id=typed, row_count="0"))
        assert response.status_code == 200
        assert "That is no external id. Use 1 to 100 letters, digits" in response.content.decode()


def test_a_nul_character_in_a_row_or_the_note_is_refused_with_where_it_is(
    client, marketer, catalogue
):
    """PostgreSQL cannot store a NUL byte: saving one was a server error there."""
    add_contact(first_name="Anna")
    client.force_login(marketer)
    edit = reverse("mapping:mapping-edit")
    in_row = client.post(edit, posted(**{"rows-1-source": "first\x00name"}))
    assert in_row.status_code == 200
    assert "remove the NUL character typed or pasted into this row" in row_html(
        in_row.content.decode(), 1
    )
    preview = client.post(reverse("mapping:mapping-preview"), posted(**{"rows-1-source": "a\x00"}))
    assert "remove the NUL character typed or pasted into this row" in preview.content.decode()
    in_note = client.post(edit, posted(**{"rows-1-source": "nickname"}, note="fix\x00"))
    assert in_note.status_code == 200
    assert "remove the NUL character from the note" in in_note.content.decode()
    assert MappingVersion.objects.count() == 1
