import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.demo_shop import DemoShopError, Shop
from contacts.models import ApiToken, TokenScope
from contacts.tokens import create_api_token, revoke_api_token

DEMO_TOKEN_NAME = "Demo shop"  # noqa: S105  (a name, not a secret)


class Command(BaseCommand):
    help = (
        "Loads a demo webshop's customers and orders through the ingest API; with --live it "
        "keeps editing customers and placing orders, as a shop would."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="spotlersync's address")
        parser.add_argument("--customers", type=int, default=3000)
        parser.add_argument("--live", action="store_true", help="keep changing things")
        parser.add_argument("--rate", type=float, default=2.0, help="live changes per second")
        parser.add_argument(
            "--token", help="a write token; by default one is created (only with DEBUG on)"
        )
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--sandbox",
            help="the Spotler sandbox's address: live mode then also plays recipients there",
        )

    def handle(self, *args, url: str, customers: int, live: bool, rate: float, token: str | None,
               seed: int, sandbox: str | None, **options) -> None:  # fmt: skip
        if token is None:
            if not settings.DEBUG:
                raise CommandError("Pass --token: the demo creates its own only with DEBUG on.")
            # One live demo token at a time: each run retires the one before.
            for old in ApiToken.objects.filter(name=DEMO_TOKEN_NAME, revoked_at__isnull=True):
                revoke_api_token(token=old, actor="manage.py demo_shop")
            token = create_api_token(
                name=DEMO_TOKEN_NAME, scope=TokenScope.WRITE, actor="manage.py demo_shop"
            ).secret
        shop = Shop(
            api_url=f"{url.rstrip('/')}/api/v1", token=token, seed=seed, sandbox_url=sandbox
        )
        self._wait_for(url)
        try:
            # Live with a sandbox: a newcomer who logs in as the demo account manager finds
            # follow-ups within minutes (the next bounce pull after the customers are in).
            seed = (lambda: self._seed(shop)) if live and sandbox else None
            shop.load(customers=customers, report=self._say, then=seed)
            if live:
                self._say(f"live: about {rate:g} changes per second; Ctrl-C stops")
                for line in shop.run_live(per_second=rate, report=self._say):
                    self._say(line)
        except DemoShopError as error:
            raise CommandError(str(error)) from None
        except KeyboardInterrupt:
            self._say("stopped")

    def _seed(self, shop: Shop) -> None:
        shop.seed_bounces(report=self._say)
        try:
            shop.seed_lists(report=self._say)
        except (DemoShopError, requests.RequestException) as error:
            self._say(f"no demo temporary lists: {error}")

    def _wait_for(self, url: str) -> None:
        for _ in range(60):
            try:
                requests.get(f"{url.rstrip('/')}/login/", timeout=2)
                return
            except requests.RequestException:
                time.sleep(1)
        raise CommandError(f"spotlersync does not answer at {url}")

    def _say(self, line: str) -> None:
        self.stdout.write(f"[demo shop] {line}")
