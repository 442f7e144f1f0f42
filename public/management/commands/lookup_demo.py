import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from public.models import LookupPage

# Contacts made in the demo's Spotler itself (as by a file import: no external id), each with a
# personal discount code a newcomer can try on /lookup/offer/ (listed in the README).
DEMO_CODES = [
    {"email": "sophie.bakker@example.org", "firstName": "Sophie", "city": "Groningen",
     "loyaltyPoints": 120, "discountCode": "WELKOM-7Q2F"},
    {"email": "lars.visser@example.nl", "firstName": "Lars", "city": "Eindhoven",
     "loyaltyPoints": 1890, "discountCode": "VIP-3K9D"},
]  # fmt: skip


class Command(BaseCommand):
    help = (
        "The demo's lookup page /lookup/offer/ (a personal discount code), and with --sandbox "
        "contacts holding codes in the Spotler sandbox (DEBUG on only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sandbox", help="the Spotler sandbox's address")

    def handle(self, *args, sandbox: str | None, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("The demo lookup page is only made with DEBUG on.")
        LookupPage.objects.update_or_create(
            slug="offer",
            defaults={
                "title": "Your personal offer",
                "search_property": "discountCode",
                "input_label": "Your discount code",
                "shown_properties": [
                    {"property": "firstName", "label": "First name", "prefill": True},
                    {"property": "city", "label": "City", "prefill": True},
                    {"property": "loyaltyPoints", "label": "Loyalty points", "prefill": False},
                ],
                "found_text": "Welcome back! Your discount is ready; check your details below.",
                "not_found_text": "Sorry, this code is not valid.",
                "enabled": True,
            },
        )
        self.stdout.write("Demo lookup page: /lookup/offer/")
        if sandbox:
            self._put_codes(sandbox.rstrip("/"))

    def _put_codes(self, sandbox: str) -> None:
        try:
            held = requests.get(f"{sandbox}/_sandbox/contacts", timeout=10).json()["contacts"]
            codes = {c.get("properties", {}).get("discountCode") for c in held}
            for properties in DEMO_CODES:
                if properties["discountCode"] not in codes:
                    body = {"externalId": None, "properties": properties}
                    requests.post(f"{sandbox}/_sandbox/contacts", json=body, timeout=10)
        except (requests.RequestException, ValueError, KeyError) as error:
            raise CommandError(
                f"The sandbox at {sandbox} did not take the codes: {error}"
            ) from None
        listed = ", ".join(p["discountCode"] for p in DEMO_CODES)
        self.stdout.write(f"Discount codes to try there: {listed}")
