"""The contacts list page over 100,000 contacts on PostgreSQL (issue 4: median < 150 ms), with
what Spotler last reported of each synced contact's permissions (issue 15).

Server time only: Django's test client calls the view in this process, logged in as a Marketer,
so the figure is the middleware, the queries and the rendering, without a network or a browser.
The ledger lives in its own database, `spotlersync_bench` (created when missing, migrated, and
filled once; a later run reuses it while it holds exactly the contacts this module makes).
Run it on its own (`python -m bench contacts_list`): Django must be set up with that database.
"""

import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/spotlersync_bench"
)
CONTACTS = 100_000
REQUESTS = 20
WARMUP = 3
TARGET_MS = 150
SEED = 4

FIRST_NAMES = ["Anna", "Bram", "Chloé", "Dirk", "Eva", "Femke", "Gert", "Hanna", "Ivo", "Jasper"]
LAST_NAMES = ["Jansen", "de Vries", "Bakker", "Visser", "Smit", "Meijer", "Müller", "Dubois"]
# (value, weight): what a Dutch webshop's ledger might look like.
LANGUAGES = [("nl", 55), ("de", 20), ("en", 12), ("fr", 8), ("nl-BE", 4), ("", 1)]
STATES = [("synced", 80), ("pending", 12), ("failed", 5), ("inactive", 2), ("anonymized", 1)]
MANAGERS = [f"Manager {chr(65 + i)}" for i in range(25)] + [""]
ERASED_EVERY = 100  # one contact in a hundred is the tombstone of a deleted customer

# name -> query string of the list page
CASES = {
    "first page": "",
    "filtered (failed, German)": "state=failed&language=de",
    "filtered (account manager)": "account_manager=Manager+K",
    "search (e-mail prefix)": "q=anna.bakker",
    "search (exact external id)": "q=C-054321",
    "page 500": "page=500",
    # Spotler's reports: what the pull keeps of each synced contact's permissions.
    "filtered (unsubscribed in Spotler)": "consent=1:unsubscribed",
    "filtered (unsubscribed, account manager)": "consent=1:unsubscribed&account_manager=Manager+K",
    "filtered (newsletter off as Spotler reported it)": "consent=1:off",
}
UNSUBSCRIBED_IN_SPOTLER = 0.03  # of the synced contacts the shop says "yes" for


def set_up_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotlersync.settings")
    create_database_if_missing()
    import django
    from django.conf import settings

    django.setup()
    name = settings.DATABASES["default"]["NAME"]
    if name != url_config()["NAME"]:
        raise RuntimeError(
            f"Django was already set up with database {name!r}; run this benchmark on its own: "
            "python -m bench contacts_list"
        )
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def url_config() -> dict:
    import environ

    return environ.Env.db_url_config(BENCH_DATABASE_URL)


def create_database_if_missing() -> None:
    import psycopg
    from psycopg import sql

    config = url_config()
    server = {
        "host": config["HOST"],
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))


def weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


def make_contacts() -> list:
    from contacts.models import Contact, hash_external_id
    from contacts.source_fields import hash_fields

    rng = random.Random(SEED)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    contacts = []
    for i in range(CONTACTS):
        external_id = f"C-{i:06d}"
        changed_at = now - timedelta(seconds=rng.randint(0, 365 * 24 * 3600))
        state = weighted(rng, STATES)
        if i % ERASED_EVERY == 0:
            contacts.append(
                Contact(external_id=None, external_id_hash=hash_external_id(external_id),
                        sync_status="anonymized", changed_at=changed_at, created_at=changed_at,
                        erased_at=changed_at)
            )  # fmt: skip
            continue
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first}.{last}".lower().replace(" ", "").replace("é", "e").replace("ü", "u")
        fields = {
            "email": f"{local}{i}@example.{rng.choice(['com', 'nl', 'de'])}",
            "first_name": first, "last_name": last,
            "language": weighted(rng, LANGUAGES),
            "account_manager": rng.choice(MANAGERS),
            "newsletter": rng.random() < 0.7,
            "city": rng.choice(["Utrecht", "Amsterdam", "Köln", "Gent", "Lyon"]),
            "loyalty_points": rng.randint(0, 5000),
        }  # fmt: skip
        error = ""
        if state == "failed":
            error = "Invalid value for property birthday: expected yyyy-MM-dd, got 31-02-1980"
        contacts.append(
            Contact(external_id=external_id, external_id_hash=hash_external_id(external_id),
                    fields=fields, fields_hash=hash_fields(fields), email=fields["email"],
                    language=fields["language"], account_manager=fields["account_manager"],
                    sync_status=state, sync_error=error,
                    synced_at=changed_at if state == "synced" else None,
                    changed_at=changed_at, created_at=changed_at - timedelta(days=30))
        )  # fmt: skip
    return contacts


def make_spotler_reports() -> tuple[list, list]:
    """What the pull keeps of the synced contacts: their permissions as Spotler reported them,
    and, for those who unsubscribed in Spotler, when."""
    from contacts.models import Contact
    from sync.models import SpotlerConsent, SpotlerState

    rng = random.Random(SEED + 1)
    states, consents = [], []
    synced = Contact.objects.filter(sync_status="synced").values_list("pk", "fields", "synced_at")
    for pk, fields, synced_at in synced.iterator(chunk_size=5000):
        newsletter = bool(fields.get("newsletter"))
        if newsletter and rng.random() < UNSUBSCRIBED_IN_SPOTLER:
            newsletter = False
            consents.append(SpotlerConsent(contact_id=pk, bit=1, enabled=False,
                                           changed_at=synced_at))  # fmt: skip
        states.append(SpotlerState(contact_id=pk, last_changed=synced_at,
                                   permissions={"1": newsletter, "2": False, "3": False}))  # fmt: skip
    return states, consents


def fill_ledger() -> str:
    from django.db import connection, transaction

    from contacts.models import Contact
    from sync.models import SpotlerConsent, SpotlerState

    if (
        Contact.objects.count() == CONTACTS
        and Contact.objects.filter(external_id="C-000001").exists()
        and SpotlerState.objects.exists()
    ):
        return "reused"
    with transaction.atomic():
        Contact.objects.all().delete()
        Contact.objects.bulk_create(make_contacts(), batch_size=5000)
        states, consents = make_spotler_reports()
        SpotlerState.objects.bulk_create(states, batch_size=5000)
        SpotlerConsent.objects.bulk_create(consents, batch_size=5000)
    # What autovacuum does soon after a load; it lets PostgreSQL answer from indexes alone.
    with connection.cursor() as cursor:
        for table in ("contacts_contact", "sync_spotlerstate", "sync_spotlerconsent"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return "created"


def marketer_client():
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from spotlersync.roles import Role

    user, _ = User.objects.get_or_create(username="bench-marketer")
    user.groups.add(Group.objects.get(name=Role.MARKETER))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def time_page(client, query: str, *, path: str = "/contacts/") -> tuple[float, int]:
    """Median server time in ms over REQUESTS requests, and the queries one request makes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    url = f"{path}?{query}"
    with override_settings(DEBUG=False):
        for _ in range(WARMUP):
            assert client.get(url).status_code == 200
        times = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(times), len(queries)


def run() -> list:
    from bench.figures import Figure

    set_up_django()
    started = time.monotonic()
    how = fill_ledger()
    fill_note = f"ledger {how} in {time.monotonic() - started:.0f} s"
    client = marketer_client()
    figures = []
    for name, query in CASES.items():
        median, queries = time_page(client, query)
        figures.append(
            Figure(f"contacts list, {name}: median server time", median, "ms", target=TARGET_MS,
                   higher_is_better=False,
                   note=f"{REQUESTS} requests, PostgreSQL, {CONTACTS:,} contacts, "
                        f"{queries} queries; {fill_note}")
        )  # fmt: skip
    return figures
