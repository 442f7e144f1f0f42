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
# The account manager `make run`'s demo login `accountmanager` is (create_demo_users): the demo
# makes sure she has follow-ups to work on within minutes (`seed_bounces`, and live bounces lean
# towards her customers). The others have no login; an Admin sees their follow-ups "to assign".
DEMO_ACCOUNT_MANAGER = ACCOUNT_MANAGERS[0]
# Hard bounces put in the sandbox when the shop starts: this many of her customers, one other.
SEEDED_BOUNCES = 4
# The demo's temporary lists: one of ours, made through the API, and another system's two.
DEMO_LIST_NAME = "Demo: German customers for the spring event"
DEMO_LIST_SIZE = 150
DEMO_OTHER_LISTS = 2
# Consent mixes as a shop sees them: most say yes to the newsletter, fewer to promotions.
CONSENT_MIXES = [((True, True), 0.35), ((True, False), 0.35), ((False, False), 0.25),
                 ((False, True), 0.05)]  # fmt: skip
BATCH = 500
# Shared addresses, as every shop has: every HOUSEHOLD_EVERY-th customer shares the previous
# one's address (a partner at one household address), and every SAME_PERSON_EVERY-th is the
# previous customer again under a second customer number (the address in other capitals). The
# duplicates report shows both; under e-mail deduplication the push guard holds the second.
HOUSEHOLD_EVERY = 400
SAME_PERSON_EVERY = 1000
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

    def load(
        self,
        *,
        customers: int,
        report: Callable[[str], None],
        then: Callable[[], object] | None = None,
    ) -> None:
        """Create the customers (in batches), call `then` (the demo's first bounces: they need
        not wait for the order history), and send their order history."""
        records = [self._new_customer(n) for n in range(1, customers + 1)]
        for start in range(0, len(records), BATCH):
            self._send_batch(records[start : start + BATCH])
            report(f"customers {min(start + BATCH, len(records)):,}/{len(records):,}")
        if then is not None:
            then()
        orders = list(self._order_history())
        for i, order in enumerate(orders, 1):
            self._send_order(order)
            if i % 1000 == 0 or i == len(orders):
                report(f"orders {i:,}/{len(orders):,}")

    def seed_bounces(self, *, report: Callable[[str], None], wait_seconds: float = 180) -> int:
        """Hard bounces in the sandbox for a few of the demo account manager's customers (and
        one other's), as soon as the push has brought them there: the next bounce pull turns
        them into follow-ups for her. Returns how many bounced."""
        mine = [
            e for e, r in self.customers.items() if r["account_manager"] == DEMO_ACCOUNT_MANAGER
        ]
        others = [e for e in self.customers if e not in set(mine)]
        chosen = self.rng.sample(mine, min(SEEDED_BOUNCES, len(mine)))
        chosen += self.rng.sample(others, min(1, len(others)))
        deadline = time.monotonic() + wait_seconds
        bounced = 0
        for external_id in chosen:
            while not self._in_sandbox(external_id):
                if time.monotonic() > deadline:
                    report(f"{external_id} has not reached Spotler yet; no bounce seeded for it")
                    break
                time.sleep(2)
            else:
                self._sandbox_post(external_id, "bounce", {"type": "HARDBOUNCE"})
                bounced += 1
        report(f"in Spotler: {bounced} mails bounced (hard) for the bounce inbox")
        return bounced

    def seed_lists(self, *, report: Callable[[str], None]) -> None:
        """Temporary lists for the demo's Marketer: one of ours, made through the API from the
        shop's own selection (its German customers), and two of another system's (the CRM's),
        so the lists page shows the budget shared. Kept once made: a rerun adds nothing."""
        answer = self.session.get(f"{self.api_url}/lists", timeout=30)
        _check(answer)
        found = answer.json()["lists"]
        others = sum(1 for item in found if not item["ours"])
        if others < DEMO_OTHER_LISTS:
            url = f"{self.sandbox_url.rstrip('/')}/_sandbox/templists"
            body = {"consumer_key": "crm", "count": DEMO_OTHER_LISTS - others}
            _check(requests.post(url, json=body, timeout=10))
        if any(item["name"] == DEMO_LIST_NAME for item in found):
            return
        german = [e for e, r in self.customers.items() if r["language"].startswith("de")]
        body = {"name": DEMO_LIST_NAME, "external_ids": german[:DEMO_LIST_SIZE]}
        response = self.session.post(f"{self.api_url}/lists", json=body, timeout=60)
        if response.status_code == 409:
            report(f"no demo list made: {response.json().get('detail')}")
            return
        _check(response)
        report(f"temporary list “{DEMO_LIST_NAME}” made of {len(body['external_ids'])} customers")

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
        email = f"{_ascii(first)}.{_ascii(last)}.{n}@example.com"
        previous = self.customers.get(f"C{n - 1:06d}")
        if previous and n % SAME_PERSON_EVERY == 0:
            first, last, email = previous["first_name"], previous["last_name"], previous["email"]
            email = email.upper()
        elif previous and n % HOUSEHOLD_EVERY == 0:
            last, email = previous["last_name"], previous["email"]
        record = {
            "external_id": external_id,
            "email": email,
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
        if roll < 0.3:
            path, body, what = "unsubscribe", {"bit": 1}, "unsubscribed from the newsletter"
        elif roll < 0.7:
            # Bounces are frequent here, mostly hard (a follow-up at once), and half of them
            # hit the demo account manager's customers: her inbox fills while someone watches.
            external_id = self._bounce_target(external_id)
            kind = self.rng.choices(["HARDBOUNCE", "SOFTBOUNCE"], weights=[2, 1])[0]
            path, body, what = "bounce", {"type": kind}, f"a mail to them bounced ({kind.lower()})"
        else:
            city = self.rng.choice(LANGUAGES[self.customers[external_id]["language"]][2])
            path, body, what = "edit", {"properties": {"city": city}}, f"moved to {city}"
        if not self._sandbox_post(external_id, path, body):
            return f"in Spotler: {external_id} is not there yet"
        return f"in Spotler: {external_id} {what}"

    def _bounce_target(self, external_id: str) -> str:
        if self.rng.random() < 0.5:
            mine = self._demo_managers_customers()
            if mine:
                return self.rng.choice(mine)
        return external_id

    def _demo_managers_customers(self) -> list[str]:
        return [
            e for e, r in self.customers.items() if r.get("account_manager") == DEMO_ACCOUNT_MANAGER
        ]

    def _sandbox_post(self, external_id: str, path: str, body: dict) -> bool:
        """A recipient's act in the sandbox; False when Spotler does not hold them yet."""
        url = f"{self.sandbox_url.rstrip('/')}/_sandbox/contacts/{external_id}/{path}"
        response = requests.post(url, json=body, timeout=10)
        if response.status_code == 404:
            return False
        _check(response)
        return True

    def _in_sandbox(self, external_id: str) -> bool:
        url = f"{self.sandbox_url.rstrip('/')}/_sandbox/contacts/{external_id}"
        return requests.get(url, timeout=10).status_code == 200

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
