from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """One change someone made: who, when, what, and the values before → after.

    Written by `audit.record` only; secrets are masked before they get here."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    # Kept when the user is deleted; also names actors without a login ("manage.py", "system",
    # an API token).
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=40, db_index=True)
    object_type = models.CharField(max_length=40, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    # {"field": [before, after], ...}; a creation has None before, a deletion None after.
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["actor_label", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}"
