"""An Admin starts a full backfill before any queue worker runs and watches its page: every part
of it (started, progress, counts, the cancel text) follows the run without a reload."""

import os
import re
from pathlib import Path

from django.core.cache import cache
from playwright.sync_api import Page, expect

from contacts.ingest import upsert_contact
from spotlersync.roles import Role
from sync.models import SyncRun, SyncRunKind, SyncRunStatus
from sync.push_requests import PUSH_REQUEST_KEY
from sync.runs import queue_run
from tests.conftest import transactional
from tests.queue_cluster import running_clusters

CONTACTS = 600  # two chunks, six calls to Spotler
WIDTHS = (1280, 1440)
# Screenshots for a person to look at (not compared): RUN_SCREENSHOTS=/some/folder.
SCREENSHOTS = os.environ.get("RUN_SCREENSHOTS", "")


def seed_ledger() -> None:
    cache.set(PUSH_REQUEST_KEY, 1, timeout=600)  # no live push queued for the seeding
    for n in range(CONTACTS):
        upsert_contact(
            external_id=f"C-{n:04d}",
            raw_fields={"email": f"c{n}@example.nl", "first_name": f"Klant {n}", "language": "nl"},
        )


def fits_the_window(page: Page, width: int, name: str) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SCREENSHOTS}/{name}-{width}.png", full_page=True)


@transactional
def test_a_run_page_follows_the_run_from_queued_to_running_to_done_without_a_reload(
    live_server, log_in, spotler_sandbox, catalogue
):
    seed_ledger()
    page = log_in("boss", Role.ADMIN)
    page.goto(f"{live_server.url}/sync/runs/")
    backfill = page.get_by_test_id("start-backfill")
    backfill.get_by_label("Yes, send every contact in the ledger to Spotler again").check()
    backfill.get_by_role("button", name="Start full backfill").click()

    expect(page).to_have_url(re.compile(r"/sync/runs/\d+/$"))
    expect(page.get_by_role("heading", name=re.compile(r"Full backfill run #\d+"))).to_be_visible()
    expect(page.get_by_test_id("run-started")).to_have_text("not yet: waiting for a queue worker")
    expect(page.get_by_test_id("cancel-note")).to_have_text(
        "It has not started yet: cancelled now, it never will."
    )
    expect(page.get_by_test_id("run-state")).to_have_text("queued")
    for width in WIDTHS:
        fits_the_window(page, width, "run-queued")
    page.evaluate("window.notReloaded = true")

    # Each call to Spotler takes a second: the run is seen running for several seconds.
    spotler_sandbox.set(rate_limit=0, latency_ms=1000)
    env = {"SPOTLER_BASE_URL": spotler_sandbox.base_url}
    with running_clusters(workers=1, backfill_workers=1, extra_env=env):
        # A starting cluster empties the queue of earlier tests' tasks, this run's with them:
        # queue it again, as the watchdog does for a run whose task was lost.
        queue_run(SyncRun.objects.get(kind=SyncRunKind.BACKFILL))
        expect(page.get_by_test_id("run-state")).to_have_text("running", timeout=60_000)
        expect(page.get_by_test_id("run-started")).to_have_text(
            re.compile(r"^\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d$")
        )
        expect(page.get_by_test_id("cancel-note")).to_have_text(
            "It stops after its current step; what it sent stays sent."
        )
        expect(page.get_by_test_id("run-duration")).to_be_visible()
        assert page.evaluate("window.notReloaded") is True  # the same page, brought up to date
        for width in WIDTHS:
            fits_the_window(page, width, "run-running")

        # Once it ends, the page reloads once and stops polling.
        expect(page.get_by_test_id("run-state")).to_have_text("succeeded", timeout=90_000)
    expect(page.get_by_test_id("run-percent")).to_have_text("100%")
    expect(page.get_by_test_id("run-done")).to_have_text(f"{CONTACTS} of {CONTACTS}")
    expect(page.get_by_test_id("run-count-notes")).to_contain_text(
        f"{CONTACTS} sent: accepted by Spotler."
    )
    expect(page.get_by_test_id("cancel-form")).to_have_count(0)
    for width in WIDTHS:
        fits_the_window(page, width, "run-done")
    assert SyncRun.objects.get(kind=SyncRunKind.BACKFILL).status == SyncRunStatus.SUCCEEDED
