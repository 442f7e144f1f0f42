from django.contrib import admin

from bounces.models import Bounce


@admin.register(Bounce)
class BounceAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "external_id", "email", "bounced_at", "mailing_id", "run"]
    list_filter = ["kind"]
    search_fields = ["external_id", "email", "mailing_id"]
    date_hierarchy = "bounced_at"
    raw_id_fields = ["contact", "run"]
