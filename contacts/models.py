"""The ledger of linked-system contacts and orders, the changes feed, and API tokens."""

import hashlib
import re
from datetime import datetime

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

# The linked system's customer number, also Spotler's `externalId`. Conservative on purpose:
# it appears in URLs and in Spotler calls.
EXTERNAL_ID_MAX_LENGTH = 100
EXTERNAL_ID_REGEX = r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}"
# As JSON Schema (ECMA-262) reads it, where `$` is the very end: the OpenAPI document's pattern.
EXTERNAL_ID_PATTERN = rf"^{EXTERNAL_ID_REGEX}$"
# Python's `$` also matches before a final newline, so "C9\n" would pass `re.match`: checks in
# Python match the whole string (`is_external_id`, `\Z`).
NOT_AN_EXTERNAL_ID = "Use 1 to 100 letters, digits and . _ : @ - (starting with a letter or digit)."
validate_external_id = RegexValidator(rf"\A{EXTERNAL_ID_REGEX}\Z", NOT_AN_EXTERNAL_ID)


def is_external_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(EXTERNAL_ID_REGEX, value) is not None


def hash_external_id(external_id: str) -> str:
    """What an erased contact keeps of its customer number, to refuse its re-creation."""
    return hashlib.sha256(external_id.encode()).hexdigest()


class SyncStatus(models.TextChoices):
    """Where the contact stands in Spotler (the push engine moves it on from `pending`)."""

    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"
    # A failure someone looked at and chose not to fix (the reason is in sync_error).
    DISMISSED = "dismissed", "Failure dismissed"
    ANONYMIZED = "anonymized", "Anonymized"
    INACTIVE = "inactive", "Inactive"
    # Under e-mail deduplication, a new external id whose address another contact holds would
    # merge into (and rewrite) that Spotler contact: it waits for an Admin (identity/guard.py).
    HELD = "held", "Held for review"
    # An Admin's answer to a hold: this customer is the other one in Spotler, or stays here.
    MERGED = "merged", "Merged into another contact"
    LOCAL_ONLY = "local_only", "Kept local only"


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

    def with_external_id(self, value: str) -> "ContactQuerySet":
        """The contact `value` names; none when `value` cannot be an external id at all, so a
        typed or forged value (a NUL byte, which PostgreSQL refuses) never reaches the query."""
        return self.filter(external_id=value) if is_external_id(value) else self.none()

    def search(self, text: str) -> "ContactQuerySet":
        """Contacts whose external id or e-mail address starts with `text` (e-mail: any case).

        Prefixes, not substrings: both are answered from an index (on PostgreSQL the
        `varchar_pattern_ops` ones Django adds for indexed text columns), at any ledger size.
        """
        text = text.strip()
        if not text:
            return self
        return self.filter(
            models.Q(external_id__startswith=text) | models.Q(email_lower__startswith=text.lower())
        )


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
    # When the linked system last changed each field's *value* ({field: ISO 8601 moment}); the
    # push's consent rule reads it to tell a real re-subscription from a stale "yes". Empty for
    # contacts last changed before it was kept: their change times are unknown.
    field_changed_at = models.JSONField(default=dict, blank=True, editable=False)
    email = models.EmailField(max_length=254, blank=True, db_index=True)
    # Kept by the database, for the dashboard's case-insensitive search by the start of an address.
    email_lower = models.GeneratedField(
        expression=Lower("email"),
        output_field=models.CharField(max_length=254),
        db_persist=True,
        db_index=True,
    )
    language = models.CharField(max_length=35, blank=True, db_index=True)
    account_manager = models.CharField(max_length=200, blank=True, db_index=True)

    first_purchase_at = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)

    sync_status = models.CharField(
        max_length=20, choices=SyncStatus.choices, default=SyncStatus.PENDING, db_index=True
    )
    sync_error = models.TextField(blank=True, help_text="Spotler's own words for the failure.")
    synced_at = models.DateTimeField(null=True, blank=True)
    # The ledger change (its `changed_at`) that Spotler last accepted: a consent field whose value
    # has not changed since is not sent again (sync/push_payload.py).
    pushed_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    changed_at = models.DateTimeField(
        db_index=True, help_text="Last change accepted from the linked system."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    inactivated_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # A hold for review: the contact whose address this one shares (held, merged).
    held_twin = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # An Admin's release of a hold ("send", "merge", "local"); blank while none was given. A
    # database default too: the ingest's own SQL (spotlersync/bulk_sql.py) names its columns.
    identity_decision = models.CharField(max_length=10, blank=True, default="", db_default="")

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at"]
        indexes = [
            models.Index(fields=["sync_status", "-changed_at"]),
            # The dashboard's list order, with a tie-breaker so that pages never overlap.
            models.Index(fields=["-changed_at", "-id"], name="contact_list_order_idx"),
            # Tombstones are few: the "erased" filter and its count read only them.
            models.Index(
                fields=["-changed_at"],
                condition=models.Q(erased_at__isnull=False),
                name="contact_erased_idx",
            ),
        ]

    def __str__(self) -> str:
        if self.erased_at:
            return f"erased contact {self.external_id_hash[:12]}"
        return self.external_id or ""

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def name(self) -> str:
        """The person's name from the source fields, as far as the linked system sends one."""
        parts = [self.fields.get(key) for key in ("first_name", "middle_name", "last_name")]
        name = " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())
        fallback = self.fields.get("name")
        return name or (fallback.strip() if isinstance(fallback, str) else "")


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
    # The bounce inbox's work (bounces/followups.py), for a CRM to mirror.
    FOLLOWUP_OPENED = "followup_opened", "Follow-up opened"
    FOLLOWUP_RESOLVED = "followup_resolved", "Follow-up resolved"


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
    # Opens /metrics only, not the API: for a Prometheus server.
    METRICS = "metrics", "Metrics only (for monitoring)"


# What a token of each scope may do.
SCOPE_GRANTS = {
    TokenScope.READ: {TokenScope.READ},
    TokenScope.WRITE: {TokenScope.READ, TokenScope.WRITE},
    TokenScope.METRICS: {TokenScope.METRICS},
}


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
        return scope in SCOPE_GRANTS.get(self.scope, set())

    def used_recently(self, now: datetime, *, seconds: int) -> bool:
        return self.last_used_at is not None and (now - self.last_used_at).total_seconds() < seconds


class CsvImportStatus(models.TextChoices):
    MAPPING = "mapping", "Waiting for its column mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class CsvImport(models.Model):
    """A CSV file of customers an Admin uploaded, its column mapping, and how its import went.

    The file itself waits in `CsvImportFile` (in the database, so any queue worker on any machine
    can read it) and is deleted once the import has run.
    """

    file_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    delimiter = models.CharField(max_length=1)
    headers = models.JSONField(default=list)
    # The first data rows (cells cut short), shown beside the headers while mapping.
    preview = models.JSONField(default=list, blank=True)
    # Per column, the source field it fills: "external_id", "email", another field name, or ""
    # to skip it.
    columns = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=20, choices=CsvImportStatus.choices, default=CsvImportStatus.MAPPING
    )
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    done_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    changed_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True, help_text="Why the import as a whole stopped.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Moved on by every chunk imported: an import running without progress has lost its worker.
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "CSV import"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display().lower()})"

    @property
    def is_finished(self) -> bool:
        return self.status in {CsvImportStatus.DONE, CsvImportStatus.FAILED}

    @property
    def percent_done(self) -> int:
        if self.status == CsvImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.done_rows * 100 // self.total_rows)


class CsvImportFile(models.Model):
    csv_import = models.OneToOneField(
        CsvImport, primary_key=True, on_delete=models.CASCADE, related_name="file"
    )
    content = models.BinaryField()

    def __str__(self) -> str:
        return f"file of {self.csv_import}"


class CsvImportRowError(models.Model):
    """One problem with one row of an imported file, for the person who has to fix the file."""

    csv_import = models.ForeignKey(CsvImport, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(help_text="As a spreadsheet numbers it: the header is row 1.")
    column = models.CharField(max_length=255, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["csv_import", "row"])]

    def __str__(self) -> str:
        return f"row {self.row}, {self.column or 'whole row'}: {self.message}"
