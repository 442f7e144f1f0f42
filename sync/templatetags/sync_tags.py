from datetime import timedelta

from django import template

from sync.progress import duration_words as _duration_words

register = template.Library()


@register.filter
def duration_words(value: timedelta | None) -> str:
    """A run's duration or time left, short: "45 s", "3 min 5 s", "2 h 10 min"."""
    return _duration_words(value) if value is not None else ""
