"""ISO 8601 allows an offset up to ±23:59, PostgreSQL stores one up to ±15:59: such a moment
is taken (kept in UTC), not a server error."""

from datetime import UTC, datetime

import pytest

from contacts.models import Order, TokenScope
from lists.models import TempList
from tests.contacts.conftest import ApiClient, anna, make_token
from tests.lists.helpers import contacts_in_spotler

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(client, settings) -> ApiClient:
    settings.API_RATE_LIMIT = 0
    return ApiClient(client, make_token(TokenScope.WRITE))


def test_an_order_dated_with_an_offset_of_23_59_is_taken_in_utc(api):
    assert api.put("contacts/C1", anna()).status_code == 202
    answer = api.post(
        "orders",
        {"external_id": "O1", "contact_external_id": "C1",
         "date": "2024-01-02T10:00:00+23:59", "value": "10.00"},
    )  # fmt: skip
    assert answer.status_code in (200, 201, 202), answer.json()
    assert Order.objects.get().ordered_at == datetime(2024, 1, 1, 10, 1, tzinfo=UTC)


def test_a_list_ending_at_an_offset_of_minus_23_59_is_taken_in_utc(api, lists_sandbox):
    ids = contacts_in_spotler(lists_sandbox, 1)
    answer = api.post(
        "lists", {"name": "Far", "external_ids": ids, "expires_at": "2099-12-31T10:00:00-23:59"}
    )
    assert answer.status_code == 202, answer.json()
    assert TempList.objects.get().expires_at == datetime(2100, 1, 1, 9, 59, tzinfo=UTC)
