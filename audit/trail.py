"""Writing the audit trail: `record(actor=..., action=..., ...)` at each domain function that
changes something people configure (settings, API tokens, users and roles, the mapping, lists,
subscribe forms and lookup pages, follow-up owners) and at every manual sync.

Secrets never reach the table: fields named like one are masked, and so is any value that looks
like one of our API tokens.
"""

import json
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.http import HttpRequest

from audit.models import AuditEntry
from spotlersync.login_lockout import client_address

MASK = "••••••"
SECRET_NAMES = ("secret", "password", "token_hash", "api_key", "consumer_key")
SECRET_PREFIXES = ("ssk_",)  # contacts/tokens.py TOKEN_PREFIX: a full API token
SYSTEM = "system"

# Who is asking, in this request: the IP on every entry, and the actor of changes made by code
# that is not told who asked (the user and group signals, the Django admin).
current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)

# A user, an API token, a label ("manage.py sync") or None (the system).
Actor = Any


def record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    obj: models.Model | None = None,
    object_id: object = "",
    object_label: str = "",
    before: Mapping | None = None,
    after: Mapping | None = None,
) -> AuditEntry:
    """Write one entry; `before`/`after` are field → value (only the differing ones are kept)."""
    user, label = describe_actor(actor)
    if obj is not None:
        object_id = object_id or obj.pk
        object_label = object_label or str(obj)
    return AuditEntry.objects.create(
        actor=user,
        actor_label=label[:200],
        action=action,
        object_type=object_type,
        object_id=str(object_id or "")[:64],
        object_label=str(object_label)[:200],
        changes=changes(before or {}, after or {}),
        ip=_request_ip(),
    )


def describe_actor(actor: Actor) -> tuple[Any, str]:
    """(the user or None, the label shown)."""
    if actor is None:
        request = current_request.get()
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user, user.get_username()
        return None, SYSTEM
    if isinstance(actor, str):
        return None, actor
    if getattr(actor, "_meta", None) is not None and actor._meta.label == "contacts.ApiToken":
        return None, f"api token “{actor.name}” ({actor.prefix}…)"
    if getattr(actor, "is_authenticated", False):
        return actor, actor.get_username()
    return None, SYSTEM


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict:
    """The instance's concrete field values (all but its id and timestamps), for before/after."""
    names = fields or [
        f.attname
        for f in instance._meta.concrete_fields
        if not f.primary_key and f.name not in ("created_at", "updated_at")
    ]
    return {name: getattr(instance, name) for name in names}


def changes(before: Mapping, after: Mapping) -> dict:
    """field → [before, after] for each field that differs, secrets masked, JSON-safe."""
    result = {}
    for name in [*before, *(k for k in after if k not in before)]:
        old, new = _plain(before.get(name)), _plain(after.get(name))
        if old == new and (name in before) == (name in after):
            continue
        if _empty(old) and _empty(new):  # e.g. a blank field of something new
            continue
        if _is_secret(name):
            old = MASK if name in before and old not in (None, "") else None
            new = MASK if name in after and new not in (None, "") else None
        else:
            old, new = _unsecret(old), _unsecret(new)
        result[name] = [old, new]
    return result


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_NAMES)


def _unsecret(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(SECRET_PREFIXES) and len(value) > 20:
        return MASK
    if isinstance(value, list):
        return [_unsecret(v) for v in value]
    if isinstance(value, dict):
        return {k: MASK if _is_secret(k) else _unsecret(v) for k, v in value.items()}
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(_plain(v) for v in value)
    if isinstance(value, models.Model):
        return str(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def _request_ip() -> str | None:
    request = current_request.get()
    if request is None:
        return None
    return client_address(request) or None


def remember_request(get_response):
    """Middleware: the request in flight, for `record`'s IP and default actor."""

    def middleware(request: HttpRequest):
        token = current_request.set(request)
        try:
            return get_response(request)
        finally:
            current_request.reset(token)

    return middleware
