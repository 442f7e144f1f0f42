"""Admins configure lookup pages: the property looked up, what a match shows, the texts, on/off."""

from django.urls import reverse

from public.models import LookupPage
from tests.public.lookup_helpers import make_lookup_page


def form_data(**overrides) -> dict:
    return {
        "slug": "offer",
        "title": "Your offer",
        "search_property": "discountCode",
        "input_label": "Your code",
        "found_text": "Found you.",
        "not_found_text": "Not a valid code.",
        "language": "nl",
        "enabled": "on",
        "show_firstName": "on",
        "label_firstName": "Voornaam",
        "prefill_firstName": "on",
        "show_city": "on",
        "label_city": "Woonplaats",
        **overrides,
    }


def test_an_admin_makes_a_lookup_page_that_shows_only_the_ticked_properties(client_as, catalogue):
    client = client_as("admin")
    response = client.post(reverse("public:lookup-page-create"), form_data())
    page = LookupPage.objects.get(slug="offer")
    assert response.status_code == 302
    assert page.search_property == "discountCode"
    assert page.enabled and page.language == "nl"
    assert page.shown_properties == [
        {"property": "city", "label": "Woonplaats", "prefill": False},
        {"property": "firstName", "label": "Voornaam", "prefill": True},
    ]


def test_the_property_looked_up_comes_from_the_catalogue(client_as, catalogue):
    client = client_as("admin")
    response = client.post(
        reverse("public:lookup-page-create"), form_data(search_property="shoeSize")
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not LookupPage.objects.exists()


def test_the_edit_page_shows_the_link_and_frame_to_put_in_the_shop(client_as, catalogue):
    page = make_lookup_page()
    text = client_as("admin").get(reverse("public:lookup-page-edit", args=[page.pk]))
    text = text.content.decode()
    assert "http://testserver/lookup/offer/" in text
    assert "&lt;a href=&quot;http://testserver/lookup/offer/&quot;" not in text
    assert '&lt;a href="http://testserver/lookup/offer/"&gt;' in text
    assert '&lt;iframe src="http://testserver/lookup/offer/"' in text
    assert "set PUBLIC_LOOKUP_FRAME_ANCESTORS" in text


def test_the_list_shows_each_page_its_property_and_whether_it_is_on(client_as, db):
    make_lookup_page()
    make_lookup_page(slug="winter", enabled=False, shown_properties=[])
    text = client_as("admin").get(reverse("public:lookup-page-list")).content.decode()
    assert "/lookup/offer/" in text and "/lookup/winter/" in text
    assert "firstName, city" in text
