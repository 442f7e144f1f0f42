"""An uploaded file of external ids for a temporary list: one id a line, or a CSV file whose
first column holds them (a header line is skipped)."""

import csv
import io
import re

from contacts.models import EXTERNAL_ID_PATTERN

MAX_IDS = 100_000
MAX_BYTES = 12 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 5
ID_RULE = "letters, digits and . _ : @ -, starting with a letter or digit, at most 100 characters"
_ID = re.compile(EXTERNAL_ID_PATTERN)
# A first line with one of these is a header, though it would pass as an id.
HEADERS = {"external_id", "externalid", "external-id", "id", "ids", "customer_id", "contact_id"}


class IdFileProblem(ValueError):
    """The file cannot be used; the message says what to fix."""


def read_id_file(upload) -> list[str]:
    """The ids of the file, in its order, each once; IdFileProblem says what is wrong."""
    if upload is None:
        raise IdFileProblem("Choose a file of external ids to upload.")
    if upload.size > MAX_BYTES:
        raise IdFileProblem(
            f"“{upload.name}” is {upload.size / 1024 / 1024:.1f} MB; a file of ids may be at most "
            f"{MAX_BYTES // 1024 // 1024} MB."
        )
    raw = upload.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IdFileProblem(f"“{upload.name}” is not a UTF-8 text or CSV file.") from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if "\n" in sample else None
    except csv.Error:
        dialect = None
    rows = csv.reader(io.StringIO(text), dialect or csv.excel)
    ids: list[str] = []
    problems: list[str] = []
    for number, row in enumerate(rows, start=1):
        value = row[0].strip() if row else ""
        if not value:
            continue
        if number == 1 and value.lower() in HEADERS:
            continue
        if not _ID.match(value):
            if number == 1:
                continue  # a header line ("external_id", "Customer number", …)
            problems.append(f"line {number}: “{value[:60]}”")
            continue
        ids.append(value)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f" and {len(problems) - MAX_PROBLEMS_SHOWN} more" if len(problems) > 5 else ""
        raise IdFileProblem(
            f"{_lines(len(problems))} of “{upload.name}” {_hold(len(problems))} no external id "
            f"({shown}{more}). An "
            f"external id has {ID_RULE}; correct the file and upload it again."
        )
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise IdFileProblem(f"“{upload.name}” holds no external ids: one id a line, please.")
    if len(unique) > MAX_IDS:
        raise IdFileProblem(
            f"“{upload.name}” names {len(unique):,} contacts; a list holds at most {MAX_IDS:,}. "
            "Split the file and make two lists."
        )
    return unique


def _lines(n: int) -> str:
    return "1 line" if n == 1 else f"{n} lines"


def _hold(n: int) -> str:
    return "holds" if n == 1 else "hold"
