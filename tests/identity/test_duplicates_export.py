"""The duplicates report as CSV, and its households handed to the temporary list builder."""

import csv
import io

from django.urls import reverse

from identity.duplicates_export import HEADER
from identity.models import DedupeMode
from tests.identity.helpers import add, known_ledger, set_mode

EXPORT = reverse("identity:duplicate-export")
TO_LIST = reverse("identity:duplicate-households-list")


def exported(client, query: str = "") -> list[dict]:
    response = client.get(f"{EXPORT}{query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="duplicates.csv"'
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


def test_the_export_has_a_row_per_contact_of_every_shared_address_with_the_verdict(client_as):
    known_ledger()
    set_mode(DedupeMode.EMAIL)
    rows = exported(client_as("marketer"))
    assert [(r["address"], r["spotler_order"], r["external_id"]) for r in rows] == [
        ("anna@example.nl", "1", "A-1"),
        ("anna@example.nl", "2", "A-2"),
        ("fam@example.nl", "1", "H-1"),
        ("fam@example.nl", "2", "H-2"),
        ("fam@example.nl", "3", "H-3"),
    ]
    first = rows[0]
    assert first["kind"] == "same person twice"
    assert first["contacts_at_address"] == "2"
    assert first["name"] == "Anna de Vries"
    assert first["account_manager"] == "Joost"
    assert first["sync_status"] == "synced"
    assert first["created_at"] == "2026-03-02T09:00:00+00:00"
    assert first["dedupe_mode"] == "email"
    assert first["spotler_does"] == (
        "Spotler keeps one contact: A-2 merges into A-1's contact and rewrites its external id, "
        "which ends up as A-2."
    )
    assert rows[3]["kind"] == "household"
    assert rows[3]["sync_status"] == "pending"


def test_the_export_follows_the_filters_and_the_mode_shown(client_as):
    known_ledger()
    rows = exported(client_as("marketer"), "?kind=households&mode=externalId&page=3")
    assert {r["address"] for r in rows} == {"fam@example.nl"}
    assert {r["spotler_does"] for r in rows} == {
        "Spotler keeps 3 contacts; each gets the same mailing."
    }


def test_the_export_of_a_ledger_without_shared_addresses_is_its_header(client_as):
    add("S-1", "solo@example.nl")
    assert exported(client_as("admin")) == []


def test_the_export_reads_every_group_beyond_one_chunk(client_as, settings, monkeypatch):
    monkeypatch.setattr("identity.duplicates.EXPORT_CHUNK", 2)
    for n in range(5):
        add(f"T-{n}a", f"t{n}@example.nl")
        add(f"T-{n}b", f"t{n}@example.nl")
    rows = exported(client_as("marketer"))
    assert [r["external_id"] for r in rows] == [f"T-{n}{x}" for n in range(5) for x in "ab"]


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_exported_as_text(client_as):
    add("F-1", "=sum@example.nl", first_name="=HYPERLINK(\"http://evil\")",
        account_manager="+31 6 1234")  # fmt: skip
    add("F-2", "=SUM@example.nl", first_name="@Bob")
    rows = exported(client_as("marketer"))
    assert rows[0]["address"] == "'=sum@example.nl"
    assert rows[0]["name"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["account_manager"] == "'+31 6 1234"
    assert rows[1]["name"] == "'@Bob"


def test_an_account_manager_may_not_export_the_report(client_as):
    assert client_as("accountmanager").get(EXPORT).status_code == 403


def test_the_households_become_a_selection_in_the_temporary_list_builder(client_as, lists_sandbox):
    known_ledger()
    client = client_as("marketer")
    response = client.post(TO_LIST)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('lists:list-new')}?from=file"
    html = client.get(response["Location"]).content.decode()
    assert (
        "The contacts named in <strong>the duplicates report&#x27;s households</strong>: 3" in html
    )
    assert "<strong>3</strong> contacts would be sent." in html


def test_without_households_there_is_no_list_to_make(client_as):
    add("A-1", "anna@example.nl", first_name="Anna")
    add("A-2", "anna@example.nl", first_name="Anna")
    client = client_as("marketer")
    response = client.post(TO_LIST, follow=True)
    assert response.redirect_chain == [(reverse("identity:duplicate-list"), 302)]
    assert "No two people of different names share an address: no list." in (
        response.content.decode()
    )


def test_the_households_list_is_a_post_with_a_csrf_token(client_as):
    known_ledger()
    client = client_as("marketer")
    assert client.get(TO_LIST).status_code == 405
    client.handler.enforce_csrf_checks = True
    assert client.post(TO_LIST).status_code == 403
