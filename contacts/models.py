"""The ledger of linked-system contacts and orders, the changes feed, and API tokens."""

import hashlib
from datetime import datetime

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

# The linked system's customer number, also Spotler's `externalId`. Conservative on purpose:
# it appears in URLs and in Spotler calls.
EXTERNAL_ID_MAX_LENGTH = 100
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$"
validate_external_id = RegexValidator(
    EXTERNAL_ID_PATTERN,
    "Use 1 to 100 letters, digits and . _ : @ - (starting with a letter or digit).",
)


def hash_external_id(external_id: str) -> str:
    """What an erased contact keeps of its customer number, to refuse its re-creation."""
    return hashlib.sha256(external_id.encode()).hexdigest()


class SyncStatus(models.TextChoices):
    """Where the contact stands in Spotler (the push engine moves it on from `pending`)."""

    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"
    ANONYMIZED = "anonymized", "Anonymized"
    INACTIVE = "inactive", "Inactive"


class ContactQuerySet(models.QuerySet):
    def pending(self) -> "ContactQuerySet":
        return self.filter(sync_status=SyncStatus.PENDING)

    def synced(self) -> "ContactQuerySet":
        return self.filter(sync_status=SyncStatus.SYNCED)

    def failed(self) -> "ContactQuerySet":
        return self.filter(sync_status=SyncStatus.FAILED)

    def erased(self) -> "ContactQuerySet":
        return self.filter(erased_at__isnull=False)

    def live(self) -> "ContactQuerySet":
        """Contacts that still hold personal data (not erased after a DELETE)."""
        return self.filter(erased_at__isnull=True)

    def inactivated(self) -> "ContactQuerySet":
        return self.filter(inactivated_at__isnull=False)


class Contact(models.Model):
    # Null only for an erased contact: its tombstone keeps `external_id_hash` instead.
    external_id = models.CharField(
        max_length=EXTERNAL_ID_MAX_LENGTH,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_external_id],
    )
    external_id_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The latest source fields exactly as accepted from the linked system (a flat object);
    # the columns below copy the few the dashboard filters on.
    fields = models.JSONField(default=dict, blank=True)
    fields_hash = models.CharField(max_length=64, blank=True, editable=False)
    email = models.EmailField(max_length=254, blank=True, db_index=True)
    language = models.CharField(max_length=35, blank=True, db_index=True)
    account_manager = models.CharField(max_length=200, blank=True, db_index=True)

    first_purchase_at = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)

    sync_status = models.CharField(
        max_length=20, choices=SyncStatus.choices, default=SyncStatus.PENDING, db_index=True
    )
    sync_error = models.TextField(blank=True, help_text="Spotler's own words for the failure.")
    synced_at = models.DateTimeField(null=True, blank=True)

    changed_at = models.DateTimeField(
        db_index=True, help_text="Last change accepted from the linked system."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    inactivated_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at"]
        indexes = [models.Index(fields=["sync_status", "-changed_at"])]

    def __str__(self) -> str:
        if self.erased_at:
            return f"erased contact {self.external_id_hash[:12]}"
        return self.external_id or ""

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


class Order(models.Model):
    external_id = models.CharField(
        max_length=EXTERNAL_ID_MAX_LENGTH, unique=True, validators=[validate_external_id]
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="orders")
    ordered_at = models.DateTimeField()
    value = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ordered_at"]

    def __str__(self) -> str:
        return self.external_id


class ChangeKind(models.TextChoices):
    PROFILE_CHANGED = "profile_changed", "Profile changed"
    PERMISSION_CHANGED = "permission_changed", "Permission changed"
    BOUNCED = "bounced", "Bounced"
    INACTIVATED = "inactivated", "Inactivated"


class Change(models.Model):
    """One thing that came back from Spotler, for the linked system to read.

    The primary key is the feed's cursor; `contacts.feed` explains why it is safe to resume from.
    """

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=30, choices=ChangeKind.choices)
    external_id = models.CharField(max_length=EXTERNAL_ID_MAX_LENGTH, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id} #{self.pk}"


class TokenScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Read and write"


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token for the ingest API. Only its SHA-256 is stored; `prefix` identifies it."""

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.WRITE)
    prefix = models.CharField(max_length=16, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["revoked_at", "-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def allows(self, scope: str) -> bool:
        return scope == TokenScope.READ or self.scope == TokenScope.WRITE

    def used_recently(self, now: datetime, *, seconds: int) -> bool:
        return self.last_used_at is not None and (now - self.last_used_at).total_seconds() < seconds
