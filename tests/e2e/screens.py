"""Looking at a page the way a person would: at 1280 and 1440 px it fits (nothing scrolls
sideways, no table overflows its box), and a full-page screenshot when a folder is given."""

from pathlib import Path

from playwright.sync_api import Page

WIDTHS = (1280, 1440)


def assert_fits(page: Page, what: str) -> None:
    """No sideways scrolling of the page, and no table wider than its box."""
    overflow = page.evaluate(
        """() => {
            const root = document.scrollingElement;
            const tables = [...document.querySelectorAll("table")].map(t => {
                const box = t.parentElement.getBoundingClientRect();
                return Math.round(t.getBoundingClientRect().right - box.right);
            });
            return {page: root.scrollWidth - root.clientWidth, tables};
        }"""
    )
    assert overflow["page"] <= 0, f"{what} scrolls sideways by {overflow['page']}px"
    assert all(o <= 1 for o in overflow["tables"]), f"{what}: a table overflows: {overflow}"


def look_at(page: Page, name: str, *, folder: str) -> None:
    """Check the page at each width; with `folder`, save `<name>-<width>.png` there."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_fits(page, f"{name} at {width}px")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{folder}/{name}-{width}.png", full_page=True)
