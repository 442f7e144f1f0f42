"""The Django admin's read-only pages, for the tables the application keeps for itself.

The ledger, the outbox, runs, rate slots, throttles, bounces, temporary lists and the like
change only through their domain functions, which keep Spotler, the changes feed and the
budgets in step; an Add, Change or Delete in the admin would do none of that (a deleted
outbox entry never reaches Spotler, a deleted rate slot lets two workers call at once).
"""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and detail pages to look at; no Add, no Change, no Delete (nor its bulk action)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
