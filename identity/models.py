"""Who a contact is in Spotler: the account's deduplication mode and the external id's field
(the connection page), and the drift a reconciliation found between the ledger and Spotler."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class DedupeMode(models.TextChoices):
    """How the Spotler account decides two contacts are one (spotler-api.md §13.3)."""

    EXTERNAL_ID = "externalId", "By external id"
    EMAIL = "email", "By e-mail address"


class SpotlerAccount(models.Model):
    """The one Spotler account we sync with, as far as Spotler's API cannot tell us: an Admin
    reads these in Spotler's settings and enters them on the connection page. One row (pk 1)."""

    dedupe_mode = models.CharField(
        max_length=20, choices=DedupeMode.choices, default=DedupeMode.EXTERNAL_ID,
        help_text="Spotler's deduplication rule for the account (Settings → Contacts in Spotler).",
    )  # fmt: skip
    external_id_field = models.CharField(
        max_length=100, default="External id", blank=True,
        help_text="The Spotler field the REST key's external id is bound to.",
    )  # fmt: skip
    shared_with_other_systems = models.BooleanField(
        default=False, help_text="Other linked systems write to this Spotler account too."
    )
    # What the latest "test connection" found (identity/connection.py), and when.
    last_check = models.JSONField(default=dict, blank=True)
    last_check_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Spotler account"

    def __str__(self) -> str:
        return "Spotler account"

    @classmethod
    def current(cls) -> "SpotlerAccount":
        account, _ = cls.objects.get_or_create(pk=1)
        return account

    @property
    def dedupes_on_email(self) -> bool:
        return self.dedupe_mode == DedupeMode.EMAIL


class DriftKind(models.TextChoices):
    MISSING = "missing", "Missing in Spotler"
    FIELDS = "fields", "Mapped fields differ"
    CONSENT = "consent", "Consent differs"
    UNKNOWN = "unknown", "Unknown to the ledger"


class FindingState(models.TextChoices):
    OPEN = "open", "Open"
    PUSHED = "pushed", "Pushed again"
    PULLED = "pulled", "Pulled"
    IGNORED = "ignored", "Ignored"


class DriftFinding(models.Model):
    """One difference a reconciliation run found between a ledger contact and Spotler's copy."""

    run = models.ForeignKey("sync.SyncRun", on_delete=models.CASCADE, related_name="drift_findings")
    kind = models.CharField(max_length=20, choices=DriftKind.choices)
    # None for an external id only Spotler knows, or a contact erased since.
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    external_id = models.CharField(max_length=100)
    # [{"field": "firstName", "ledger": "Anna", "spotler": "Ann"}, ...]
    details = models.JSONField(default=list, blank=True)
    state = models.CharField(
        max_length=20, choices=FindingState.choices, default=FindingState.OPEN, db_index=True
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    resolved_at = models.DateTimeField(null=True, blank=True)
    found_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "kind", "external_id"]
        indexes = [models.Index(fields=["run", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.external_id}"
