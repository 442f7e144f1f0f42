"""The `<external_id:...>` URL converter: a contact's URL takes only what can be an external id.

Anything else (a NUL byte, a space) is a 404 before any query runs; PostgreSQL would refuse a
NUL in a text comparison with an error, not an empty answer.
"""

from django.urls import register_converter

from contacts.models import EXTERNAL_ID_REGEX


class ExternalIdConverter:
    regex = EXTERNAL_ID_REGEX

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


# Registered once, on import: contacts/urls.py and sync/urls.py both import this module.
register_converter(ExternalIdConverter, "external_id")
