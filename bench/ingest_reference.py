"""The ingest benchmark's yardsticks, served beside the real API by the benchmark's server only
(`bench/ingest_settings.py`; never routed in the product):

- `GET /bench/v1/bare`: a django-ninja endpoint that answers 200, the framework's floor;
- `GET /bench/v1/token`: the same behind the product's token check (`contacts.api.WRITE`);
- `PUT /bench/v1/contacts/{id}`: the least an ingest PUT must do: the product's token check, a
  small body validated by pydantic, one upsert of the ledger row and one outbox row, in one
  transaction;
- `POST /bench/v1/contacts/batch`: the same for a batch, per contact: one pydantic model of the
  whole batch, one multi-row upsert and one multi-row outbox INSERT, a plain JSON answer.

`report_request_cost` (middleware, outermost) answers every request with the CPU it cost the
server: the gunicorn worker's process time and that of its PostgreSQL backend (from
`/proc/<pid>/schedstat`, in nanoseconds), and the SQL statements it sent.
"""

import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Schema

from contacts.api import WRITE

reference_api = NinjaAPI(
    title="ingest benchmark reference", urls_namespace="bench-reference", docs_url=None
)


class ReferenceContact(Schema):
    email: str
    first_name: str = ""
    last_name: str = ""
    language: str = ""
    newsletter: bool | None = None
    account_manager: str = ""
    city: str = ""
    customer_since: str = ""


class ReferenceBatchItem(ReferenceContact):
    external_id: str


class ReferenceBatch(Schema):
    contacts: list[ReferenceBatchItem]


CONTACT_COLUMNS = (
    "external_id, external_id_hash, fields, fields_hash, field_changed_at, email, language, "
    "account_manager, sync_status, sync_error, changed_at, created_at"
)
ON_CONFLICT = (
    "ON CONFLICT (external_id_hash) DO UPDATE SET fields = EXCLUDED.fields, "
    "fields_hash = EXCLUDED.fields_hash, email = EXCLUDED.email, language = EXCLUDED.language, "
    "account_manager = EXCLUDED.account_manager, changed_at = EXCLUDED.changed_at, "
    "sync_status = EXCLUDED.sync_status"
)
OUTBOX_COLUMNS = (
    "contact_id, external_id, kind, status, attempts, last_error, created_at, updated_at, claim"
)
# Built from the constants above only; every value is a parameter.
UPSERT_ONE = " ".join([
    "INSERT INTO contacts_contact (", CONTACT_COLUMNS, ") VALUES (%s, %s, %s::jsonb, %s,",
    "'{}'::jsonb, %s, %s, %s, 'pending', '', %s, %s)", ON_CONFLICT, "RETURNING id",
])  # fmt: skip
OUTBOX_ONE = " ".join([
    "INSERT INTO sync_outboxentry (", OUTBOX_COLUMNS, ")",
    "VALUES (%s, %s, 'upsert', 'pending', 0, '', %s, %s, '')",
])  # fmt: skip
UPSERT_MANY = " ".join([
    "INSERT INTO contacts_contact (", CONTACT_COLUMNS, ") SELECT u.external_id, u.hash,",
    "u.fields::jsonb, u.fields_hash, '{}'::jsonb, u.email, u.language, u.account_manager,",
    "'pending', '', %s, %s FROM UNNEST(%s::text[], %s::text[], %s::text[], %s::text[],",
    "%s::text[], %s::text[], %s::text[])",
    "AS u(external_id, hash, fields, fields_hash, email, language, account_manager)",
    ON_CONFLICT, "RETURNING id, external_id",
])  # fmt: skip
OUTBOX_MANY = " ".join([
    "INSERT INTO sync_outboxentry (", OUTBOX_COLUMNS, ") SELECT u.id, u.external_id, 'upsert',",
    "'pending', 0, '', %s, %s, '' FROM UNNEST(%s::bigint[], %s::text[]) AS u(id, external_id)",
])  # fmt: skip


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def row_values(external_id: str, contact: ReferenceContact) -> list[Any]:
    fields = json.dumps(contact.dict(exclude={"external_id"}), sort_keys=True)
    return [
        external_id,
        sha256(external_id),
        fields,
        sha256(fields),
        contact.email,
        contact.language,
        contact.account_manager,
    ]


@reference_api.get("/bare")
def bare(request: HttpRequest) -> dict:
    return {"ok": True}


@reference_api.get("/token", auth=WRITE)
def token_only(request: HttpRequest) -> dict:
    return {"ok": True}


@reference_api.post("/contacts/batch", auth=WRITE)
def post_reference_batch(request: HttpRequest, payload: ReferenceBatch) -> dict:
    now = timezone.now()
    columns = list(zip(*(row_values(c.external_id, c) for c in payload.contacts), strict=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(UPSERT_MANY, [now, now, *(list(column) for column in columns)])
        ids, external_ids = zip(*cursor.fetchall(), strict=True)
        cursor.execute(OUTBOX_MANY, [now, now, list(ids), list(external_ids)])
    results = [
        {"index": index, "external_id": item.external_id, "status": "accepted", "changed": True}
        for index, item in enumerate(payload.contacts)
    ]
    return {"accepted": len(results), "rejected": 0, "results": results}


# After the batch route: `contacts/{external_id}` would take `contacts/batch` too.
@reference_api.put("/contacts/{external_id}", auth=WRITE)
def put_reference(request: HttpRequest, external_id: str, payload: ReferenceContact) -> dict:
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(UPSERT_ONE, [*row_values(external_id, payload), now, now])
        (contact_id,) = cursor.fetchone()
        cursor.execute(OUTBOX_ONE, [contact_id, external_id, now, now])
    return {"external_id": external_id, "changed": True, "sync_status": "pending"}


# --- the per-request cost report -------------------------------------------------------------

TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)
WRITE = re.compile(r'\b(INSERT INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)
VERB = re.compile(r"\s*(RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|SAVEPOINT|\w+)", re.IGNORECASE)


def statement_label(sql: str) -> str:
    """`INSERT contacts_contact ON CONFLICT`, `SELECT contacts_contact FOR UPDATE`, ..."""
    verb = VERB.match(sql).group(1).upper()
    if "SAVEPOINT" in verb:
        return verb
    if verb == "WITH":  # a data-modifying WITH: each of its writes, in order
        writes = WRITE.findall(sql)
        return "WITH " + " + ".join(f"{v.split()[0].upper()} {t}" for v, t in writes)
    table = TABLE.search(sql)
    label = f"{verb} {table.group(1)}" if table else verb
    if " ON CONFLICT " in sql.upper():
        label += " ON CONFLICT"
    if sql.upper().rstrip().endswith("FOR UPDATE"):
        label += " FOR UPDATE"
    return label


def backend_cpu_ns(pid: int | None) -> int:
    """Nanoseconds on a CPU so far of the PostgreSQL backend `pid` (0 when unknown or gone)."""
    if pid is None:
        return 0
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return 0


def backend_pid() -> int | None:
    if connection.connection is None:
        return None
    return connection.connection.info.backend_pid


class StatementLog:
    """Labels of the statements a request sends, with BEGIN/COMMIT around a transaction (which
    psycopg sends itself, so no execute wrapper sees them)."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.in_transaction = False

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        atomic = context["connection"].in_atomic_block
        if atomic and not self.in_transaction:
            self.labels.append("BEGIN")
        elif self.in_transaction and not atomic:
            self.labels.append("COMMIT")
        self.in_transaction = atomic
        self.labels.append(statement_label(sql))
        return execute(sql, params, many, context)

    def finish(self) -> str:
        return ", ".join([*self.labels, "COMMIT"] if self.in_transaction else self.labels)


def report_request_cost(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable:
    def middleware(request: HttpRequest) -> HttpResponse:
        # The connection persists between requests (CONN_MAX_AGE), so its backend is known
        # before the request starts; a new one opens here, on this request's account.
        connection.ensure_connection()
        pid = backend_pid()
        log = StatementLog()
        python_before, postgres_before = time.process_time_ns(), backend_cpu_ns(pid)
        with connection.execute_wrapper(log):
            response = get_response(request)
        postgres = backend_cpu_ns(pid) - postgres_before if pid == backend_pid() else 0
        response["X-Bench-Cpu-Ns"] = f"{time.process_time_ns() - python_before} {postgres}"
        response["X-Bench-Statements"] = log.finish()
        return response

    return middleware
