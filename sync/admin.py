from django.contrib import admin

from sync.models import OutboxEntry


@admin.register(OutboxEntry)
class OutboxEntryAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "contact", "external_id", "status", "attempts", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["external_id", "contact__external_id"]
    raw_id_fields = ["contact"]
