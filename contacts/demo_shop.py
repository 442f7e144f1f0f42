"""A demo webshop that talks to spotlersync the way a real one would: through the ingest API.

It makes a few thousand customers (several languages, account managers and consent mixes)
with orders, and in live mode keeps editing customers and placing orders at a steady pace.
The same seed gives the same shop, so loading it twice changes nothing.
"""

import random
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests

LANGUAGES = {
    "nl_NL": (["Anna", "Daan", "Sanne", "Lucas", "Emma", "Bram", "Fleur", "Sem"],
              ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer"],
              ["Amsterdam", "Utrecht", "Rotterdam", "Groningen", "Eindhoven"]),
    "de_DE": (["Lena", "Jonas", "Mia", "Felix", "Hannah", "Lukas"],
              ["Müller", "Schmidt", "Schneider", "Fischer", "Weber"],
              ["Berlin", "Köln", "Hamburg", "München"]),
    "en_GB": (["Olivia", "Jack", "Amelia", "Harry", "Isla", "George"],
              ["Smith", "Jones", "Taylor", "Brown", "Williams"],
              ["London", "Leeds", "Bristol", "Manchester"]),
    "fr_BE": (["Chloé", "Louis", "Léa", "Hugo", "Zoë", "Noah"],
              ["Dubois", "Lambert", "Peeters", "Dupont", "Martin"],
              ["Bruxelles", "Liège", "Namur", "Gent"]),
}  # fmt: skip
LANGUAGE_WEIGHTS = [0.55, 0.2, 0.15, 0.1]
ACCOUNT_MANAGERS = ["Sanne Bakker", "Tom de Wit", "Lisa Müller", "Youssef El Amrani", ""]
# Consent mixes as a shop sees them: most say yes to the newsletter, fewer to promotions.
CONSENT_MIXES = [((True, True), 0.35), ((True, False), 0.35), ((False, False), 0.25),
                 ((False, True), 0.05)]  # fmt: skip
BATCH = 500
HISTORY_ENDS = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@dataclass
class Shop:
    """The demo shop's own records, and its connection to spotlersync's ingest API."""

    api_url: str
    token: str
    seed: int = 7
    # The Spotler sandbox's control surface: when given, live mode also plays the recipients,
    # who now and then unsubscribe or edit their profile in Spotler, or whose mail bounces.
    sandbox_url: str | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311  (demo data, not secrets)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        self.customers: dict[str, dict] = {}
        self.order_count = 0

    def load(self, *, customers: int, report: Callable[[str], None]) -> None:
        """Create the customers (in batches) and their order history."""
        records = [self._new_customer(n) for n in range(1, customers + 1)]
        for start in range(0, len(records), BATCH):
            self._send_batch(records[start : start + BATCH])
            report(f"customers {min(start + BATCH, len(records)):,}/{len(records):,}")
        orders = list(self._order_history())
        for i, order in enumerate(orders, 1):
            self._send_order(order)
            if i % 1000 == 0 or i == len(orders):
                report(f"orders {i:,}/{len(orders):,}")

    def run_live(self, *, per_second: float, report: Callable[[str], None]) -> Iterator[str]:
        """Edit customers and place orders at a steady pace, forever (Ctrl-C stops it)."""
        interval = 1 / per_second
        while True:
            started = time.monotonic()
            actions = [self._edit_customer, self._place_order, self._sign_up]
            weights = [6, 3, 1]
            if self.sandbox_url:
                actions.append(self._recipient_acts_in_spotler)
                weights.append(1)
            action = self.rng.choices(actions, weights=weights)[0]
            try:
                yield action()
            except requests.RequestException as error:
                report(f"spotlersync did not answer ({error.__class__.__name__}); retrying")
                time.sleep(2)
            time.sleep(max(0.0, interval - (time.monotonic() - started)))

    def _new_customer(self, n: int) -> dict:
        rng = self.rng
        language = rng.choices(list(LANGUAGES), weights=LANGUAGE_WEIGHTS)[0]
        first_names, last_names, cities = LANGUAGES[language]
        first, last = rng.choice(first_names), rng.choice(last_names)
        newsletter, promotions = rng.choices(
            [mix for mix, _ in CONSENT_MIXES], weights=[w for _, w in CONSENT_MIXES]
        )[0]
        external_id = f"C{n:06d}"
        record = {
            "external_id": external_id,
            "email": f"{_ascii(first)}.{_ascii(last)}.{n}@example.com",
            "first_name": first,
            "last_name": last,
            "language": language,
            "city": rng.choice(cities),
            "gender": rng.choice(["m", "f"]),
            "birthday": f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}",
            "account_manager": rng.choice(ACCOUNT_MANAGERS),
            "newsletter": newsletter,
            "promotions": promotions,
        }
        self.customers[external_id] = record
        return record

    def _order_history(self) -> Iterator[dict]:
        # A fixed anchor, not "now": loading the shop again sends the very same orders, which
        # the ledger recognises as replays (an order id with another date would be refused).
        for external_id in self.customers:
            for _ in range(self.rng.choices([0, 1, 2, 3, 5], weights=[3, 4, 3, 2, 1])[0]):
                when = HISTORY_ENDS - timedelta(minutes=self.rng.randint(60, 2 * 365 * 24 * 60))
                yield self._order(external_id, when)

    def _order(self, external_id: str, when: datetime) -> dict:
        self.order_count += 1
        value = Decimal(self.rng.randint(995, 24999)) / 100
        return {
            "external_id": f"O-{external_id}-{self.order_count}",
            "contact_external_id": external_id,
            "date": when.isoformat(),
            "value": str(value),
        }

    def _edit_customer(self) -> str:
        external_id = self.rng.choice(list(self.customers))
        record = self.customers[external_id]
        change = self.rng.choice(["newsletter", "promotions", "city", "last_name"])
        if change in ("newsletter", "promotions"):
            record[change] = not record[change]
        elif change == "city":
            record["city"] = self.rng.choice(LANGUAGES[record["language"]][2])
        else:
            record["last_name"] = self.rng.choice(LANGUAGES[record["language"]][1])
        self._put(record)
        return f"edited {external_id}: {change} → {record[change]}"

    def _place_order(self) -> str:
        external_id = self.rng.choice(list(self.customers))
        order = self._order(external_id, datetime.now(UTC).replace(microsecond=0))
        self._send_order(order)
        return f"order {order['external_id']} by {external_id} for €{order['value']}"

    def _sign_up(self) -> str:
        record = self._new_customer(len(self.customers) + 1)
        self._put(record)
        return f"new customer {record['external_id']} ({record['language']})"

    def _recipient_acts_in_spotler(self) -> str:
        external_id = self.rng.choice(list(self.customers))
        roll = self.rng.random()
        if roll < 0.4:
            path, body, what = "unsubscribe", {"bit": 1}, "unsubscribed from the newsletter"
        elif roll < 0.6:
            kind = self.rng.choice(["HARDBOUNCE", "SOFTBOUNCE"])
            path, body, what = "bounce", {"type": kind}, f"a mail to them bounced ({kind.lower()})"
        else:
            city = self.rng.choice(LANGUAGES[self.customers[external_id]["language"]][2])
            path, body, what = "edit", {"properties": {"city": city}}, f"moved to {city}"
        url = f"{self.sandbox_url.rstrip('/')}/_sandbox/contacts/{external_id}/{path}"
        response = requests.post(url, json=body, timeout=10)
        if response.status_code == 404:
            return f"in Spotler: {external_id} is not there yet"
        _check(response)
        return f"in Spotler: {external_id} {what}"

    def _put(self, record: dict) -> None:
        fields = {k: v for k, v in record.items() if k != "external_id"}
        url = f"{self.api_url}/contacts/{record['external_id']}"
        _check(self.session.put(url, json=fields, timeout=10))

    def _send_batch(self, records: list[dict]) -> None:
        url = f"{self.api_url}/contacts/batch"
        response = self.session.post(url, json={"contacts": records}, timeout=60)
        _check(response)
        results = response.json().get("results", [])
        refused = [r for r in results if r.get("status") != "accepted"]
        if refused:
            raise DemoShopError(f"spotlersync refused {len(refused)} demo customers: {refused[0]}")

    def _send_order(self, order: dict) -> None:
        _check(self.session.post(f"{self.api_url}/orders", json=order, timeout=10))


class DemoShopError(Exception):
    pass


def _check(response: requests.Response) -> None:
    if response.status_code >= 400:
        raise DemoShopError(
            f"spotlersync answered {response.status_code} to {response.request.method} "
            f"{response.url}: {response.text[:300]}"
        )


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())
