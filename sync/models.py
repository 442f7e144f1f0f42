"""The outbox: what the ledger still owes Spotler. The push engine drains it."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class OutboxKind(models.TextChoices):
    UPSERT = "upsert", "Upsert"
    ANONYMIZE = "anonymize", "Anonymize"
    INACTIVATE = "inactivate", "Inactivate"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # Taken by a push worker; back to pending if its lease runs out (the worker died).
    IN_FLIGHT = "in_flight", "In flight"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    DISMISSED = "dismissed", "Dismissed"
    # A later entry made this one pointless (e.g. an upsert queued before the contact was
    # erased must never push its personal data).
    SUPERSEDED = "superseded", "Superseded"
    # Waiting for an Admin's review of an e-mail address shared with another contact.
    HELD = "held", "Held for review"


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
    # When Spotler accepted the change (set by the push that settled it; `updated_at` is not,
    # as the settling is a QuerySet.update): the health page's push lag runs from created_at.
    accepted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True, db_index=True)
    # After a transient failure: not tried again before this moment.
    not_before = models.DateTimeField(null=True, blank=True)

    objects = OutboxEntryQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = "outbox entry"
        verbose_name_plural = "outbox entries"
        indexes = [models.Index(fields=["status", "id"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class ScheduledJobResult(models.Model):
    """A scheduled job's latest success and failure, written by its django-q2 result hook.

    django-q2 keeps only its newest successful tasks, all jobs together, so a daily job's last
    success would soon be pruned from its own tables; this row keeps it.
    """

    name = models.CharField(max_length=100, unique=True)  # the schedule's name
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name


class SyncRunKind(models.TextChoices):
    PUSH = "push", "Push"
    BACKFILL = "backfill", "Backfill"
    PULL_UPDATES = "pull_updates", "Pull updates"
    PULL_BOUNCES = "pull_bounces", "Pull bounces"
    REFRESH_PROPERTIES = "refresh_properties", "Refresh properties"
    RECONCILE = "reconcile", "Reconciliation"


class SyncRunTrigger(models.TextChoices):
    LIVE = "live", "Live change"
    SCHEDULE = "schedule", "Schedule"
    DASHBOARD = "dashboard", "Dashboard"
    COMMAND = "command", "Command line"


class SyncRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# A run's name by its kind (a backfill is named by what it sends, see SyncRun.label).
RUN_NAMES = {
    SyncRunKind.PUSH: "Push",
    SyncRunKind.PULL_UPDATES: "Pull of updated contacts",
    SyncRunKind.PULL_BOUNCES: "Pull of bounces",
    SyncRunKind.REFRESH_PROPERTIES: "Property refresh",
    SyncRunKind.RECONCILE: "Reconciliation",
}


class SyncRunQuerySet(models.QuerySet):
    def unfinished(self) -> "SyncRunQuerySet":
        return self.filter(status__in=[SyncRunStatus.QUEUED, SyncRunStatus.RUNNING])


class SyncRun(models.Model):
    """One push batch, pull or manual sync: who started it, over what, and how it went."""

    kind = models.CharField(max_length=30, choices=SyncRunKind.choices)
    trigger = models.CharField(max_length=20, choices=SyncRunTrigger.choices)
    status = models.CharField(
        max_length=20, choices=SyncRunStatus.choices, default=SyncRunStatus.QUEUED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Pull windows, and "changed since" for a filtered resync.
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    # A filtered resync's filters: {"failed_only": true, "language": "nl_NL", "ids": [...]}
    filters = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # Where a crashed or cancelled run resumes: {"after_id": 1234} or {"after": cursor}
    checkpoint = models.JSONField(default=dict, blank=True)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["kind", "status", "-created_at"]),
            models.Index(fields=["status", "-finished_at"]),
            # The runs page lists manual runs among many live-push batches.
            models.Index(fields=["trigger", "-id"]),
            # ... and adds up the live pushes and scheduled runs of each hour.
            models.Index(fields=["trigger", "created_at"], name="syncrun_trigger_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def label(self) -> str:
        """What the run is, named by what its user started (the Syncs page's start forms), or
        by what started it: "Filtered resync", "Live push", "Scheduled pull of updates"."""
        if self.kind == SyncRunKind.BACKFILL:
            return self._backfill_label()
        what = RUN_NAMES.get(self.kind, self.get_kind_display())
        if self.trigger == SyncRunTrigger.LIVE:
            return f"Live {what.lower()}"
        if self.trigger == SyncRunTrigger.SCHEDULE:
            return f"Scheduled {what.lower()}"
        return what

    def _backfill_label(self) -> str:
        filters = self.filters or {}
        if filters.get("mapping_version"):
            return "Mapping push"
        if (
            len(filters.get("ids") or []) == 1
            and filters.keys() == {"ids"}
            and not self.window_start
        ):
            return "One-contact resync"
        if filters or self.window_start:
            return "Filtered resync"
        return "Full backfill"

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at


class RateSlot(models.Model):
    """One reserved moment to call Spotler; the primary key makes each slot go to one worker.

    Slot n starts at n / SPOTLER_RATE_LIMIT seconds after the epoch, so the reservations of
    every worker on every machine together never exceed the limit.
    """

    slot = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"slot {self.slot}"


class Throttle(models.Model):
    """Set when Spotler answers 429: every worker waits until `until` (a single row)."""

    until = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Counters since the row was made, for /metrics: the 429s that slowed every worker down, and
    # the seconds they added to the wait (overlapping throttles counted once).
    times = models.PositiveBigIntegerField(default=0)
    seconds_total = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"throttled until {self.until:%H:%M:%S}"


class SyncEventKind(models.TextChoices):
    PUSH = "push", "Pushed"
    ANONYMIZE = "anonymize", "Anonymized"
    INACTIVATE = "inactivate", "Made inactive"
    PULL = "pull", "Pulled"
    DISMISS = "dismiss", "Failure dismissed"


class SyncEvent(models.Model):
    """One call that touched one contact: the contact page's timeline."""

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="sync_events"
    )
    run = models.ForeignKey(SyncRun, null=True, on_delete=models.SET_NULL, related_name="events")
    kind = models.CharField(max_length=20, choices=SyncEventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    # What was sent (the Spotler JSON) or received; never more than the mapping sends.
    payload = models.JSONField(default=dict, blank=True)
    # Spotler's answer in its own words, or what we held back (the consent rule) and why.
    answer = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-at"]),
            # The health page's counts per hour and of the last hour, from the index alone.
            models.Index(fields=["at", "kind", "ok"], name="syncevent_at_kind_ok_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {'ok' if self.ok else 'failed'} at {self.at:%Y-%m-%d %H:%M:%S}"


class SpotlerConsent(models.Model):
    """A permission as Spotler last reported it (written by the pull of updated contacts)."""

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="spotler_consents"
    )
    bit = models.PositiveIntegerField()
    enabled = models.BooleanField()
    changed_at = models.DateTimeField(help_text="Spotler's lastChanged when it was seen so.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "bit"], name="one_consent_per_bit")
        ]

    def __str__(self) -> str:
        return f"bit {self.bit} {'on' if self.enabled else 'off'}"


class SpotlerState(models.Model):
    """What Spotler last reported about a contact (by the pull); the shop's own fields stay as
    the shop sent them, in `Contact.fields`."""

    contact = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, related_name="spotler_state"
    )
    last_changed = models.DateTimeField(
        help_text="Spotler's lastChanged of the last applied update."
    )
    properties = models.JSONField(default=dict, blank=True)
    permissions = models.JSONField(default=dict, blank=True)  # {"1": true, ...}
    pulled_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Spotler state of contact {self.contact_id}"


class UnknownContact(models.Model):
    """An externalId Spotler reported that the ledger does not know (kept to be looked into)."""

    external_id = models.CharField(max_length=200, unique=True)
    source = models.CharField(max_length=30, choices=SyncRunKind.choices)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    times_seen = models.PositiveIntegerField(default=1)
    # Spotler's permissions for it, as last reported, and when: if the shop later sends this
    # contact, its first push must not switch on what the recipient switched off in Spotler.
    permissions = models.JSONField(default=dict, blank=True)  # {"1": false, ...}
    last_changed = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.external_id


class PullWatermark(models.Model):
    """Up to when a scheduled pull has read Spotler; the next one starts a little before."""

    kind = models.CharField(max_length=30, choices=SyncRunKind.choices, unique=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} until {self.until:%Y-%m-%d %H:%M}"


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    DONE = "done", "Done"


class BackfillChunk(models.Model):
    """A slice of a backfill's contacts: the unit its workers claim, and its checkpoint.

    The contacts are fixed when the run starts, so a resumed run sends exactly what is left;
    a chunk in flight whose worker stopped reporting is taken again by another worker.
    """

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    contact_ids = models.JSONField(default=list)
    status = models.CharField(
        max_length=20, choices=ChunkStatus.choices, default=ChunkStatus.PENDING
    )
    claim = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="one_chunk_number_per_run")
        ]
        indexes = [models.Index(fields=["run", "status", "number"])]

    def __str__(self) -> str:
        return f"chunk {self.number} of run {self.run_id} ({self.status})"
