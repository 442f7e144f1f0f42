import json
import re

from django.urls import reverse

from mapping.models import MappingVersion, SpotlerProperty
from mapping.versions import current_version
from tests.mapping.helpers import CITY_ROW, add_contact, form_data


def preview_json(html: str) -> dict:
    match = re.search(r'data-testid="preview-json">(.*?)</pre>', html, re.S)
    return json.loads(match.group(1).replace("&quot;", '"').replace("&#x27;", "'"))


def test_a_marketer_sees_the_mapping_its_history_and_a_real_contact_as_spotler_gets_it(
    client, marketer, catalogue
):
    add_contact(first_name="Anna", newsletter=True)
    client.force_login(marketer)
    html = client.get(reverse("mapping:mapping-edit")).content.decode()
    assert 'data-testid="version-1"' in html
    assert preview_json(html) == {
        "externalId": "C-1",
        "properties": {
            "email": "anna@example.nl",
            "firstName": "Anna",
            "permissions": [{"bit": 1, "enabled": True}],
        },
    }


def test_adding_a_row_returns_one_more_row_and_a_fresh_preview(client, marketer, catalogue):
    add_contact()
    client.force_login(marketer)
    rows = current_version().rows
    response = client.post(reverse("mapping:mapping-rows"), form_data(rows, action="add"))
    html = response.content.decode()
    assert f'name="row_count" value="{len(rows) + 1}"' in html
    assert 'hx-swap-oob="outerHTML:#preview"' in html


def test_the_preview_follows_unsaved_rows(client, marketer, catalogue):
    add_contact(city="Utrecht")
    client.force_login(marketer)
    rows = [*current_version().rows, CITY_ROW]
    html = client.post(reverse("mapping:mapping-preview"), form_data(rows)).content.decode()
    assert preview_json(html)["properties"]["city"] == "Utrecht"
    assert MappingVersion.objects.count() == 1


def test_saving_an_invalid_mapping_says_why_and_saves_nothing(client, marketer, catalogue):
    client.force_login(marketer)
    rows = current_version().rows
    rows = [*rows, {**rows[1], "source_fields": ["nickname"]}]
    html = client.post(reverse("mapping:mapping-edit"), form_data(rows)).content.decode()
    assert "firstName is already mapped in row 2" in html
    assert MappingVersion.objects.count() == 1


def test_saving_a_valid_change_makes_a_version_and_says_how_many_contacts_it_affects(
    client, marketer, catalogue
):
    add_contact("C-1", city="Utrecht")
    add_contact("C-2", city="Gent")
    add_contact("C-3")
    client.force_login(marketer)
    rows = [*current_version().rows, CITY_ROW]
    response = client.post(reverse("mapping:mapping-edit"), form_data(rows), follow=True)
    html = response.content.decode()
    assert "Saved as version 2." in html
    assert "changes what Spotler receives for <strong>2</strong> contacts" in html
    assert "Push the 2 affected contacts now" in html
    assert "added city → city" in html
    assert current_version().author == marketer


def test_restoring_a_version_from_the_history(client, marketer, catalogue):
    client.force_login(marketer)
    original = current_version().rows
    client.post(reverse("mapping:mapping-edit"), form_data(original[:1]))
    assert current_version().rows == original[:1]
    response = client.post(reverse("mapping:mapping-restore", args=[1]), follow=True)
    assert "Version 1 restored as version 3." in response.content.decode()
    assert current_version().rows == original


def test_a_property_gone_from_spotler_is_announced_until_fixed(client, marketer, catalogue):
    SpotlerProperty.objects.filter(name="firstName").delete()
    client.force_login(marketer)
    html = client.get(reverse("mapping:mapping-edit")).content.decode()
    assert 'data-testid="drift"' in html
    assert "firstName no longer exists in Spotler" in html


def test_names_from_the_shop_are_escaped_in_the_preview(client, marketer, catalogue):
    add_contact(first_name="<script>alert(1)</script>")
    client.force_login(marketer)
    html = client.get(reverse("mapping:mapping-edit")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_the_home_page_warns_about_drift_until_the_mapping_is_fixed(
    client, account_manager, marketer, catalogue
):
    SpotlerProperty.objects.filter(name="lastName").update(type="int")
    client.force_login(account_manager)
    html = client.get(reverse("home")).content.decode()
    assert "lastName is now of type int" not in html  # her home is her follow-ups

    client.force_login(marketer)
    html = client.get(reverse("home")).content.decode()
    assert "lastName is now of type int in Spotler, the mapping expects string" in html
    assert "open the mapping" in html
    rows = [r for r in current_version().rows if r["property"] != "lastName"]
    client.post(reverse("mapping:mapping-edit"), form_data(rows))
    assert 'data-testid="mapping-drift"' not in client.get(reverse("home")).content.decode()


def test_the_marketer_decides_whether_the_linked_system_owns_the_email(client, marketer, catalogue):
    client.force_login(marketer)
    assert current_version().email_owned_by_linked_system
    rows = current_version().rows
    client.post(reverse("mapping:mapping-edit"), form_data(rows, email_owned=False))
    version = current_version()
    assert version.number == 2
    assert not version.email_owned_by_linked_system
    assert version.diff == ["e-mail changes from Spotler are now applied to the linked system"]
