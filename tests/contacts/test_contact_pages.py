from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import browse, ingest
from contacts.browse import PAGE_SIZE
from contacts.feed import publish_change
from contacts.models import ChangeKind, Contact, SyncStatus

LIST = reverse("contacts:contact-list")


def add(external_id: str, **fields) -> Contact:
    fields.setdefault("email", f"{external_id.lower()}@example.com")
    return ingest.upsert_contact(external_id=external_id, raw_fields=fields).contact


def set_state(contact: Contact, state: SyncStatus, error: str = "") -> None:
    Contact.objects.filter(pk=contact.pk).update(sync_status=state, sync_error=error)


def detail(external_id: str) -> str:
    return reverse("contacts:contact-detail", args=[external_id])


def listed_ids(response) -> list[str]:
    return [c.external_id for c in response.context["listing"].contacts]


def test_the_contact_list_shows_each_contact_with_its_fields_and_state(client_as):
    add("C-1", email="Anna@Example.com", first_name="Anna", last_name="de Vries",
        language="nl", account_manager="Joost")  # fmt: skip
    response = client_as("accountmanager").get(LIST)
    assert response.status_code == 200
    row = response.content.decode()
    for text in ["C-1", "Anna@Example.com", "Anna de Vries", "nl", "Joost", "badge-pending"]:
        assert text in row
    assert f'href="{detail("C-1")}"' in row


def test_a_failed_contact_shows_spotlers_reason_shortened_in_the_list_and_whole_on_its_page(
    client_as,
):
    reason = "Invalid value for property birthday: expected yyyy-MM-dd. " + "x" * 200
    set_state(add("C-2"), SyncStatus.FAILED, reason)
    client = client_as("marketer")
    listed = client.get(LIST).content.decode()
    assert "badge-failed" in listed
    assert f">{reason[:139]}…</small>" in listed
    page = client.get(detail("C-2")).content.decode()
    assert f">{reason}</pre>" in page


def test_search_finds_the_start_of_an_external_id_or_of_an_email_in_any_case(client_as):
    add("C-100", email="Bram.Jansen@Example.com")
    add("C-200", email="chloe@example.com")
    add("X-9", email="dirk@example.org")
    client = client_as("marketer")
    assert listed_ids(client.get(LIST, {"q": "C-100"})) == ["C-100"]
    assert sorted(listed_ids(client.get(LIST, {"q": "C-"}))) == ["C-100", "C-200"]
    assert listed_ids(client.get(LIST, {"q": "bram.jan"})) == ["C-100"]
    assert listed_ids(client.get(LIST, {"q": "  DIRK@EXAMPLE  "})) == ["X-9"]
    response = client.get(LIST, {"q": "nobody"})
    assert listed_ids(response) == []
    assert "No contacts match" in response.content.decode()


def test_filters_offer_the_values_that_exist_and_narrow_the_list(client_as):
    set_state(add("NL-1", language="nl", account_manager="Joost"), SyncStatus.SYNCED)
    set_state(add("DE-1", language="de", account_manager="Petra"), SyncStatus.FAILED)
    add("NL-2", language="nl", account_manager="Petra")
    client = client_as("marketer")
    listing = client.get(LIST).context["listing"]
    assert listing.languages == ["de", "nl"]
    assert listing.account_managers == ["Joost", "Petra"]
    counts = {c.value: c.count for c in listing.state_counts}
    assert counts == {"pending": 1, "synced": 1, "failed": 1, "dismissed": 0, "anonymized": 0,
                      "inactive": 0, "held": 0, "merged": 0, "local_only": 0, "erased": 0,
                      "bounced": 0}  # fmt: skip

    assert listed_ids(client.get(LIST, {"language": "nl"})) == ["NL-2", "NL-1"]
    assert listed_ids(client.get(LIST, {"account_manager": "Petra"})) == ["NL-2", "DE-1"]
    assert listed_ids(client.get(LIST, {"state": "failed"})) == ["DE-1"]
    both = client.get(LIST, {"language": "nl", "account_manager": "Petra", "state": "pending"})
    assert listed_ids(both) == ["NL-2"]
    assert 'value="nl" selected' in both.content.decode()


def test_pages_hold_fifty_contacts_and_their_links_keep_the_filters(client_as):
    for i in range(PAGE_SIZE + 5):
        add(f"C-{i:03d}", language="nl")
    add("OTHER", language="de")
    client = client_as("marketer")
    first = client.get(LIST, {"language": "nl", "q": "C-"})
    assert len(listed_ids(first)) == PAGE_SIZE
    assert first.context["listing"].has_next
    text = first.content.decode()
    assert 'href="?language=nl&amp;q=C-&amp;page=2"' in text
    second = client.get(LIST, {"language": "nl", "q": "C-", "page": 2})
    assert listed_ids(second) == [f"C-{i:03d}" for i in range(4, -1, -1)]
    assert not second.context["listing"].has_next
    assert 'href="?language=nl&amp;q=C-&amp;page=1"' in second.content.decode()
    assert set(listed_ids(first)).isdisjoint(listed_ids(second))


def test_with_only_a_state_filter_the_page_knows_how_many_pages_there_are(client_as):
    for i in range(PAGE_SIZE + 1):
        add(f"C-{i:03d}")
    listing = client_as("marketer").get(LIST, {"state": "pending"}).context["listing"]
    assert (listing.total, listing.num_pages) == (PAGE_SIZE + 1, 2)
    assert "Page 1 of 2 (51 contacts)" in client_as("admin").get(LIST).content.decode()


def test_a_state_with_more_contacts_than_are_counted_shows_as_more_and_pages_go_on(
    client_as, monkeypatch
):
    monkeypatch.setattr(browse, "COUNT_CAP", 2)
    for i in range(4):
        add(f"C-{i}")
    response = client_as("marketer").get(LIST, {"page": 2})
    listing = response.context["listing"]
    assert listing.total is None
    assert [(c.value, c.count, c.more) for c in listing.state_counts][:2] == [
        ("pending", 3, True),
        ("synced", 0, False),
    ]
    text = response.content.decode()
    assert "pending</span> 2+" in text
    assert "Page 2" in text
    assert "Page 2 of" not in text


def test_nonsense_in_the_query_string_is_ignored(client_as):
    add("C-1")
    client = client_as("marketer")
    response = client.get(LIST, {"state": "bogus", "page": "abc"})
    assert response.status_code == 200
    assert listed_ids(response) == ["C-1"]
    far = client.get(LIST, {"page": 999})
    assert far.status_code == 200
    assert "No contacts on page 999" in far.content.decode()


def test_an_erased_contact_is_listed_as_erased_without_personal_data(client_as):
    add("GONE", email="secret.person@example.com", first_name="Secret")
    ingest.erase_contact(external_id="GONE")
    text = client_as("marketer").get(LIST).content.decode()
    assert "erased contact" in text
    assert "secret.person" not in text
    assert "Secret" not in text
    assert "GONE" not in text
    erased = client_as("admin").get(LIST, {"state": "erased"}).context["listing"]
    assert len(erased.contacts) == 1


def test_names_and_addresses_from_the_linked_system_are_shown_escaped(client_as):
    add("C-1", email="x@example.com", first_name="<script>alert(1)</script>",
        account_manager="<b>Boss</b>")  # fmt: skip
    client = client_as("marketer")
    for response in (client.get(LIST), client.get(detail("C-1"))):
        text = response.content.decode()
        assert "<script>alert(1)</script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "<b>Boss</b>" not in text


def test_the_list_pages_query_count_does_not_grow_with_the_number_of_rows(client_as):
    client = client_as("marketer")
    for i in range(10):
        add(f"A-{i}", first_name="Anna", language="nl", account_manager=f"AM {i % 3}")
    with CaptureQueriesContext(connection) as ten:
        assert len(listed_ids(client.get(LIST))) == 10
    for i in range(90):
        add(f"B-{i}", first_name="Bram", language="de", account_manager=f"AM {i % 7}")
    with CaptureQueriesContext(connection) as full:
        assert len(listed_ids(client.get(LIST))) == PAGE_SIZE
    assert len(full) == len(ten), [q["sql"] for q in full.captured_queries]
    # one capped count per sync state is the largest share; a new state adds one. The page's
    # permissions (mapping, catalogue) and what Spotler reported of them (states, consents): 4.
    # Held for review, merged and local only (identity/guard.py) are three of the states.
    assert len(full) <= 24, [q["sql"] for q in full.captured_queries]


def test_the_contact_page_shows_fields_sync_state_orders_and_what_came_back(client_as):
    add("C-7", email="eva@example.com", first_name="Eva", newsletter=True, points=12)
    for number, day, value in [("O-1", 3, "19.95"), ("O-2", 9, "120.00")]:
        ingest.record_order(external_id=number, contact_external_id="C-7",
                            ordered_at=datetime(2026, 5, day, 10, tzinfo=UTC),
                            value=Decimal(value))  # fmt: skip
    publish_change(kind=ChangeKind.BOUNCED, external_id="C-7", payload={"type": "hard"})
    publish_change(kind=ChangeKind.BOUNCED, external_id="C-8", payload={"type": "soft"})
    response = client_as("accountmanager").get(detail("C-7"))
    assert response.status_code == 200
    text = response.content.decode()
    for shown in ["eva@example.com", "<code>newsletter</code>", "true", "<code>points</code>",
                  "O-1", "O-2", "19.95", "120.00", "3 May 2026", "9 May 2026",
                  "Mail to the contact bounced (hard bounce).", "badge-pending"]:  # fmt: skip
        assert shown in text, shown
    assert "soft" not in text
    record = response.context["record"]
    assert [o.external_id for o in record.orders] == ["O-2", "O-1"]


def test_an_unknown_external_id_gets_the_not_found_page(client_as):
    response = client_as("marketer").get(detail("NOPE"))
    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()


def test_an_erased_contacts_page_says_so_and_shows_no_personal_data(client_as):
    add("GONE", email="secret.person@example.com", first_name="Secret")
    ingest.erase_contact(external_id="GONE")
    text = client_as("marketer").get(detail("GONE")).content.decode()
    assert "Erased contact" in text
    assert "secret.person" not in text
    assert "Secret" not in text
