from django.contrib import admin

from lists.models import TempList


@admin.register(TempList)
class TempListAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "spotler_id", "state", "checkpoint", "created_by", "created_at",
                    "expires_at"]  # fmt: skip
    list_filter = ["state", "created_via"]
    search_fields = ["name", "spotler_id"]
    raw_id_fields = ["created_by"]
    exclude = ["contact_ids"]
