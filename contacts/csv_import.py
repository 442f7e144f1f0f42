"""Importing customers from a CSV file: the initial backfill, done by an Admin in the browser.

Upload (the file is checked: UTF-8 with or without a BOM, `,` or `;` between cells, a header
row), then map each column to a source field, then the import runs on the queue through the
same cleaner and the same batch function as the ingest API (`contacts.batch`), 1,000 rows at a
time. Each chunk, its counters and its row errors are written in one transaction, so a row is
imported whole or not at all and the progress shown is what is in the ledger.

Decisions:
- An empty cell is left out of the contact's fields (a blank means "no value", as a spreadsheet
  shows it); an empty e-mail or external id cell is then reported as missing.
- A row is a contact's full set of source fields, as with PUT: importing replaces the fields the
  ledger holds for that external id. Importing the same file again changes nothing.
- The same external id on several rows: the rows apply in order, the last one wins.
- Rows are numbered as a spreadsheet numbers them: the header is row 1.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from contacts import batch
from contacts.errors import BODY, InvalidFields
from contacts.models import CsvImport, CsvImportFile, CsvImportRowError, CsvImportStatus
from contacts.source_fields import FIELD_NAME
from spotlersync.csv_cells import inert

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_COLUMNS = 200
PREVIEW_ROWS = 3
PREVIEW_CELL_LENGTH = 60
CHUNK_ROWS = batch.MAX_BATCH
STALLED_AFTER = timedelta(seconds=settings.Q_CLUSTER["timeout"])
EXTERNAL_ID = "external_id"
EMAIL = "email"
# Header slugs taken for the external id and e-mail columns when the mapping form first opens.
EXTERNAL_ID_GUESSES = ("external_id", "externalid", "customer_id", "customer_number", "id")
EMAIL_GUESSES = ("email", "e_mail", "email_address", "e_mail_address", "emailaddress")
UTF8_ADVICE = (
    "Save it as UTF-8 and upload it again: in Excel choose “CSV UTF-8 (comma delimited)”, in "
    "LibreOffice tick “Edit filter settings” and choose “Unicode (UTF-8)”."
)


class CsvFileError(Exception):
    """The file cannot be imported at all; the message says what to do about it."""


@dataclass(frozen=True)
class CsvHeader:
    delimiter: str
    headers: list[str]
    preview: list[list[str]]


@dataclass
class ChunkTally:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[CsvImportRowError] = field(default_factory=list)


def decode_csv(content: bytes) -> str:
    """The file's text; `CsvFileError` when it is not UTF-8 (a BOM is allowed and dropped)."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvFileError(f"This file is UTF-16 text, not UTF-8. {UTF8_ADVICE}")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        byte = content[error.start]
        raise CsvFileError(
            f"This file is not UTF-8 text: byte {error.start + 1:,} (0x{byte:02X}) is not valid "
            f"UTF-8, so it was probably saved as Windows-1252 or Latin-1. {UTF8_ADVICE}"
        ) from None


def detect_delimiter(text: str) -> str:
    """`;` when the header line has more semicolons than commas (Excel in Dutch), else `,`."""
    first_line = text.split("\n", 1)[0]
    return ";" if first_line.count(";") > first_line.count(",") else ","


def read_header(content: bytes) -> CsvHeader:
    """Check the file and read its header and first rows; `CsvFileError` says what is wrong."""
    if not content.strip():
        raise CsvFileError("The file is empty; export the customers with a header row.")
    text = decode_csv(content)
    delimiter = detect_delimiter(text)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = [cell.strip() for cell in next(rows)]
        preview = [
            [cell[:PREVIEW_CELL_LENGTH] for cell in row]
            for row in islice((row for row in rows if row), PREVIEW_ROWS)
        ]
    except csv.Error as error:
        raise CsvFileError(f"The file cannot be read as CSV near its start: {error}.") from None
    if len(headers) < 2 or not any(headers):
        raise CsvFileError(
            "The first row must name the columns, with at least an external id and an e-mail "
            "column, separated by commas or semicolons."
        )
    if len(headers) > MAX_COLUMNS:
        raise CsvFileError(f"The file has {len(headers)} columns; at most {MAX_COLUMNS} can be.")
    return CsvHeader(delimiter=delimiter, headers=headers, preview=preview)


def create_import(*, file_name: str, content: bytes, created_by: AbstractBaseUser) -> CsvImport:
    """Keep an uploaded file until its columns are mapped; `CsvFileError` when it is unusable."""
    header = read_header(content)
    with transaction.atomic():
        csv_import = CsvImport.objects.create(
            file_name=file_name[:255],
            size=len(content),
            delimiter=header.delimiter,
            headers=header.headers,
            preview=header.preview,
            created_by=created_by,
        )
        CsvImportFile.objects.create(csv_import=csv_import, content=content)
    return csv_import


def field_name_for(header: str) -> str:
    """The source field a column fills unless the Admin says otherwise: a slug of its header."""
    name = re.sub(r"_+", "_", slugify(header).replace("-", "_")).strip("_")
    if not name:
        return ""
    if not name[0].isalpha():
        name = f"field_{name}"
    return name[:64] if FIELD_NAME.fullmatch(name[:64]) else ""


def guess_column(headers: list[str], guesses: tuple[str, ...]) -> int | None:
    slugs = [field_name_for(header) for header in headers]
    for guess in guesses:
        if guess in slugs:
            return slugs.index(guess)
    return None


def queue_import(*, csv_import: CsvImport, columns: list[str]) -> bool:
    """Save the mapping and mark the import queued; False when it already was (a double click).

    The caller enqueues `tasks.run_csv_import` on commit when this says True.
    """
    queued = CsvImport.objects.filter(pk=csv_import.pk, status=CsvImportStatus.MAPPING).update(
        columns=columns, status=CsvImportStatus.QUEUED, queued_at=timezone.now()
    )
    return queued == 1


def run_import(*, import_id: int) -> str:
    """Import the rows of a queued file; its record says how it went. Runs on the queue."""
    claimed = CsvImport.objects.filter(pk=import_id, status=CsvImportStatus.QUEUED).update(
        status=CsvImportStatus.RUNNING, started_at=timezone.now(), progress_at=timezone.now()
    )
    if not claimed:
        return f"CSV import {import_id} was not waiting in the queue; nothing done."
    csv_import = CsvImport.objects.get(pk=import_id)
    try:
        import_rows(csv_import)
    except CsvFileError as error:
        finish(csv_import, status=CsvImportStatus.FAILED, failure=str(error))
        return f"CSV import {import_id} failed: {error}"
    except Exception:
        failure = "An unexpected error stopped the import; the queue's failed tasks hold details."
        finish(csv_import, status=CsvImportStatus.FAILED, failure=failure)
        raise
    finish(csv_import, status=CsvImportStatus.DONE)
    csv_import.refresh_from_db()
    return (
        f"CSV import {import_id}: {csv_import.created_count} created, "
        f"{csv_import.changed_count} changed, {csv_import.unchanged_count} unchanged, "
        f"{csv_import.failed_count} failed."
    )


def import_rows(csv_import: CsvImport) -> None:
    text = decode_csv(bytes(CsvImportFile.objects.get(csv_import=csv_import).content))
    # Reading the whole file once first finds any unreadable row before anything is written.
    total = sum(1 for _ in data_rows(text, delimiter=csv_import.delimiter))
    CsvImport.objects.filter(pk=csv_import.pk).update(total_rows=total)
    rows = data_rows(text, delimiter=csv_import.delimiter)
    while chunk := list(islice(rows, CHUNK_ROWS)):
        import_chunk(csv_import, chunk)


def data_rows(text: str, *, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of each non-blank row after the header; `CsvFileError` if unreadable."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 1
    try:
        next(reader, None)
        for number, cells in enumerate(reader, start=2):
            if any(cell.strip() for cell in cells):
                yield number, cells
    except csv.Error as error:
        raise CsvFileError(
            f"Row {number + 1} cannot be read as CSV ({error}), so nothing was imported. Correct "
            "the file and import it again."
        ) from None


def import_chunk(csv_import: CsvImport, chunk: list[tuple[int, list[str]]]) -> None:
    tally = ChunkTally()
    items: list[dict] = []
    numbers: list[int] = []
    for number, cells in chunk:
        if len(cells) > len(csv_import.headers):
            message = (
                f"This row has {len(cells)} cells, the header {len(csv_import.headers)}; check "
                "for a stray delimiter or an unclosed quote."
            )
            tally.failed += 1
            tally.errors.append(row_error(csv_import, number, "", message))
            continue
        items.append(row_item(cells, columns=csv_import.columns))
        numbers.append(number)
    with transaction.atomic():
        for number, result in zip(numbers, batch.upsert_contacts(items=items), strict=True):
            count_result(csv_import, tally, number=number, result=result)
        CsvImportRowError.objects.bulk_create(tally.errors)
        CsvImport.objects.filter(pk=csv_import.pk).update(
            done_rows=F("done_rows") + len(chunk),
            created_count=F("created_count") + tally.created,
            changed_count=F("changed_count") + tally.changed,
            unchanged_count=F("unchanged_count") + tally.unchanged,
            failed_count=F("failed_count") + tally.failed,
            progress_at=timezone.now(),
        )


def row_item(cells: list[str], *, columns: list[str]) -> dict[str, str]:
    """A batch item: each mapped, non-empty cell under its source field name."""
    return {
        name: cell.strip()
        for name, cell in zip(columns, cells, strict=False)
        if name and cell.strip()
    }


def count_result(
    csv_import: CsvImport, tally: ChunkTally, *, number: int, result: batch.BatchItemResult
) -> None:
    if result.error is None:
        if result.outcome.created:
            tally.created += 1
        elif result.outcome.changed:
            tally.changed += 1
        else:
            tally.unchanged += 1
        return
    tally.failed += 1
    error = result.error
    if isinstance(error, InvalidFields):
        for name, message in sorted(error.fields.items()):
            column = "" if name == BODY else column_of(csv_import, name)
            tally.errors.append(row_error(csv_import, number, column, message))
    else:
        column = column_of(csv_import, EXTERNAL_ID)
        tally.errors.append(row_error(csv_import, number, column, error.detail))


def column_of(csv_import: CsvImport, name: str) -> str:
    if name in csv_import.columns:
        return csv_import.headers[csv_import.columns.index(name)]
    return name


def row_error(csv_import: CsvImport, row: int, column: str, message: str) -> CsvImportRowError:
    return CsvImportRowError(csv_import=csv_import, row=row, column=column[:255], message=message)


def finish(csv_import: CsvImport, *, status: CsvImportStatus, failure: str = "") -> None:
    """Record the end and drop the file: it holds personal data the ledger now has."""
    with transaction.atomic():
        CsvImport.objects.filter(pk=csv_import.pk).update(
            status=status, failure=failure, finished_at=timezone.now()
        )
        CsvImportFile.objects.filter(csv_import=csv_import).delete()


def fail_if_stalled(csv_import: CsvImport) -> CsvImport:
    """Mark a running import failed when its worker is gone (no progress for STALLED_AFTER).

    A chunk takes about a second; the queue kills a task after its timeout and never redelivers
    one that had started, so an import that has not moved for that long never will.
    """
    if csv_import.status != CsvImportStatus.RUNNING or csv_import.progress_at is None:
        return csv_import
    if timezone.now() - csv_import.progress_at < STALLED_AFTER:
        return csv_import
    failure = (
        f"The import stopped after {csv_import.done_rows} rows (its queue worker was stopped or "
        "timed out). Import the file again: rows already imported stay as they are and count as "
        "unchanged."
    )
    stalled = CsvImport.objects.filter(
        pk=csv_import.pk, status=CsvImportStatus.RUNNING, progress_at=csv_import.progress_at
    )
    if stalled.update(status=CsvImportStatus.FAILED, failure=failure, finished_at=timezone.now()):
        CsvImportFile.objects.filter(csv_import=csv_import).delete()
    csv_import.refresh_from_db()
    return csv_import


def write_errors_csv(csv_import: CsvImport, out: io.TextIOBase) -> None:
    """Every row error of the import as CSV (row, column, problem), for the person fixing it."""
    writer = csv.writer(out)
    writer.writerow(["row", "column", "problem"])
    rows = csv_import.row_errors.values_list("row", "column", "message")
    for row, column, message in rows.iterator(chunk_size=2000):
        writer.writerow([row, inert(column), inert(message)])
