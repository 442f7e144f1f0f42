"""Contacts in the sandbox's Spotler account, and lookup pages, for the lookup and search tests."""

import re

from public.models import LookupPage

CSRF_TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]*"')


def in_spotler(sandbox, external_id: str | None, **properties) -> None:
    """A contact in Spotler (made there, as by a file import), e.g. with a discount code."""
    sandbox.control("POST", "contacts", {"externalId": external_id, "properties": properties})


def make_lookup_page(**fields) -> LookupPage:
    values = {
        "slug": "offer",
        "title": "Your personal offer",
        "search_property": "discountCode",
        "input_label": "Your discount code",
        "shown_properties": [
            {"property": "firstName", "label": "First name", "prefill": True},
            {"property": "city", "label": "City", "prefill": False},
        ],
        "found_text": "Welcome back! Your offer is waiting.",
        "not_found_text": "Sorry, this code is not valid.",
        "enabled": True,
        **fields,
    }
    return LookupPage.objects.create(**values)


def page_shape(response) -> str:
    """The page without its CSRF token (which differs per answer): what a visitor sees."""
    return CSRF_TOKEN.sub("", response.content.decode())
