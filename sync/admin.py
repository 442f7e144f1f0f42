from django.contrib import admin

from spotlersync.admin_readonly import ReadOnlyAdmin
from sync.models import (
    BackfillChunk,
    OutboxEntry,
    PullWatermark,
    RateSlot,
    ScheduledJobResult,
    SpotlerConsent,
    SpotlerState,
    SyncEvent,
    SyncRun,
    Throttle,
    UnknownContact,
)


@admin.register(OutboxEntry)
class OutboxEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "contact", "external_id", "status", "attempts", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["external_id", "contact__external_id"]
    raw_id_fields = ["contact"]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "trigger", "status", "done", "sent", "failed", "skipped",
                    "created_at", "finished_at"]  # fmt: skip
    list_filter = ["kind", "status", "trigger"]
    raw_id_fields = ["requested_by"]


@admin.register(SyncEvent)
class SyncEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "contact", "ok", "at"]
    list_filter = ["kind", "ok"]
    search_fields = ["contact__external_id"]
    raw_id_fields = ["contact", "run"]


@admin.register(SpotlerConsent)
class SpotlerConsentAdmin(ReadOnlyAdmin):
    list_display = ["contact", "bit", "enabled", "changed_at"]
    list_filter = ["bit", "enabled"]
    raw_id_fields = ["contact"]


@admin.register(SpotlerState)
class SpotlerStateAdmin(ReadOnlyAdmin):
    list_display = ["contact", "last_changed", "pulled_at"]
    raw_id_fields = ["contact"]


@admin.register(UnknownContact)
class UnknownContactAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "source", "times_seen", "first_seen_at", "last_seen_at"]
    search_fields = ["external_id"]


@admin.register(PullWatermark)
class PullWatermarkAdmin(ReadOnlyAdmin):
    list_display = ["kind", "until"]


@admin.register(Throttle)
class ThrottleAdmin(ReadOnlyAdmin):
    list_display = ["until", "reason", "updated_at"]


@admin.register(RateSlot)
class RateSlotAdmin(ReadOnlyAdmin):
    list_display = ["slot"]


@admin.register(ScheduledJobResult)
class ScheduledJobResultAdmin(ReadOnlyAdmin):
    list_display = ["name", "last_success_at", "last_failure_at"]


@admin.register(BackfillChunk)
class BackfillChunkAdmin(ReadOnlyAdmin):
    list_display = ["run", "number", "status", "attempts", "claimed_at"]
    list_filter = ["status"]
    raw_id_fields = ["run"]
    exclude = ["contact_ids"]
