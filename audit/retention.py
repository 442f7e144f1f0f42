"""Forgetting audit entries older than AUDIT_RETENTION_DAYS (the nightly prune job)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from audit.models import AuditEntry

CHUNK = 1000


def prune_audit_trail(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete entries older than `days` (the setting by default), a chunk at a time."""
    days = settings.AUDIT_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    while ids := list(
        AuditEntry.objects.filter(at__lt=cutoff).values_list("pk", flat=True)[:CHUNK]
    ):
        deleted += AuditEntry.objects.filter(pk__in=ids).delete()[0]
    return deleted
