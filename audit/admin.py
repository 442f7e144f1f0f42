from django.contrib import admin

from audit.models import AuditEntry
from spotlersync.admin_readonly import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Read only: the trail is written by the code that makes each change, never by hand."""

    list_display = ("at", "actor_label", "action", "object_type", "object_label", "ip")
    list_filter = ("object_type", "action")
    search_fields = ("actor_label", "object_label", "object_id")
    date_hierarchy = "at"
