"""Screenshots for a person to look at (not compared), at the widths pages must fit."""

from pathlib import Path

from playwright.sync_api import Page

WIDTHS = (1280, 1440)


def shoot(page: Page, name: str, *, folder: str) -> None:
    """Save the whole page as `<folder>/<name>-<width>.png` at each width; nothing when `folder`
    is empty (the tests' default: each test names the environment variable that sets it)."""
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"{folder}/{name}-{width}.png", full_page=True)
