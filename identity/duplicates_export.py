"""The duplicates report as CSV: one row per contact of every shared address the filters
choose, with the group's kind and what Spotler does with it under the mode shown."""

import csv
from collections.abc import Iterator

from identity.duplicates import DuplicateFilters, iter_duplicates
from spotlersync.csv_cells import inert

HEADER = [
    "address",
    "kind",
    "contacts_at_address",
    "spotler_order",
    "external_id",
    "name",
    "account_manager",
    "sync_status",
    "created_at",
    "dedupe_mode",
    "spotler_does",
]


class Echo:
    """A file-like object that hands back what is written, for a streamed response."""

    def write(self, value: str) -> str:
        return value


def duplicates_csv(*, filters: DuplicateFilters, mode: str) -> Iterator[str]:
    """The lines of the CSV file, header first, a chunk of groups read at a time."""
    writer = csv.writer(Echo())
    yield writer.writerow(HEADER)
    for group in iter_duplicates(filters):
        kind = "household" if group.household else "same person twice"
        verdict = group.verdict(mode)
        for order, contact in enumerate(group.members, start=1):
            row = [
                inert(group.address), kind, len(group.members), order,
                inert(contact.external_id), inert(contact.name), inert(contact.account_manager),
                contact.get_sync_status_display().lower(), contact.created_at.isoformat(),
                mode, inert(verdict),
            ]  # fmt: skip
            yield writer.writerow(row)
