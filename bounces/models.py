"""Bounced mails Spotler reported (the pull in sync/pull_bounces.py writes them)."""

from django.db import models


class BounceKind(models.TextChoices):
    HARD = "hard", "Hard bounce"
    SOFT = "soft", "Soft bounce"


class Bounce(models.Model):
    """One mail to one contact that bounced, as `contact/bounces/list` reported it."""

    # Null once the contact is gone; the bounce stays for whoever follows it up.
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="bounces"
    )
    external_id = models.CharField(max_length=200, help_text="Spotler's externalId.")
    email = models.CharField(max_length=254, blank=True, help_text="As Spotler reported it.")
    kind = models.CharField(max_length=10, choices=BounceKind.choices)
    bounced_at = models.DateTimeField(help_text="Spotler's date of the bounce.")
    mailing_id = models.CharField(
        max_length=200, blank=True, help_text="Spotler's encryptedActId: the mailing that bounced."
    )
    run = models.ForeignKey(
        "sync.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="bounces"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-bounced_at", "-id"]
        constraints = [
            # Pull windows overlap: the same bounce is read more than once and stored once.
            models.UniqueConstraint(
                fields=["external_id", "bounced_at", "kind", "mailing_id"],
                name="one_row_per_bounce",
            )
        ]
        indexes = [models.Index(fields=["contact", "-bounced_at"])]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} of {self.external_id} at {self.bounced_at:%Y-%m-%d %H:%M}"
        )
