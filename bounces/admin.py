from django.contrib import admin

from bounces.models import Bounce, FollowUp, FollowUpStep, NotificationPreference
from spotlersync.admin_readonly import ReadOnlyAdmin, ReadOnlyInline


@admin.register(Bounce)
class BounceAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "ledger_state",
        "external_id",
        "email",
        "bounced_at",
        "mailing_id",
        "followup",
        "run",
    ]
    list_filter = ["kind", "ledger_state"]
    search_fields = ["external_id", "email", "mailing_id", "=external_id_hash"]
    date_hierarchy = "bounced_at"
    raw_id_fields = ["contact", "run", "followup"]


class FollowUpStepInline(ReadOnlyInline):
    model = FollowUpStep
    raw_id_fields = ["by"]


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    """Worked in the bounce inbox, which writes each step and tells the linked system (the
    changes feed); an edit here would do neither."""

    list_display = [
        "id",
        "contact",
        "email",
        "kind",
        "state",
        "owner",
        "owner_unmatched",
        "opened_at",
        "due_at",
        "resolution",
    ]
    list_filter = ["state", "kind", "resolution", "owner_unmatched"]
    search_fields = ["email", "contact__external_id", "owner__username", "owner_source"]
    date_hierarchy = "opened_at"
    raw_id_fields = ["contact", "owner", "started_by", "resolved_by"]
    inlines = [FollowUpStepInline]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "choice", "digest_sent_at"]
    list_filter = ["choice"]
    raw_id_fields = ["user"]
