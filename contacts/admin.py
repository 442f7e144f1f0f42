from django.contrib import admin

from contacts.models import ApiToken, Change, Contact, CsvImport, CsvImportRowError, Order
from contacts.tokens import forget_cached_token
from spotlersync.admin_readonly import ReadOnlyAdmin


class OrderInline(admin.TabularInline):
    model = Order
    extra = 0
    fields = ["external_id", "ordered_at", "value"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "email",
        "language",
        "account_manager",
        "sync_status",
        "changed_at",
        "synced_at",
    ]
    list_filter = ["sync_status", "language"]
    search_fields = ["external_id", "email", "account_manager"]
    readonly_fields = ["external_id_hash", "fields_hash", "field_changed_at", "created_at"]
    date_hierarchy = "changed_at"
    inlines = [OrderInline]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "contact", "ordered_at", "value"]
    search_fields = ["external_id", "contact__external_id"]
    raw_id_fields = ["contact"]
    date_hierarchy = "ordered_at"


@admin.register(Change)
class ChangeAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "external_id", "created_at"]
    list_filter = ["kind"]
    search_fields = ["external_id"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "scope",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["scope"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "token_hash", "created_by", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        # A token is shown once, when created; the API tokens page does that, the admin cannot.
        return False

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        forget_cached_token(token=obj)


@admin.register(CsvImport)
class CsvImportAdmin(ReadOnlyAdmin):
    """Imports run from the Import page; here they can be looked at (and their rows' errors)."""

    list_display = [
        "file_name",
        "status",
        "total_rows",
        "created_count",
        "changed_count",
        "unchanged_count",
        "failed_count",
        "created_by",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["file_name"]
    exclude = ["preview"]


@admin.register(CsvImportRowError)
class CsvImportRowErrorAdmin(ReadOnlyAdmin):
    list_display = ["csv_import", "row", "column", "message"]
    list_select_related = ["csv_import"]
    raw_id_fields = ["csv_import"]
