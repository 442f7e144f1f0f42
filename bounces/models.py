"""Bounced mails Spotler reported (the pull in sync/pull_bounces.py writes them)."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from contacts.models import hash_external_id


class BounceKind(models.TextChoices):
    HARD = "hard", "Hard bounce"
    SOFT = "soft", "Soft bounce"


class LedgerState(models.TextChoices):
    """What the ledger knew of a bounce's contact when the bounce was pulled. Only a bounce of a
    contact in the ledger becomes follow-up work; the others are kept and counted."""

    KNOWN = "known", "In the ledger"
    # The shop deleted the customer; Spotler's anonymization is still to run (or be confirmed).
    ERASED = "erased", "Erased"
    # The shop deleted the customer and Spotler confirmed the anonymization.
    ANONYMIZED = "anonymized", "Anonymized"
    UNKNOWN = "unknown", "Unknown to the ledger"


def bounce_key_hash(*, external_id: str | None, email: str) -> str:
    """A bounce's contact in its unique key: the hash the ledger keeps of the externalId (an
    erased contact keeps only that), or, for a Spotler contact without one, of its address."""
    return hash_external_id(external_id) if external_id else hash_external_id(f"email:{email}")


class Bounce(models.Model):
    """One mail to one contact that bounced, as `contact/bounces/list` reported it."""

    # Null when the ledger holds no such contact (erased or unknown: see `ledger_state`).
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="bounces"
    )
    external_id = models.CharField(
        max_length=200, blank=True, help_text="Spotler's externalId; empty for an erased contact."
    )
    external_id_hash = models.CharField(
        max_length=64, help_text="SHA-256 of the externalId (of the address, if there is none)."
    )
    ledger_state = models.CharField(
        max_length=20, choices=LedgerState.choices, default=LedgerState.KNOWN
    )
    email = models.CharField(
        max_length=254, blank=True,
        help_text="As Spotler reported it; empty for an erased contact.",
    )  # fmt: skip
    kind = models.CharField(max_length=10, choices=BounceKind.choices)
    bounced_at = models.DateTimeField(help_text="Spotler's date of the bounce.")
    mailing_id = models.CharField(
        max_length=200, blank=True, help_text="Spotler's encryptedActId: the mailing that bounced."
    )
    run = models.ForeignKey(
        "sync.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="bounces"
    )
    followup = models.ForeignKey(
        "FollowUp", null=True, blank=True, on_delete=models.SET_NULL, related_name="bounces"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-bounced_at", "-id"]
        constraints = [
            # Pull windows overlap: the same bounce is read more than once and stored once.
            models.UniqueConstraint(
                fields=["external_id_hash", "bounced_at", "kind", "mailing_id"],
                name="one_row_per_bounce_key",
            )
        ]
        indexes = [
            models.Index(fields=["contact", "-bounced_at"]),
            # The inbox counts the few bounces kept without a follow-up by reading only them.
            models.Index(
                fields=["ledger_state", "bounced_at"],
                condition=~models.Q(ledger_state="known"),
                name="bounce_without_contact_idx",
            ),
        ]

    def __str__(self) -> str:
        who = self.external_id or f"{self.get_ledger_state_display().lower()} contact"
        return f"{self.get_kind_display()} of {who} at {self.bounced_at:%Y-%m-%d %H:%M}"


class FollowUpState(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


UNRESOLVED = [FollowUpState.OPEN, FollowUpState.IN_PROGRESS]


class Resolution(models.TextChoices):
    EMAIL_CORRECTED = "email_corrected", "E-mail corrected"
    REPLACEMENT_FOUND = "replacement_found", "Contact left, replacement found"
    LEFT_NO_REPLACEMENT = "left_no_replacement", "Contact left, no replacement"
    MADE_INACTIVE = "made_inactive", "Made inactive"
    DISMISSED = "dismissed", "Dismissed"


class FollowUpQuerySet(models.QuerySet):
    def unresolved(self) -> "FollowUpQuerySet":
        return self.filter(state__in=UNRESOLVED)

    def overdue(self, now: datetime) -> "FollowUpQuerySet":
        return self.unresolved().filter(due_at__lt=now)

    def visible_to(self, user) -> "FollowUpQuerySet":
        """An Admin sees every follow-up; anyone else only their own."""
        from spotlersync.roles import is_admin

        return self if is_admin(user) else self.filter(owner=user)


class FollowUp(models.Model):
    """Work for an account manager: a contact's mail bounced (once hard, or soft too often)."""

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="followups"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="followups",
    )  # fmt: skip
    # The contact's account manager (the source field's value) matched no user: an Admin assigns.
    owner_unmatched = models.BooleanField(default=False)
    owner_source = models.CharField(
        max_length=200, blank=True, help_text="The account manager as the linked system names them."
    )
    kind = models.CharField(
        max_length=10, choices=BounceKind.choices, help_text="Hard if any of its bounces was."
    )
    email = models.CharField(max_length=254, blank=True, help_text="The address that bounced.")
    bounce_count = models.PositiveIntegerField(default=0)
    last_bounce_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=20, choices=FollowUpState.choices, default=FollowUpState.OPEN
    )
    opened_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(help_text="Opened plus the service level in working days.")
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=30, choices=Resolution.choices, blank=True)
    resolution_data = models.JSONField(default=dict, blank=True)
    # A corrected address waiting for Spotler's answer: the push closes or reopens the follow-up.
    pending_email = models.CharField(max_length=254, blank=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # Repeated bounces add to the contact's one unresolved follow-up.
            models.UniqueConstraint(
                fields=["contact"],
                condition=models.Q(state__in=UNRESOLVED),
                name="one_unresolved_followup_per_contact",
            )
        ]
        indexes = [
            models.Index(fields=["state", "-opened_at", "-id"], name="followup_inbox_idx"),
            models.Index(fields=["owner", "state", "-opened_at"], name="followup_owner_idx"),
            models.Index(fields=["state", "due_at"], name="followup_due_idx"),
            models.Index(fields=["resolved_at"], name="followup_resolved_idx"),
        ]

    def __str__(self) -> str:
        return f"follow-up #{self.pk} ({self.get_state_display().lower()})"

    @property
    def is_done(self) -> bool:
        return self.state == FollowUpState.DONE

    def is_overdue(self, now: datetime | None = None) -> bool:
        return not self.is_done and self.due_at < (now or timezone.now())


class StepAction(models.TextChoices):
    OPENED = "opened", "Opened"
    BOUNCED_AGAIN = "bounced_again", "Bounced again"
    ASSIGNED = "assigned", "Assigned"
    STARTED = "started", "Started"
    NOTE = "note", "Note"
    CORRECTION_SENT = "correction_sent", "Corrected address sent to Spotler"
    REOPENED = "reopened", "Reopened"
    RESOLVED = "resolved", "Resolved"


class FollowUpStep(models.Model):
    """One line of a follow-up's history: who did what, when."""

    followup = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=30, choices=StepAction.choices)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"


class NotifyChoice(models.TextChoices):
    NONE = "none", "No e-mail"
    IMMEDIATE = "immediate", "An e-mail for each new follow-up"
    DAILY = "daily", "A daily digest of new follow-ups"


class NotificationPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bounce_notifications"
    )
    choice = models.CharField(
        max_length=20, choices=NotifyChoice.choices, default=NotifyChoice.NONE
    )
    # The digest covers follow-ups opened after this moment.
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.get_choice_display()}"
