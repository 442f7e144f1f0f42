"""An Admin resyncs the Dutch-speaking customers from the Syncs page and follows up a failure."""

import re

from django.core.cache import cache
from playwright.sync_api import Page, expect

from contacts.ingest import upsert_contact
from contacts.models import Contact, SyncStatus
from mapping.versions import current_version, save_version
from spotlersync.roles import Role
from sync.models import SyncRun, SyncRunKind, SyncRunStatus
from sync.push_requests import PUSH_REQUEST_KEY
from tests.conftest import make_user, transactional
from tests.queue_cluster import running_clusters

DUTCH, GERMAN = 200, 20
REFUSED = ["NL-013", "NL-050", "NL-099", "NL-150", "NL-187"]  # postcodes Spotler refuses
POSTCODE_ROW = {"source_fields": ["postcode"], "property": "postalCode", "type": "postcode"}


def seed_ledger(*, marketer) -> None:
    """The shop's customers, accepted but not pushed yet (as if their live push were still to
    come), with the mapping sending the shop's postcode to Spotler's postalCode."""
    save_version(rows=[*current_version().rows, POSTCODE_ROW], author=marketer)
    cache.set(PUSH_REQUEST_KEY, 1, timeout=600)  # no live push queued for the seeding
    for n in range(DUTCH + GERMAN):
        dutch = n < DUTCH
        external_id = f"NL-{n:03d}" if dutch else f"DE-{n:03d}"
        upsert_contact(
            external_id=external_id,
            raw_fields={
                "email": f"{external_id.lower()}@example.nl",
                "first_name": f"Klant {n}",
                "language": "nl" if dutch else "de",
                "account_manager": "Joost",
                "newsletter": True,
                "postcode": "B-1000 Brussel" if external_id in REFUSED else "3511 AB",
            },
        )


def reload_until(page: Page, test_id: str, text: str, *, attempts: int = 60) -> None:
    """The contact page does not refresh itself: reload it until `text` shows."""
    for _ in range(attempts):
        if page.get_by_test_id(test_id).inner_text().strip() == text:
            return
        page.wait_for_timeout(500)
        page.reload()
    expect(page.get_by_test_id(test_id)).to_have_text(text)


@transactional
def test_an_admin_resyncs_one_language_watches_it_finish_and_retries_a_failed_contact(
    live_server, log_in, spotler_sandbox, catalogue
):
    spotler_sandbox.set(rate_limit=0)
    marketer = make_user("marketer", role=Role.MARKETER)
    seed_ledger(marketer=marketer)
    env = {"SPOTLER_BASE_URL": spotler_sandbox.base_url}
    with running_clusters(workers=1, backfill_workers=1, extra_env=env):
        page = log_in("boss", Role.ADMIN)
        page.get_by_test_id("main-nav").get_by_role("link", name="Syncs").click()
        expect(page.get_by_role("heading", name="Syncs", exact=True)).to_be_visible()

        resync = page.get_by_test_id("start-resync")
        resync.get_by_label("Language").select_option("nl")
        resync.get_by_role("button", name="Start filtered resync").click()

        expect(page).to_have_url(re.compile(r"/sync/runs/\d+/$"))
        expect(
            page.get_by_role("heading", name=re.compile(r"Filtered resync run #\d+"))
        ).to_be_visible()
        expect(page.get_by_test_id("run-scope")).to_have_text("language nl")
        # The panel refreshes itself until the run ends, then the page reloads once.
        expect(page.get_by_test_id("run-percent")).to_have_text("100%", timeout=90_000)
        expect(page.get_by_test_id("run-state")).to_have_text("succeeded")
        expect(page.get_by_test_id("run-done")).to_have_text(f"{DUTCH} of {DUTCH}")
        expect(page.get_by_test_id("run-counts")).to_contain_text(f"{DUTCH - len(REFUSED)} sent")
        expect(page.get_by_test_id("run-counts")).to_contain_text(f"{len(REFUSED)} failed")
        expect(page.locator("progress")).to_have_attribute("value", "100")

        failures = page.get_by_test_id("run-failures")
        expect(failures.get_by_role("row")).to_have_count(1 + len(REFUSED))
        expect(failures).to_contain_text("Spotler refused one of the property values")
        failures.get_by_role("link", name="NL-050").click()

        expect(page).to_have_url(f"{live_server.url}/contacts/NL-050/")
        expect(page.get_by_test_id("sync-state")).to_have_text("failed")
        reason = page.get_by_test_id("sync-error")
        expect(reason).to_contain_text("Spotler refused one of the property values.")
        expect(reason).to_contain_text("Spotler: “Property is invalid” (PROPERTY_INVALID).")

        # Spotler's advice is to check the mapping: a Marketer stops sending postcodes until
        # the shop has cleaned them up. Then the Admin retries the contact.
        rows = [row for row in current_version().rows if row["property"] != "postalCode"]
        save_version(rows=rows, author=marketer)
        page.get_by_test_id("push-now").click()
        expect(page.get_by_role("status")).to_contain_text("Queued")
        reload_until(page, "sync-state", "synced")
        expect(page.get_by_test_id("sync-error")).to_have_count(0)

    run = SyncRun.objects.get(kind=SyncRunKind.BACKFILL)
    assert (run.status, run.total, run.requested_by.username) == (
        SyncRunStatus.SUCCEEDED, DUTCH, "boss"
    )  # fmt: skip
    assert spotler_sandbox.contact("NL-001")["properties"]["postalCode"]
    assert Contact.objects.get(external_id="NL-050").sync_status == SyncStatus.SYNCED
