"""`manage.py demo_subscribe_form`: the demo's newsletter form, switched on and asking a first
name, so a newcomer to `make run` finds a working subscribe form at /subscribe/newsletter/."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from public.models import SubscribeForm

DEMO_FIELDS = [{"property": "firstName", "label": "First name", "required": False}]
# The demo's own server: its pages may frame the form and post to its JSON endpoint.
DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]


class Command(BaseCommand):
    help = "Switch the newsletter form on with a first-name field (the demo, DEBUG only)."

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("The demo form is only set up with DEBUG on.")
        form, _ = SubscribeForm.objects.get_or_create(slug="newsletter")
        if not form.extra_fields:
            form.extra_fields = DEMO_FIELDS
        form.permission_bits = form.permission_bits or [1]
        form.allowed_origins = form.allowed_origins or DEMO_ORIGINS
        form.enabled = True
        form.save()
        self.stdout.write("Demo subscribe form: /subscribe/newsletter/ (switched on)")
