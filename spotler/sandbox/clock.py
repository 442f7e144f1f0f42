"""The sandbox's notion of time: UTC, to the millisecond, as Spotler's Java backend keeps it."""

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MILLISECOND = timedelta(milliseconds=1)


def now() -> datetime:
    """The current moment, truncated to whole milliseconds."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def epoch_milliseconds(moment: datetime) -> int:
    """Milliseconds since 1970, the way 1.1.0 answers timestamps (spotler-api.md §2.6)."""
    return (moment - EPOCH) // ONE_MILLISECOND


def parse_aware(text: str) -> datetime | None:
    """An ISO 8601 moment with an offset, or None for anything else (naive times included)."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    return moment.astimezone(UTC)
