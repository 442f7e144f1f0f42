from django.contrib import admin

from lists.models import TempList
from spotlersync.admin_readonly import ReadOnlyAdmin


@admin.register(TempList)
class TempListAdmin(ReadOnlyAdmin):
    """Made and removed on the Lists page (or the API), which keeps Spotler and the budget of
    30 in step; a row deleted here would leave its list in Spotler, uncounted."""

    list_display = ["id", "name", "spotler_id", "state", "checkpoint", "created_by", "created_at",
                    "expires_at"]  # fmt: skip
    list_filter = ["state", "created_via"]
    search_fields = ["name", "spotler_id"]
    raw_id_fields = ["created_by"]
    exclude = ["contact_ids"]
