from django.contrib import admin

from bounces.models import Bounce, FollowUp, FollowUpStep, NotificationPreference


@admin.register(Bounce)
class BounceAdmin(admin.ModelAdmin):
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


class FollowUpStepInline(admin.TabularInline):
    model = FollowUpStep
    extra = 0
    raw_id_fields = ["by"]


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
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
