"""Reading what changed in Spotler: updated contacts and bounces, paged, on both base paths
(spotler-api.md §6, §7, §2.7)."""

from datetime import UTC, datetime, timedelta

import pytest

from spotler import BounceType, Contact
from tests.spotler.client_helpers import make_client


@pytest.fixture(params=[False, True], ids=["unversioned", "1.1.0"])
def client(request, spotler_sandbox):
    with make_client(spotler_sandbox, v110=request.param) as spotler_client:
        yield spotler_client


def window() -> dict:
    now = datetime.now(UTC)
    return {"since": now - timedelta(hours=2), "until": now + timedelta(minutes=5)}


def make_contacts(client, n: int) -> None:
    client.upsert_contacts(
        Contact(
            external_id=f"cust-{i}", properties={"email": f"c{i}@example.nl"}, permissions={1: True}
        )
        for i in range(n)
    )


def test_every_updated_contact_is_read_whatever_the_page_size(client):
    make_contacts(client, 25)

    contacts = list(client.iter_updated_contacts(**window(), page_size=10))

    assert {c.external_id for c in contacts} == {f"cust-{i}" for i in range(25)}
    assert all(c.last_changed and c.last_changed.tzinfo for c in contacts)


def test_the_unversioned_path_pages_with_a_cursor_and_ends_without_one(spotler_sandbox):
    client = make_client(spotler_sandbox)
    make_contacts(client, 25)

    pages = list(client.iter_updated_contact_pages(**window(), page_size=10))

    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert pages[0].after is not None and pages[1].after not in (None, pages[0].after)
    assert pages[-1].after is None


def test_the_1_1_0_path_answers_one_bare_page(spotler_sandbox):
    client = make_client(spotler_sandbox, v110=True)
    make_contacts(client, 25)

    pages = list(client.iter_updated_contact_pages(**window(), page_size=10))

    assert len(pages) == 1 and pages[0].after is None
    assert len(pages[0].items) == 25


def test_a_stored_cursor_resumes_where_the_last_run_stopped(spotler_sandbox):
    client = make_client(spotler_sandbox)
    make_contacts(client, 25)
    the_window = window()
    first = next(client.iter_updated_contact_pages(**the_window, page_size=10))

    rest = list(client.iter_updated_contact_pages(**the_window, page_size=10, after=first.after))

    seen = [c.external_id for c in first.items] + [c.external_id for p in rest for c in p.items]
    assert sorted(seen) == sorted(f"cust-{i}" for i in range(25))


def test_an_unsubscribe_shows_up_as_a_permission_switched_off(client, spotler_sandbox):
    make_contacts(client, 1)
    spotler_sandbox.control("POST", "contacts/cust-0/unsubscribe", json={"bit": 1})

    (contact,) = [c for c in client.iter_updated_contacts(**window()) if c.external_id == "cust-0"]

    assert contact.permissions[1] is False


def test_a_profile_edit_in_spotler_shows_up_with_the_new_value(client, spotler_sandbox):
    make_contacts(client, 1)
    spotler_sandbox.control(
        "POST", "contacts/cust-0/edit", json={"properties": {"firstName": "Zoë"}}
    )

    (contact,) = [c for c in client.iter_updated_contacts(**window()) if c.external_id == "cust-0"]

    assert contact.properties["firstName"] == "Zoë"


def test_a_window_before_the_changes_is_empty(client):
    make_contacts(client, 3)
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)

    assert (
        list(client.iter_updated_contacts(since=long_ago, until=long_ago + timedelta(hours=2)))
        == []
    )


def test_bounces_are_read_with_their_type_date_and_contact(client, spotler_sandbox):
    make_contacts(client, 2)
    spotler_sandbox.control("POST", "contacts/cust-0/bounce", json={"type": "HARDBOUNCE"})
    spotler_sandbox.control("POST", "contacts/cust-1/bounce", json={"type": "SOFTBOUNCE"})

    bounces = {b.contact.external_id: b for b in client.iter_bounces(**window())}

    assert bounces["cust-0"].type == BounceType.HARD and bounces["cust-0"].hard
    assert bounces["cust-1"].type == BounceType.SOFT
    assert bounces["cust-0"].contact.email == "c0@example.nl"
    assert abs((datetime.now(UTC) - bounces["cust-0"].date).total_seconds()) < 300


def test_many_bounces_are_paged_through(client, spotler_sandbox):
    make_contacts(client, 12)
    for i in range(12):
        spotler_sandbox.control("POST", f"contacts/cust-{i}/bounce", json={"type": "SOFTBOUNCE"})

    bounces = list(client.iter_bounces(**window(), page_size=5))

    assert sorted(b.contact.external_id for b in bounces) == sorted(f"cust-{i}" for i in range(12))
