"""A Marketer reads the duplicates report: empty, one shared address, many; previews the other
deduplication mode, opens the households, exports the CSV and makes a temporary list of the
households. Each state fits the page at 1280 and 1440 px (screenshots with
DUPLICATES_SCREENSHOTS=/some/folder)."""

import csv
import io
import os
from pathlib import Path

from playwright.sync_api import expect

from contacts.models import SyncStatus
from identity.models import DedupeMode
from tests.conftest import transactional
from tests.e2e.screens import look_at
from tests.identity.helpers import add, set_mode, set_state

SCREENSHOTS = os.environ.get("DUPLICATES_SCREENSHOTS", "")


def many_shared_addresses() -> None:
    """28 more: same person twice, and every fourth a household of three (one held)."""
    for n in range(28):
        address = f"customer.with.a.rather.long.address.{n:02d}@example-webshop.nl"
        add(f"M-{n:02d}a", address, day=n, first_name="Jan", last_name=f"Klant {n}",
            account_manager="Joost van der Berg-Hoogendoorn")  # fmt: skip
        if n % 4:
            add(f"M-{n:02d}b", address.upper(), day=n + 1, first_name="jan", last_name=f"klant {n}")
        else:
            add(f"M-{n:02d}b", address, day=n + 1, first_name="Els", last_name=f"Klant {n}")
            add(f"M-{n:02d}c", address, day=n + 2, first_name="Pim", last_name=f"Klant {n}")
    set_state("M-04c", SyncStatus.HELD)


@transactional
def test_a_marketer_reads_the_report_previews_the_other_mode_and_segments_households(
    live_server, log_in, lists_sandbox
):
    set_mode(DedupeMode.EMAIL)
    page = log_in("marit", "Marketer")
    page.get_by_test_id("nav-more").click()
    page.get_by_test_id("nav-duplicates").click()
    expect(page.get_by_role("heading", name="Duplicates")).to_be_visible()
    expect(page.get_by_test_id("no-duplicates")).to_have_text("No two contacts share an address.")
    expect(page.get_by_test_id("total-groups").locator(".figure")).to_have_text("0")
    look_at(page, "duplicates-empty", folder=SCREENSHOTS)

    add("A-1", "anna@example.nl", day=0, first_name="Anna", last_name="de Vries",
        account_manager="Joost")  # fmt: skip
    add("A-2", "Anna@Example.NL", day=3, first_name="Anna", last_name="de Vries")
    page.reload()
    expect(page.get_by_test_id("duplicate-group")).to_have_count(1)
    expect(page.get_by_test_id("group-verdict")).to_have_text(
        "Spotler keeps one contact: A-2 merges into A-1's contact and rewrites its external id, "
        "which ends up as A-2."
    )
    expect(page.get_by_test_id("group-kind")).to_have_text("same person twice")
    expect(page.get_by_test_id("total-contacts").locator(".figure")).to_have_text("2")
    expect(page.get_by_test_id("total-extra")).to_contain_text("Merged away by Spotler")
    expect(page.get_by_test_id("total-extra").locator(".figure")).to_have_text("1")
    look_at(page, "duplicates-one", folder=SCREENSHOTS)

    page.get_by_test_id("mode-externalId").click()
    expect(page.get_by_test_id("mode-preview")).to_have_text(
        "Preview: what Spotler would do if it deduplicated by external id."
    )
    expect(page.get_by_test_id("group-verdict")).to_have_text(
        "Spotler keeps 2 contacts; each gets the same mailing."
    )
    expect(page.get_by_test_id("total-extra")).to_contain_text("Extra mailings")
    page.get_by_test_id("mode-email").click()

    many_shared_addresses()
    page.reload()
    expect(page.get_by_test_id("total-groups").locator(".figure")).to_have_text("29")
    expect(page.get_by_test_id("total-groups")).to_contain_text(
        "7 households, 22 the same person twice"
    )
    expect(page.get_by_test_id("duplicate-group")).to_have_count(25)
    expect(page.get_by_test_id("pager")).to_contain_text("Page 1 of 2 (29 addresses)")
    expect(page.get_by_text("held for review", exact=True)).to_be_visible()
    look_at(page, "duplicates-many", folder=SCREENSHOTS)

    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) == 2 + 21 * 2 + 7 * 3
    assert rows[0]["spotler_does"].startswith("Spotler keeps one contact: A-2 merges into A-1")

    page.get_by_test_id("kind-households").click()
    expect(page.get_by_test_id("duplicate-group")).to_have_count(7)
    expect(page.get_by_test_id("group-kind").first).to_have_text("household")
    look_at(page, "duplicates-households", folder=SCREENSHOTS)
    page.get_by_role("button", name="Make a temporary list of the households").click()
    expect(page.get_by_test_id("selection-file")).to_contain_text(
        "The contacts named in the duplicates report's households: 21 external ids."
    )
    # M-04c is held for review: a list never sends a contact Spotler does not have.
    expect(page.get_by_test_id("selection-size")).to_have_text("20 contacts would be sent.")


@transactional
def test_an_account_manager_has_no_duplicates_report(live_server, log_in):
    page = log_in("sanne", "Account manager")
    expect(page.get_by_test_id("nav-duplicates")).to_have_count(0)
    response = page.goto(f"{live_server.url}/duplicates/")
    assert response.status == 403
