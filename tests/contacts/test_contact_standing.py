"""What a contact's state really is on the contacts pages: consent per permission as Spotler
last reported it (by name), bounced and inactive beside the sync state, filters for each, the
counts following the filters, and what came back from Spotler read out as sentences."""

import pytest
from django.urls import reverse

from contacts import browse, ingest
from contacts.models import Contact, SyncStatus
from sync.push import push_one_batch
from tests.contacts.standing_helpers import unsubscribed_and_bounced
from tests.helpers import sandbox_client

LIST = reverse("contacts:contact-list")


def listed_ids(response) -> list[str]:
    return [c.external_id for c in response.context["listing"].contacts]


def row_of(html: str, external_id: str) -> str:
    start = html.index(f">{external_id}</a>")
    return html[start : html.index("</tr>", start)]


@pytest.fixture
def spotler_client(spotler_sandbox, catalogue):
    spotler_sandbox.set(rate_limit=0)
    return sandbox_client(spotler_sandbox)


@pytest.fixture
def situation(spotler_client, spotler_sandbox):
    unsubscribed_and_bounced(spotler_client, spotler_sandbox)


def test_an_unsubscribed_contact_shows_its_newsletter_off_by_name_and_synced_is_quiet(
    client_as, situation
):
    html = client_as("marketer").get(LIST).content.decode()
    anna = row_of(html, "C-ANNA")
    assert "Newsletter: unsubscribed in Spotler" in anna
    assert "badge-synced badge-quiet" in anna
    chloe = row_of(html, "C-CHLOE")
    assert "Newsletter: on" in chloe
    assert "badge-quiet" not in chloe and "badge-synced" in chloe
    bram = row_of(html, "C-BRAM")
    assert 'data-testid="bounced-state"' in bram and "badge-synced badge-quiet" in bram
    assert "Newsletter: on" in bram  # a bounce says nothing of the consent


def test_the_list_filters_by_permission_as_spotler_reported_it_and_by_bounced(client_as, situation):
    client = client_as("marketer")
    assert listed_ids(client.get(LIST, {"consent": "1:off"})) == ["C-ANNA"]
    assert listed_ids(client.get(LIST, {"consent": "1:unsubscribed"})) == ["C-ANNA"]
    assert sorted(listed_ids(client.get(LIST, {"consent": "1:on"}))) == ["C-BRAM", "C-CHLOE"]
    assert listed_ids(client.get(LIST, {"state": "bounced"})) == ["C-BRAM"]
    page = client.get(LIST).content.decode()
    assert '<option value="1:off" >Newsletter: off</option>' in page
    assert listed_ids(client.get(LIST, {"consent": "nonsense"})) != []  # ignored, not an error


def test_the_contact_page_says_what_spotler_reported_and_reads_the_feed_as_sentences(
    client_as, situation, spotler_client
):
    client = client_as("accountmanager")
    html = client.get("/contacts/C-ANNA/").content.decode()
    # The shop's field still says yes; beside it, what Spotler reported and what that means.
    fields = html[html.index('data-testid="source-fields"') :]
    newsletter = fields[fields.index("<code>newsletter</code>") :]
    newsletter = newsletter[: newsletter.index("</tr>")]
    assert "true" in newsletter and "Newsletter: unsubscribed in Spotler" in newsletter
    assert "is not sent again until the shop changes it" in newsletter
    assert "The recipient unsubscribed from Newsletter in Spotler on " in html
    assert "The shop is told newsletter = no." in html
    assert "permission 1 switched off" not in html and "bit: 1" not in html
    # The shop resends its stale "yes" with a new name: the push keeps the newsletter off, and
    # the timeline says so by the permission's name.
    ingest.upsert_contact(external_id="C-ANNA", raw_fields={
        "email": "anna@example.nl", "first_name": "Anne", "newsletter": True})  # fmt: skip
    push_one_batch(client=spotler_client)
    timeline = client.get("/contacts/C-ANNA/").content.decode()
    assert (
        "Spotler accepted it. Newsletter (permission 1) kept off: the contact switched it off"
        in (timeline)
    )
    bram = client.get("/contacts/C-BRAM/").content.decode()
    assert "Mail to bram@example.nl bounced (hard bounce) on " in bram
    assert "Bounce follow-up #" in bram and "opened, for " in bram


def test_an_inactivated_contact_shows_as_inactive_and_can_be_filtered(client_as, db):
    ingest.upsert_contact(external_id="C-1", raw_fields={"email": "a@example.com"})
    ingest.upsert_contact(external_id="C-2", raw_fields={"email": "b@example.com"})
    ingest.inactivate_contact(external_id="C-1")
    Contact.objects.filter(external_id="C-1").update(sync_status=SyncStatus.INACTIVE)
    client = client_as("marketer")
    html = client.get(LIST).content.decode()
    assert 'data-testid="inactive-state"' in row_of(html, "C-1")
    assert 'data-testid="inactive-state"' not in row_of(html, "C-2")
    assert listed_ids(client.get(LIST, {"state": "inactive"})) == ["C-1"]


def test_each_count_above_the_list_follows_the_filters_in_force(client_as, db):
    # Joost: 3 synced (one of them German), 1 failed, 1 pending; Petra: 4 synced, 2 failed.
    made = {"synced": [("J-1", "Joost", "nl"), ("J-2", "Joost", "nl"), ("J-3", "Joost", "de"),
                       ("P-1", "Petra", "nl"), ("P-2", "Petra", "nl"), ("P-3", "Petra", "de"),
                       ("P-4", "Petra", "nl")],
            "failed": [("J-4", "Joost", "nl"), ("P-5", "Petra", "de"), ("P-6", "Petra", "nl")],
            "pending": [("J-5", "Joost", "nl")]}  # fmt: skip
    for state, people in made.items():
        for external_id, manager, language in people:
            ingest.upsert_contact(external_id=external_id, raw_fields={
                "email": f"{external_id.lower()}@example.com", "account_manager": manager,
                "language": language})  # fmt: skip
            Contact.objects.filter(external_id=external_id).update(sync_status=state)
    ingest.upsert_contact(external_id="GONE", raw_fields={"email": "gone@example.com"})
    ingest.erase_contact(external_id="GONE")
    client = client_as("marketer")

    def counts(**query) -> dict[str, int]:
        listing = client.get(LIST, query).context["listing"]
        return {c.value: c.count for c in listing.state_counts if c.count}

    # The erased contact waits for its anonymization: pending, and erased.
    assert counts() == {"synced": 7, "failed": 3, "pending": 2, "erased": 1}
    assert counts(account_manager="Joost") == {"synced": 3, "failed": 1, "pending": 1}
    assert counts(account_manager="Petra", language="de") == {"synced": 1, "failed": 1}
    assert counts(q="J-") == {"synced": 3, "failed": 1, "pending": 1}
    # The state filter chooses among the counts; it does not change them.
    assert counts(account_manager="Joost", state="failed") == counts(account_manager="Joost")
    joost_failed = client.get(LIST, {"account_manager": "Joost", "state": "failed"})
    assert listed_ids(joost_failed) == ["J-4"]
    text = joost_failed.content.decode()
    assert 'data-testid="state-count-synced"' in text
    synced_link = text[text.index('data-testid="state-count-synced"') :]
    assert "</span> 3</a>" in synced_link[: synced_link.index("</li>")]
    assert "Page 1 of 1 (1 contact)" in text
    assert "Counts among the contacts the search and filters below choose." in text


def test_filtered_counts_are_exact_and_give_the_number_of_pages(client_as, db, monkeypatch):
    monkeypatch.setattr(browse, "COUNT_CAP", 2)
    for i in range(4):
        ingest.upsert_contact(external_id=f"C-{i}", raw_fields={
            "email": f"c{i}@example.com", "account_manager": "Joost"})  # fmt: skip
    client = client_as("marketer")
    unfiltered = client.get(LIST).context["listing"]
    assert next(c for c in unfiltered.state_counts if c.value == "pending").more  # capped
    response = client.get(LIST, {"account_manager": "Joost"})
    listing = response.context["listing"]
    pending = next(c for c in listing.state_counts if c.value == "pending")
    assert (pending.count, pending.more, listing.total) == (4, False, 4)
    assert "Page 1 of 1 (4 contacts)" in response.content.decode()
