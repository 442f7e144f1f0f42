from django.contrib import admin

from public.models import LookupPage, SubscribeForm, Subscription
from spotlersync.admin_readonly import ReadOnlyAdmin


@admin.register(SubscribeForm)
class SubscribeFormAdmin(ReadOnlyAdmin):
    """Read only here: the dashboard's Subscribe forms pages check every field (permission
    bits, allowed origins, the catalogue's properties) before a form goes public."""

    list_display = ["slug", "title", "enabled", "updated_at"]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    """What visitors sent, kept until Spotler has it; the sender queue works it, not a person."""

    list_display = ["id", "form", "email", "state", "attempts", "created_at", "sent_at"]
    list_filter = ["state", "form"]
    search_fields = ["email"]


@admin.register(LookupPage)
class LookupPageAdmin(ReadOnlyAdmin):
    """Read only here: the dashboard's Lookup pages check every field before a page goes
    public."""

    list_display = ["slug", "title", "search_property", "enabled", "updated_at"]
