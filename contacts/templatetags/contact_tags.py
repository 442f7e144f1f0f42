from datetime import UTC, datetime

from django import template
from django.utils import dateformat, timezone

register = template.Library()


@register.filter
def purchase_moment(value: datetime | None, fmt: str) -> str:
    """`value|date:fmt` in the local time zone, or in UTC for a moment too close to the end of
    the calendar to move into it. The API refuses such dates now (`spotlersync.moments`); one
    stored before must not make the contact's page fail for good."""
    if value is None:
        return ""
    try:
        return dateformat.format(timezone.localtime(value), fmt)
    except OverflowError:
        return f"{dateformat.format(value.astimezone(UTC), fmt)} UTC"
