from datetime import timedelta

from django import template

from bounces.inbox import open_count
from bounces.models import FollowUp

register = template.Library()


@register.simple_tag(takes_context=True)
def open_followup_count(context) -> int:
    """The navigation's count beside "Bounces"."""
    return open_count(context["request"].user)


@register.simple_tag
def open_followup_of(contact) -> FollowUp | None:
    """The contact's unresolved follow-up, for the contact page."""
    return FollowUp.objects.unresolved().filter(contact=contact).first()


@register.filter
def duration_words(value: timedelta | None) -> str:
    """A resolving time in the largest fitting unit: "3.5 days", "5 h", "12 min"."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{max(1, round(seconds / 60))} min"
