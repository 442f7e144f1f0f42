"""The outbox: what the ledger still owes Spotler. The push engine drains it."""

from django.db import models


class OutboxKind(models.TextChoices):
    UPSERT = "upsert", "Upsert"
    ANONYMIZE = "anonymize", "Anonymize"
    INACTIVATE = "inactivate", "Inactivate"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    # A later entry made this one pointless (e.g. an upsert queued before the contact was
    # erased must never push its personal data).
    SUPERSEDED = "superseded", "Superseded"


class OutboxEntryQuerySet(models.QuerySet):
    def pending(self) -> "OutboxEntryQuerySet":
        return self.filter(status=OutboxStatus.PENDING)


class OutboxEntry(models.Model):
    # The push engine reads the contact's current ledger state when it runs, so several pending
    # upserts of one contact become one call; the entry itself carries no personal data.
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="outbox_entries"
    )
    # Kept on the entry because an erased contact no longer has it: Spotler needs it to know
    # whom to anonymize. The push engine clears it once the anonymization is done.
    external_id = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, choices=OutboxKind.choices)
    status = models.CharField(
        max_length=20, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OutboxEntryQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = "outbox entry"
        verbose_name_plural = "outbox entries"
        indexes = [models.Index(fields=["status", "id"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"
