import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity import connection
from identity.models import DedupeMode, SpotlerAccount


class Command(BaseCommand):
    help = (
        "The demo's Spotler account deduplicates on e-mail, in the sandbox and on the "
        "connection page, so the demo shop's shared addresses show the push guard at work "
        "(DEBUG on only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sandbox", required=True, help="the Spotler sandbox's address")

    def handle(self, *args, sandbox: str, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("The demo account is only set up with DEBUG on.")
        url = f"{sandbox.rstrip('/')}/_sandbox/settings"
        try:
            answer = requests.post(url, json={"dedupe": DedupeMode.EMAIL.value}, timeout=10)
            answer.raise_for_status()
        except requests.RequestException as error:
            raise CommandError(
                f"The sandbox at {sandbox} did not take the setting: {error}"
            ) from error
        account = SpotlerAccount.current()
        connection.save_account(
            by="make run (demo)", dedupe_mode=DedupeMode.EMAIL,
            external_id_field=account.external_id_field,
            shared_with_other_systems=account.shared_with_other_systems,
        )  # fmt: skip
        self.stdout.write("Demo Spotler account: deduplicates on e-mail (sandbox and dashboard).")
