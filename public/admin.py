from django.contrib import admin

from public.models import LookupPage, SubscribeForm, Subscription
from spotlersync.admin_readonly import ReadOnlyAdmin

admin.site.register(SubscribeForm)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    """What visitors sent, kept until Spotler has it; the sender queue works it, not a person."""

    list_display = ["id", "form", "email", "state", "attempts", "created_at", "sent_at"]
    list_filter = ["state", "form"]
    search_fields = ["email"]


admin.site.register(LookupPage)
