"""An Admin reads the Health and Home pages: figures coloured by state, a chart with scales."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from contacts.ingest import upsert_contact
from spotlersync.roles import Role
from sync.models import OutboxEntry, SyncEvent, SyncEventKind
from sync.schedules import setup_schedules
from tests.conftest import transactional

WIDTHS = (1280, 1440)


def seed_failing_sync() -> None:
    """A day of pushes and pulls, a third of the last hour's calls failed, a change stuck."""
    contact = upsert_contact(external_id="C-1", raw_fields={"email": "anna@example.nl"}).contact
    OutboxEntry.objects.update(created_at=timezone.now() - timedelta(minutes=20))
    now = timezone.now()
    events = [
        SyncEvent(contact=contact, kind=kind, ok=True, at=now - timedelta(hours=h))
        for h in range(24)
        for kind, count in ((SyncEventKind.PUSH, 3 + h % 5), (SyncEventKind.PULL, h % 3))
        for _ in range(count)
    ]
    SyncEvent.objects.bulk_create(events)
    SyncEvent.objects.bulk_create(
        SyncEvent(contact=contact, kind=SyncEventKind.PUSH, ok=False, at=now) for _ in range(2)
    )


def fits_the_window(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@transactional
def test_the_health_page_colours_figures_by_state_and_scales_its_chart(live_server, log_in):
    setup_schedules()
    seed_failing_sync()
    page = log_in("admin", Role.ADMIN)
    page.goto(f"{live_server.url}/sync/health/")

    expect(page.get_by_test_id("health-errors").locator(".figure")).to_have_class(
        "figure state-bad"
    )
    expect(page.get_by_test_id("health-waiting").locator(".figure")).to_have_class(
        "figure state-bad"
    )
    y_labels = page.get_by_test_id("chart-y-axis").locator("text").all_text_contents()
    assert y_labels == ["0", "2", "4", "6", "8", "per hour"]
    expect(page.get_by_test_id("chart-legend")).to_contain_text("pulled from Spotler")
    for width in WIDTHS:
        fits_the_window(page, width)
        chart = page.get_by_test_id("chart-x-axis").bounding_box()
        assert chart["x"] + chart["width"] <= width

    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("schedules")).to_contain_text("Watch sync runs")
    for width in WIDTHS:
        fits_the_window(page, width)
