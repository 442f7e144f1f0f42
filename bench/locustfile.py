"""The load of `make loadtest` (bench/soak.py runs it with `locust --headless`): a shop's system
calling the ingest API while people browse the dashboard.

Every Locust user of the shop kind owns external ids of its own (`S<user>-<n>`), so the last
first name it had accepted for each one is the value the ledger and Spotler must end with; the
users write those to LOADTEST_SENT (JSON) when the test stops. An answer other than the
expected one is a failure named by its status ("HTTP 503"), so failures can be counted by
status afterwards; a connection error is Locust's own failure (status 0).
"""

import itertools
import json
import os
import random
from datetime import UTC, datetime, timedelta

from locust import HttpUser, between, events, task

TOKEN = os.environ.get("LOADTEST_TOKEN", "")
USERNAME = os.environ.get("LOADTEST_USERNAME", "")
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "")
SENT_PATH = os.environ.get("LOADTEST_SENT", "")
# A contact on the dashboard's contact page (one the load starts with).
KNOWN_CONTACT = os.environ.get("LOADTEST_CONTACT", "SEED-0")
POOL = int(os.environ.get("LOADTEST_POOL", "300"))  # external ids per shop user
BATCH = int(os.environ.get("LOADTEST_BATCH", "25"))

SENT: dict[str, str] = {}  # external id -> the first name last accepted for it
numbers = itertools.count()
edits = itertools.count(1)


def expect(response, status: int) -> None:
    if response.status_code != status:
        response.failure(f"HTTP {response.status_code}")
    else:
        response.success()


class Shop(HttpUser):
    """The shop's system: single changes, batches and orders, with a write token."""

    fixed_count = int(os.environ.get("LOADTEST_SHOP_USERS", "6"))
    wait_time = between(0.05, 0.4)

    def on_start(self) -> None:
        self.number = next(numbers)
        self.client.headers["Authorization"] = f"Bearer {TOKEN}"
        self.random = random.Random(self.number)
        self.known: list[str] = []

    def some_id(self) -> str:
        return f"S{self.number}-{self.random.randrange(POOL)}"

    def fields(self, external_id: str) -> tuple[dict, str]:
        name = f"Edit {next(edits)}"
        n = external_id.lower().replace("-", ".")
        body = {"email": f"{n}@example.com", "first_name": name,
                "newsletter": self.random.random() < 0.7}  # fmt: skip
        return body, name

    @task(6)
    def put_contact(self) -> None:
        external_id = self.some_id()
        body, name = self.fields(external_id)
        with self.client.put(f"/api/v1/contacts/{external_id}", json=body,
                             name="PUT /api/v1/contacts/[id]", catch_response=True) as answer:  # fmt: skip
            expect(answer, 202)
            if answer.status_code == 202:
                SENT[external_id] = name
                self.known.append(external_id)

    @task(1)
    def post_batch(self) -> None:
        items, names = [], {}
        for _ in range(BATCH):
            external_id = self.some_id()
            body, name = self.fields(external_id)
            items.append({"external_id": external_id, **body})
            names[external_id] = name  # the later item of the same id wins, as in the ledger
        with self.client.post("/api/v1/contacts/batch", json={"contacts": items},
                              name="POST /api/v1/contacts/batch", catch_response=True) as answer:  # fmt: skip
            expect(answer, 202)
            if answer.status_code != 202:
                return
            results = answer.json()["results"]
            if any(r["status"] != "accepted" for r in results):
                answer.failure(f"batch items rejected: {results}")
                return
            SENT.update(names)
            self.known.extend(names)

    @task(2)
    def post_order(self) -> None:
        if not self.known:
            return
        contact = self.random.choice(self.known)
        ordered_at = datetime.now(UTC) - timedelta(days=self.random.randrange(400))
        body = {"external_id": f"O{self.number}-{next(edits)}", "contact_external_id": contact,
                "date": ordered_at.isoformat(timespec="seconds"),
                "value": f"{self.random.randrange(1, 500)}.95"}  # fmt: skip
        with self.client.post("/api/v1/orders", json=body, name="POST /api/v1/orders",
                              catch_response=True) as answer:  # fmt: skip
            expect(answer, 202)


class Dashboard(HttpUser):
    """Someone of the shop's staff, logged in, looking around."""

    fixed_count = int(os.environ.get("LOADTEST_DASHBOARD_USERS", "3"))
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.client.get("/login/", name="GET /login/")
        token = self.client.cookies.get("csrftoken", "")
        with self.client.post("/login/", name="POST /login/", catch_response=True,
                              data={"username": USERNAME, "password": PASSWORD,
                                    "csrfmiddlewaretoken": token},
                              allow_redirects=False) as answer:  # fmt: skip
            expect(answer, 302)

    def page(self, path: str, name: str | None = None) -> None:
        with self.client.get(path, name=f"GET {name or path}", catch_response=True,
                             allow_redirects=False) as answer:  # fmt: skip
            expect(answer, 200)

    @task(3)
    def home(self) -> None:
        self.page("/")

    @task(3)
    def contacts(self) -> None:
        self.page("/contacts/")

    @task(2)
    def contact(self) -> None:
        self.page(f"/contacts/{KNOWN_CONTACT}/", "/contacts/[id]/")

    @task(1)
    def health(self) -> None:
        self.page("/sync/health/")

    @task(1)
    def lists(self) -> None:
        self.page("/lists/")


@events.test_stop.add_listener
def write_sent(**_) -> None:
    if SENT_PATH:
        with open(SENT_PATH, "w") as out:
            json.dump(SENT, out)
