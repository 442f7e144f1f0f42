"""Cursor paging as Spotler does it: `pageSize` items after an integer cursor `after`."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")

# No maximum is documented (spotler-api.md §2.7); a real service has one, so the sandbox does.
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page(Generic[Item]):
    """The items of one page; `after` is the cursor of the next page, None on the last one."""

    items: list[Item]
    after: int | None


def take_page(
    items: Iterable[Item], *, cursor: Callable[[Item], int], after: int | None, size: int | None
) -> Page[Item]:
    """The page of `size` items (all when None) whose cursor comes after `after`.

    `items` must be sorted by cursor. The last page carries no `after` (spotler-api.md §0.3).
    """
    remaining = [item for item in items if after is None or cursor(item) > after]
    if size is None or len(remaining) <= size:
        return Page(items=remaining, after=None)
    page = remaining[:size]
    return Page(items=page, after=cursor(page[-1]))
