"""The duplicates report: shared addresses grouped, what Spotler does with each under each
deduplication mode, households told from one person entered twice, the figures on top."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import ingest
from contacts.errors import InvalidFields
from contacts.models import Contact, SyncStatus
from identity.duplicates import DuplicateFilters, Totals, count_duplicates, read_duplicates
from identity.models import DedupeMode
from tests.identity.helpers import add, known_ledger, set_mode, set_state

REPORT = reverse("identity:duplicate-list")


def groups(**filters) -> dict[str, list[str]]:
    page = read_duplicates(filters=DuplicateFilters(**filters))
    return {g.address: [c.external_id for c in g.members] for g in page.groups}


def group(address: str):
    [found] = [
        g for g in read_duplicates(filters=DuplicateFilters()).groups if g.address == address
    ]
    return found


def page_text(client, query: str = "") -> str:
    response = client.get(f"{REPORT}{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_contacts_sharing_an_address_in_any_case_are_one_group_in_the_order_spotler_gets_them(db):
    known_ledger()
    # A-1 is in Spotler already; H-1, H-2, H-3 by creation. Erased G-1 and lone S-1: no group.
    assert groups() == {"anna@example.nl": ["A-1", "A-2"], "fam@example.nl": ["H-1", "H-2", "H-3"]}


def test_a_contact_spotler_already_has_comes_first_though_created_later(db):
    known_ledger()
    set_state("H-3", SyncStatus.SYNCED, synced=True)
    assert groups()["fam@example.nl"] == ["H-3", "H-1", "H-2"]


def test_the_figures_count_addresses_contacts_households_and_contacts_beyond_the_first(db):
    known_ledger()
    assert count_duplicates() == Totals(groups=2, contacts=5, households=1, extra=3, merged_away=3)
    assert count_duplicates().same_person == 1


def test_an_empty_ledger_has_no_shared_address(db):
    add("S-1", "solo@example.nl")
    assert count_duplicates() == Totals()
    assert groups() == {}


def test_an_erased_contact_no_longer_shares_its_address(db):
    add("G-1", "gone@example.nl")
    add("G-2", "gone@example.nl")
    assert groups() == {"gone@example.nl": ["G-1", "G-2"]}
    ingest.erase_contact(external_id="G-1")
    assert groups() == {}


def test_an_address_with_spaces_around_it_never_reaches_the_ledger_so_case_is_all_to_compare(db):
    """The ingest refuses (does not trim) an address with spaces around it: the lower-case
    address the report groups on is the trimmed one."""
    add("A-1", "anna@example.nl")
    with pytest.raises(InvalidFields):
        add("A-2", " ANNA@example.nl ")
    add("A-2", "ANNA@example.nl")
    assert groups() == {"anna@example.nl": ["A-1", "A-2"]}
    assert Contact.objects.get(external_id="A-2").email == "ANNA@example.nl"


def test_by_email_spotler_keeps_one_contact_the_later_ids_rewriting_the_first_ones(db):
    known_ledger()
    assert group("anna@example.nl").verdict(DedupeMode.EMAIL) == (
        "Spotler keeps one contact: A-2 merges into A-1's contact and rewrites its external id, "
        "which ends up as A-2."
    )
    assert group("fam@example.nl").verdict(DedupeMode.EMAIL) == (
        "Spotler keeps one contact: H-2 and H-3 merge into H-1's contact and rewrite its "
        "external id, which ends up as H-3."
    )


def test_by_external_id_spotler_keeps_each_contact_and_each_gets_the_mailing(db):
    known_ledger()
    assert group("anna@example.nl").verdict(DedupeMode.EXTERNAL_ID) == (
        "Spotler keeps 2 contacts; each gets the same mailing."
    )
    assert group("fam@example.nl").verdict(DedupeMode.EXTERNAL_ID) == (
        "Spotler keeps 3 contacts; each gets the same mailing."
    )


def test_a_contact_kept_local_only_is_not_counted_as_going_to_spotler(db):
    known_ledger()
    set_state("H-2", SyncStatus.LOCAL_ONLY)
    set_state("A-2", SyncStatus.LOCAL_ONLY)
    assert group("fam@example.nl").verdict(DedupeMode.EMAIL) == (
        "Spotler keeps one contact: H-3 merges into H-1's contact and rewrites its external id, "
        "which ends up as H-3; H-2 is kept local only."
    )
    assert group("anna@example.nl").verdict(DedupeMode.EXTERNAL_ID) == (
        "Spotler keeps one contact, A-1; A-2 is kept local only."
    )
    assert count_duplicates() == Totals(groups=2, contacts=5, households=1, extra=1, merged_away=1)


def test_under_e_mail_deduplication_a_held_member_waits_for_an_admin_and_a_merged_one_stays_out(
    db,
):
    known_ledger()
    set_state("H-2", SyncStatus.HELD)
    set_state("H-3", SyncStatus.MERGED)
    assert group("fam@example.nl").verdict(DedupeMode.EMAIL) == (
        "Spotler keeps one contact, H-1; H-2 would merge into it and is held for review until "
        "an Admin decides; H-3 is merged into another contact by an Admin."
    )
    # Without e-mail deduplication the guard holds nothing: H-2 goes as a contact of its own.
    assert group("fam@example.nl").verdict(DedupeMode.EXTERNAL_ID) == (
        "Spotler keeps 2 contacts; each gets the same mailing; H-3 is merged into another "
        "contact by an Admin."
    )
    # The figures: A-2 merges away; H-2 is held, not merged; H-3 is out of Spotler.
    totals = count_duplicates()
    assert (totals.extra, totals.held, totals.merged_away) == (2, 1, 1)


def test_the_page_says_how_many_are_held_apart_from_those_that_merge(client_as):
    known_ledger()
    set_mode(DedupeMode.EMAIL)
    set_state("H-2", SyncStatus.HELD)
    html = client_as("marketer").get(REPORT).content.decode()
    assert '<p class="figure">2</p>' in html.split('data-testid="total-extra"')[1]
    assert '<span data-testid="total-held">1 more held for review</span>' in html


def test_a_contact_an_admin_merged_is_not_counted_as_an_extra_mailing(db):
    known_ledger()
    set_state("H-3", SyncStatus.MERGED)
    set_state("A-2", SyncStatus.MERGED)
    # fam: H-1 and H-2 go (1 beyond the first); anna: A-1 alone goes.
    assert count_duplicates() == Totals(groups=2, contacts=5, households=1, extra=1, merged_away=1)


def test_the_same_name_in_any_case_or_spacing_is_one_person_and_different_names_a_household(db):
    add("P-1", "p@example.nl", first_name="Anna", last_name="de Vries")
    add("P-2", "p@example.nl", name="anna  De Vries")  # one name field instead of parts
    add("P-3", "p@example.nl")  # no name: not another person
    add("Q-1", "q@example.nl", first_name="Jan", last_name="Bakker")
    add("Q-2", "q@example.nl", first_name="Jan", last_name="Smit")
    add("R-1", "r@example.nl")
    add("R-2", "r@example.nl")
    kinds = {g.address: g.household for g in read_duplicates(filters=DuplicateFilters()).groups}
    assert kinds == {"p@example.nl": False, "q@example.nl": True, "r@example.nl": False}
    assert groups(kind="households") == {"q@example.nl": ["Q-1", "Q-2"]}
    assert set(groups(kind="same_person")) == {"p@example.nl", "r@example.nl"}


def test_search_finds_shared_addresses_by_their_start_in_any_case(db):
    known_ledger()
    assert groups(search=" FAM@ ") == {"fam@example.nl": ["H-1", "H-2", "H-3"]}
    assert groups(search="solo") == {}


# The page -------------------------------------------------------------------------------------


def test_the_page_shows_each_group_with_its_contacts_and_the_figures(client_as):
    known_ledger()
    set_mode(DedupeMode.EMAIL)
    response = client_as("marketer").get(REPORT)
    html = response.content.decode()
    totals = response.context["report"].totals
    assert (totals.groups, totals.contacts, totals.extra) == (2, 5, 3)
    assert "by e-mail address</strong>" in html
    assert "Merged away by Spotler" in html
    for text in ["anna@example.nl", "A-1", "Anna de Vries", "Joost", "2 Mar 2026", "synced",
                 "Marie Jansen", "Sanne", "pending", "household", "same person twice",
                 "A-2 merges into A-1&#x27;s contact"]:  # fmt: skip
        assert text in html, text
    assert "By external id instead: Spotler keeps 2 contacts; each gets the same mailing." in html
    assert "solo@example.nl" not in html
    assert "gone@example.nl" not in html


def test_the_page_says_what_the_other_mode_would_do_when_asked(client_as):
    known_ledger()
    set_mode(DedupeMode.EMAIL)
    html = page_text(client_as("admin"), "?mode=externalId")
    assert "Preview: what Spotler would do if it deduplicated by external id." in html
    assert "Extra mailings" in html
    assert "Spotler keeps 3 contacts; each gets the same mailing." in html
    assert "By e-mail address instead: Spotler keeps one contact: H-2 and H-3 merge" in html


def test_the_figures_on_the_page_are_the_ledgers(client_as):
    known_ledger()
    html = page_text(client_as("marketer"))
    assert '<p class="figure">2</p>' in html  # shared addresses
    assert '<p class="figure">5</p>' in html  # contacts involved
    assert '<p class="figure">3</p>' in html  # extra mailings (externalId, the default)
    assert "1 household, 1 the same person twice" in html


def test_the_households_tab_shows_households_and_offers_a_segment(client_as):
    known_ledger()
    html = page_text(client_as("marketer"), "?kind=households")
    assert "fam@example.nl" in html
    assert "anna@example.nl" not in html
    assert "Make a temporary list of the households" in html


def test_an_empty_ledger_says_no_two_contacts_share_an_address(client_as):
    html = page_text(client_as("marketer"))
    assert "No two contacts share an address." in html
    assert 'data-testid="pager"' not in html


def test_a_search_that_finds_nothing_says_so(client_as):
    known_ledger()
    html = page_text(client_as("marketer"), "?q=nobody")
    assert "No shared address matches. Search finds the start of an address." in html


def test_a_held_contact_shows_as_held_for_review(client_as):
    known_ledger()
    set_state("A-2", SyncStatus.HELD)
    html = page_text(client_as("marketer"))
    assert '<span class="badge badge-held" data-testid="sync-state">held for review</span>' in html


def test_the_page_goes_through_the_groups_a_page_at_a_time(client_as):
    for n in range(30):
        add(f"T-{n:02d}a", f"t{n:02d}@example.nl")
        add(f"T-{n:02d}b", f"t{n:02d}@example.nl")
    client = client_as("marketer")
    first = client.get(REPORT).context["report"]
    assert [g.address for g in first.groups][:2] == ["t00@example.nl", "t01@example.nl"]
    assert (len(first.groups), first.has_next, first.num_pages) == (25, True, 2)
    html = page_text(client, "?page=2")
    assert "Page 2 of 2 (30 addresses)" in html
    assert "t29@example.nl" in html and "t24@example.nl" not in html


def test_the_page_reads_the_same_few_queries_for_few_or_many_groups(client_as):
    client = client_as("marketer")
    add("X-1", "x@example.nl")
    add("X-2", "x@example.nl")
    client.get(REPORT)  # the first request also makes the account's settings row
    with CaptureQueriesContext(connection) as few:
        client.get(REPORT)
    for n in range(20):
        add(f"Y-{n}a", f"y{n}@example.nl")
        add(f"Y-{n}b", f"y{n}@example.nl")
    with CaptureQueriesContext(connection) as many:
        client.get(REPORT)
    assert len(many) == len(few)


def test_hostile_names_and_searches_are_shown_as_text(client_as):
    add("Z-1", "z@example.nl", first_name="<script>alert(1)</script>",
        account_manager='<img src=x onerror="alert(2)">')  # fmt: skip
    add("Z-2", "z@example.nl", first_name="Zoë")
    client = client_as("marketer")
    html = page_text(client, '?q="><script>alert(3)</script>')
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    html = page_text(client)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html


def test_an_account_manager_may_not_read_the_report(client_as):
    known_ledger()
    assert client_as("accountmanager").get(REPORT).status_code == 403


def test_addresses_counted_a_chunk_at_a_time_add_up_to_the_same_figures(db, monkeypatch):
    known_ledger()
    whole = count_duplicates()
    monkeypatch.setattr("identity.duplicates.ADDRESS_CHUNK", 1)
    assert count_duplicates() == whole
    assert groups() == {"anna@example.nl": ["A-1", "A-2"], "fam@example.nl": ["H-1", "H-2", "H-3"]}


def test_query_values_that_do_not_fit_are_ignored(client_as):
    known_ledger()
    set_mode(DedupeMode.EMAIL)
    response = client_as("marketer").get(f"{REPORT}?kind=bogus&mode=nope&page=abc&q={'x' * 300}")
    assert response.status_code == 200
    assert response.context["mode"] == DedupeMode.EMAIL
    assert response.context["report"].number == 1
    assert len(response.context["report"].groups) == 2
