"""What changed in Spotler: `contact/updates/list` and `contact/bounces/list`, in a window,
paged on the unversioned path and bare on 1.1.0 (spotler-api.md §2.1, §2.7, §6, §7)."""

from datetime import UTC, datetime, timedelta

import pytest

from spotler.sandbox import clock
from tests.spotler.sandbox_helpers import bits, error_of, window


def updated(api, **params) -> list[dict]:
    response = api.get("contact/updates/list", params={**window(), "pageSize": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()["contacts"]


def test_our_own_writes_appear_in_the_updates_list_with_their_last_changed(api):
    api.upsert("c-1", email="anna@example.nl")
    first = api.get("contact/c-1").json()["lastChanged"]

    api.upsert("c-1", firstName="Anna")

    (contact,) = updated(api)
    assert contact["externalId"] == "c-1"
    assert contact["properties"]["firstName"] == "Anna"
    assert datetime.fromisoformat(contact["lastChanged"]) >= datetime.fromisoformat(first)
    assert contact["lastChanged"] == api.get("contact/c-1").json()["lastChanged"]


def test_a_recipients_profile_edit_and_unsubscribe_appear_in_the_updates_list(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl", permissions=[{"bit": 1, "enabled": True}])

    spotler_sandbox.control("POST", "contacts/c-1/edit", {"properties": {"city": "Zwolle"}})
    spotler_sandbox.control("POST", "contacts/c-1/unsubscribe", {"bit": 1})

    (contact,) = updated(api)
    assert contact["properties"]["city"] == "Zwolle"
    assert bits(contact)[1] is False


def test_inactivating_and_anonymizing_are_changes_too(api):
    api.upsert("c-1", email="anna@example.nl")
    api.upsert("c-2", email="pieter@example.nl")
    # Spotler's times are whole milliseconds: a change within this millisecond is stamped with
    # its start, so the window starts there too (else it may miss a change made right after).
    before = clock.now()

    api.put("contact/inactivate/c-1")
    api.put("contact/anonymize/c-2")

    since = updated(api, fromDate=before.isoformat())
    assert {c["externalId"] for c in since} == {"c-1", "c-2"}


def test_the_window_leaves_out_changes_outside_it(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl")
    api.upsert("c-2", email="pieter@example.nl")
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    spotler_sandbox.control(
        "POST",
        "contacts/c-2/edit",
        {"properties": {"city": "Ede"}, "at": three_days_ago.isoformat()},
    )

    recent = updated(api)
    old = updated(
        api,
        **window(
            start=three_days_ago - timedelta(hours=1), end=three_days_ago + timedelta(hours=1)
        ),
    )

    assert [c["externalId"] for c in recent] == ["c-1"]
    assert [c["externalId"] for c in old] == ["c-2"]


def test_updates_are_paged_and_the_last_page_has_no_after(api):
    for n in range(5):
        api.upsert(f"c-{n}", email=f"c{n}@example.nl")
    params = {**window(), "pageSize": 2}

    pages, after = [], None
    while True:
        body = api.get("contact/updates/list", params={**params, "after": after or ""}).json()
        pages.append([c["externalId"] for c in body["contacts"]])
        after = body["paging"].get("after")
        if after is None:
            break

    assert pages == [["c-0", "c-1"], ["c-2", "c-3"], ["c-4"]]
    assert body["paging"] == {}


def test_the_next_link_of_a_page_is_the_next_page(api):
    for n in range(3):
        api.upsert(f"c-{n}", email=f"c{n}@example.nl")
    first = api.get("contact/updates/list", params={**window(), "pageSize": 2}).json()

    second = api.session.get(first["paging"]["next"], auth=api.auth(), timeout=10).json()

    assert [c["externalId"] for c in second["contacts"]] == ["c-2"]


def read_all_pages(api, params: dict, *, between_pages) -> list[str]:
    """externalIds from every page of updates/list; `between_pages()` runs before each next."""
    seen, after = [], None
    while True:
        body = api.get("contact/updates/list", params={**params, "after": after or ""}).json()
        seen += [c["externalId"] for c in body["contacts"]]
        after = body["paging"].get("after")
        if after is None:
            return seen
        between_pages()


def test_a_contact_that_changes_while_a_client_pages_is_not_lost(api):
    for n in range(4):
        api.upsert(f"c-{n}", email=f"c{n}@example.nl")
    # After the first page (c-0, c-1): c-0, already read, changes again; c-3, not read yet,
    # changes and so moves behind everything else.
    changes = [("c-0", "Delft"), ("c-3", "Ede")]

    def change_one() -> None:
        if changes:
            external_id, city = changes.pop(0)
            api.upsert(external_id, city=city)

    seen = read_all_pages(api, {**window(), "pageSize": 2}, between_pages=change_one)

    assert set(seen) == {"c-0", "c-1", "c-2", "c-3"}
    assert not changes


def test_the_1_1_0_path_answers_a_bare_array_with_epoch_millisecond_timestamps(api, api_v110):
    for n in range(3):
        api.upsert(f"c-{n}", email=f"c{n}@example.nl")

    response = api_v110.get("contact/updates/list", params=window())

    assert response.status_code == 200
    contacts = response.json()
    assert isinstance(contacts, list) and len(contacts) == 3
    created = contacts[0]["created"]
    assert isinstance(created, int) and isinstance(contacts[0]["lastChanged"], int)
    assert abs(created / 1000 - datetime.now(UTC).timestamp()) < 300


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"toDate": "2030-01-01T00:00:00+01:00"}, "Invalid fromDate or no fromDate given"),
        (
            {"fromDate": "2025-01-01T00:00:00", "toDate": "2030-01-01T00:00:00+01:00"},
            "Invalid fromDate or no fromDate given",
        ),
        ({"fromDate": "2025-01-01T00:00:00+01:00"}, "Invalid toDate or no toDate given"),
        (
            {"fromDate": "2025-01-01T00:00:00+01:00", "toDate": "tomorrow"},
            "Invalid toDate or no toDate given",
        ),
    ],
    ids=["no fromDate", "fromDate without offset", "no toDate", "toDate not a date"],
)
@pytest.mark.parametrize("endpoint", ["contact/updates/list", "contact/bounces/list"])
def test_a_missing_or_unreadable_date_is_refused(api, endpoint, params, message):
    response = api.get(endpoint, params={**params, "pageSize": 10})

    assert error_of(response) == (400, "INVALID_PARAMS", message)


def test_an_unencoded_plus_in_the_offset_is_refused(api):
    # "+" unencoded in a query string means a space: Spotler's advice is to encode it (§2.6).
    signed_url = f"{api.base_url}/contact/updates/list?fromDate=2025-01-01T00:00:00+01:00"
    response = api.session.get(
        f"{signed_url}&toDate=2030-01-01T00:00:00Z&pageSize=10", auth=api.auth(), timeout=10
    )

    assert error_of(response)[2] == "Invalid fromDate or no fromDate given"


def test_the_unversioned_path_requires_a_page_size_and_1_1_0_does_not(api, api_v110):
    response = api.get("contact/updates/list", params=window())

    assert error_of(response) == (400, "INVALID_PARAMS", "Invalid pageSize or no pageSize given")
    assert api_v110.get("contact/updates/list", params=window()).status_code == 200


def test_bounces_are_listed_with_their_type_date_and_contact(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl")
    spotler_sandbox.control("POST", "contacts/c-1/bounce", {"type": "HARDBOUNCE"})

    body = api.get("contact/bounces/list", params={**window(), "pageSize": 10}).json()

    (bounce,) = body["bounces"]
    assert bounce["type"] == "HARDBOUNCE"
    assert bounce["contact"]["properties"]["email"] == "anna@example.nl"
    assert bounce["encryptedActId"]
    assert datetime.fromisoformat(bounce["date"]).utcoffset() is not None
    assert body["paging"] == {}


def test_bounces_on_1_1_0_are_a_bare_array_with_epoch_dates(spotler_sandbox, api, api_v110):
    api.upsert("c-1", email="anna@example.nl")
    spotler_sandbox.control("POST", "contacts/c-1/bounce", {"type": "SOFTBOUNCE"})

    (bounce,) = api_v110.get("contact/bounces/list", params=window()).json()

    assert bounce["type"] == "SOFTBOUNCE" and isinstance(bounce["date"], int)
    assert isinstance(bounce["contact"]["lastChanged"], int)


def test_bounces_are_paged_and_filtered_by_their_date(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl")
    for _ in range(3):
        spotler_sandbox.control("POST", "contacts/c-1/bounce", {"type": "SOFTBOUNCE"})
    last_week = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    spotler_sandbox.control("POST", "contacts/c-1/bounce", {"type": "HARDBOUNCE", "at": last_week})

    first = api.get("contact/bounces/list", params={**window(), "pageSize": 2}).json()
    second = api.get(
        "contact/bounces/list",
        params={**window(), "pageSize": 2, "after": first["paging"]["after"]},
    ).json()

    assert len(first["bounces"]) == 2 and len(second["bounces"]) == 1
    assert second["paging"] == {}
    assert {b["type"] for b in first["bounces"] + second["bounces"]} == {"SOFTBOUNCE"}
