"""The one rule for a date and time taken from outside: it is written with a year from 1900 to 2999,
and it is in those years in UTC too.

Python's datetime ends at the years 1 and 9999, and the product converts every moment it keeps:
to UTC for the database, to the local zone (TIME_ZONE) on pages, to ISO text for Spotler. So
`9999-12-31T23:59:59-14:00` cannot even become UTC, and `9999-12-31T23:30:00Z` is stored but
breaks every page that shows it in Amsterdam time. A moment in this range (as written and in UTC,
which is how the ledger keeps it) is at most a day from any other zone's reading of it, far from
either end; and what the ledger keeps passes the mapping's date conversions on every push.
(`1900-01-01T00:00:00+14:00` is written in 1900 but is 1899 in UTC: refused, or its contact's
purchase date could never be sent.)

The ingest API, the Syncs page and `manage.py sync` all refuse other moments with
`moment_range_problem`; the OpenAPI document states the same rule as `YEAR_PATTERN`.
"""

from datetime import UTC, date, datetime

EARLIEST_YEAR = 1900
LATEST_YEAR = 2999
RANGE = f"between {EARLIEST_YEAR}-01-01 and {LATEST_YEAR}-12-31"
# The same rule over ISO 8601 text, as a JSON Schema (ECMA-262) pattern: the year's four digits.
YEAR_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-"


def moment_range_problem(moment: date, *, name: str) -> str | None:
    """“`name` must lie between 1900-01-01 and 2999-12-31.” when `moment`, as written (in its
    own offset) or in UTC, has a year outside the range; None when it is fine. A datetime is a
    date."""
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        return out_of_range(name)
    in_utc = moment.astimezone(UTC) if isinstance(moment, datetime) and moment.tzinfo else moment
    if not EARLIEST_YEAR <= in_utc.year <= LATEST_YEAR:
        return f"{name} must lie {RANGE}, also in UTC."
    return None


def out_of_range(name: str) -> str:
    """The refusal for a moment outside the range, also for one too far out to be read at all."""
    return f"{name} must lie {RANGE}."
