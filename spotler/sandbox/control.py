"""The control surface under `/_sandbox/`: JSON in and out, no OAuth, loopback only.

It plays Spotler's side of the story (a recipient edits a profile or unsubscribes, a mail
bounces, another system fills the list budget) and lets tests set faults and read state.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from spotler.sandbox.bounces import BOUNCE_TYPES
from spotler.sandbox.catalogue import BY_NAME, clean_properties
from spotler.sandbox.clock import now, parse_aware
from spotler.sandbox.config import SettingsError
from spotler.sandbox.contacts import Contact, Write
from spotler.sandbox.demo import seed_demo
from spotler.sandbox.errors import ApiError, invalid_params, invalid_state, resource_not_found
from spotler.sandbox.rendering import CURRENT, contact_json
from spotler.sandbox.runtime import Sandbox
from spotler.sandbox.web import Request, Response, json_response, match_pattern

PREFIX = "/_sandbox/"
LOOPBACK_PREFIXES = ("127.", "::1", "::ffff:127.")


@dataclass(frozen=True)
class Order:
    """One control call: its JSON body (an object, {} when empty) and path values."""

    sandbox: Sandbox
    body: dict[str, Any]
    args: tuple[str, ...]


def reset(order: Order) -> dict[str, Any]:
    order.sandbox.reset()
    return {"reset": True}


def get_settings(order: Order) -> dict[str, Any]:
    return order.sandbox.account.settings.as_json()


def change_settings(order: Order) -> dict[str, Any]:
    with order.sandbox.account.changing() as account:
        try:
            account.settings = account.settings.changed(order.body)
        except SettingsError as exc:
            raise invalid_params(str(exc)) from exc
        return account.settings.as_json()


def start_burst(order: Order) -> dict[str, Any]:
    count = _whole(order.body, "count")
    retry_after = _whole(order.body, "retry_after", default=1)
    order.sandbox.traffic.start_burst(count, retry_after)
    return {"count": count, "retry_after": retry_after}


def add_credential(order: Order) -> dict[str, Any]:
    key = _text(order.body, "consumer_key")
    secret = _text(order.body, "consumer_secret")
    with order.sandbox.account.changing() as account:
        account.credentials[key] = secret
    return {"consumer_key": key}


def get_state(order: Order) -> dict[str, Any]:
    sandbox = order.sandbox
    with sandbox.account.reading() as account:
        return {
            "settings": account.settings.as_json(),
            "consumer_keys": sorted(account.credentials),
            "contacts": [stored_contact_json(c) for c in account.contacts.all()],
            "templists": account.templists.to_json(),
            "bounces": account.bounces.to_json(),
            "counts": {
                "contacts": len(account.contacts),
                "templists": len(account.templists),
                "bounces": len(account.bounces),
                "requests": sandbox.counts.total(),
                "remembered_nonces": len(sandbox.signatures.nonces),
                "burst_left": sandbox.traffic.burst_left(),
            },
        }


def get_requests(order: Order) -> dict[str, Any]:
    return order.sandbox.counts.as_json()


def get_requests_per_second(order: Order) -> dict[str, Any]:
    """API requests that arrived per whole UNIX second, and the busiest second's count."""
    per_second = order.sandbox.counts.per_second()
    return {"per_second": per_second, "busiest": max(per_second.values(), default=0)}


def list_contacts(order: Order) -> dict[str, Any]:
    with order.sandbox.account.reading() as account:
        return {"contacts": [stored_contact_json(c) for c in account.contacts.all()]}


def import_contact(order: Order) -> dict[str, Any]:
    """A contact created in Spotler itself (UI or file import), not through the API."""
    external_id = order.body.get("externalId")
    if external_id is not None and not isinstance(external_id, str):
        raise invalid_params("externalId must be text")
    write = Write(clean_properties(order.body.get("properties")))
    with order.sandbox.account.changing() as account:
        return stored_contact_json(account.contacts.insert_as_import(external_id, write))


def get_contact(order: Order) -> dict[str, Any]:
    with order.sandbox.account.reading():
        return stored_contact_json(_contact(order))


def edit_contact(order: Order) -> dict[str, Any]:
    """A recipient edits their profile on Spotler's page."""
    write = Write(clean_properties(order.body.get("properties")))
    return _edit(order, write)


def edit_many(order: Order) -> dict[str, Any]:
    """Many recipients edit their profiles at once (benchmarks): every edit is checked before
    any is made, so a refused call changes nothing."""
    edits = order.body.get("edits")
    if not isinstance(edits, list):
        raise invalid_params("edits must be a list of {externalId, properties}")
    at = _moment(order.body)
    with order.sandbox.account.changing() as account:
        checked = []
        for edit in edits:
            if not isinstance(edit, dict) or not isinstance(edit.get("externalId"), str):
                raise invalid_params("each edit needs an externalId (text) and properties")
            contact = account.contacts.find_by_reference(edit["externalId"])
            if contact is None:
                raise resource_not_found(f"No contact with externalId {edit['externalId']!r}")
            checked.append((contact, Write(clean_properties(edit.get("properties")))))
        for contact, write in checked:
            account.contacts.edit(contact, write, at=at)
        return {"edited": len(checked)}


def unsubscribe(order: Order) -> dict[str, Any]:
    """A recipient switches a permission off (the unsubscribe link in a mailing)."""
    return _edit(order, _bit_write(order.body, enabled=False))


def resubscribe(order: Order) -> dict[str, Any]:
    return _edit(order, _bit_write(order.body, enabled=True))


def bounce(order: Order) -> dict[str, Any]:
    kind = order.body.get("type", "HARDBOUNCE")
    if kind not in BOUNCE_TYPES:
        raise invalid_params(f"type must be one of {', '.join(BOUNCE_TYPES)}, got {kind!r}")
    at = _moment(order.body)
    with order.sandbox.account.changing() as account:
        contact = _contact(order)
        recorded = account.bounces.record(contact_key=contact.key, type=kind, date=at or now())
        return recorded.to_json()


def create_lists_elsewhere(order: Order) -> dict[str, Any]:
    """Another system (another credential) creates temporary lists in the same account."""
    owner = order.body.get("consumer_key", "other-system")
    if not isinstance(owner, str) or not owner:
        raise invalid_params("consumer_key must be text")
    count = _whole(order.body, "count", default=1)
    with order.sandbox.account.changing() as account:
        lists = account.templists
        if len(lists) + count > account.settings.templist_limit:
            raise invalid_state("Too many temporary lists")
        created = []
        number = 1
        while len(created) < count:
            list_id = f"{owner}-{number}"
            if lists.find(list_id) is None and all(t.name != list_id for t in lists.all()):
                lists.create(
                    external_id=list_id, name=list_id, owner=owner, contact_ids=[], limit=10**9
                )
                created.append(list_id)
            number += 1
        return {"created": created}


def mark_list_in_use(order: Order) -> dict[str, Any]:
    """The list is selected for a mailing, so Spotler refuses to delete it."""
    in_use = order.body.get("in_use", True)
    if not isinstance(in_use, bool):
        raise invalid_params("in_use must be true or false")
    with order.sandbox.account.changing() as account:
        found = account.templists.find(order.args[0])
        if found is None:
            raise resource_not_found(f"No temporary list {order.args[0]!r}")
        found.in_use = in_use
        return found.to_json()


def seed_demo_contacts(order: Order) -> dict[str, Any]:
    return {"seeded": seed_demo(order.sandbox.account)}


def index(order: Order) -> dict[str, Any]:
    return {
        "page": f"{PREFIX}page (the same in a browser: contacts, unsubscribe, edit, bounce)",
        "control": [f"{method} {PREFIX}{path}" for method, path, _ in ROUTES],
    }


def stored_contact_json(contact: Contact) -> dict[str, Any]:
    """The contact as the API shows it, plus what only Spotler's side sees."""
    data = contact_json(contact, CURRENT)
    data.update(
        {
            "blacklisted": contact.blacklisted,
            "anonymized": contact.anonymized,
            "changeSeq": contact.change_seq,
        }
    )
    return data


def _edit(order: Order, write: Write) -> dict[str, Any]:
    at = _moment(order.body)
    with order.sandbox.account.changing() as account:
        contact = _contact(order)
        account.contacts.edit(contact, write, at=at)
        return stored_contact_json(contact)


def _contact(order: Order) -> Contact:
    found = order.sandbox.account.contacts.find_by_reference(order.args[0])
    if found is None:
        raise resource_not_found(f"No contact with externalId or encryptedId {order.args[0]!r}")
    return found


def _bit_write(body: dict[str, Any], *, enabled: bool) -> Write:
    name = body.get("property", "permissions")
    definition = BY_NAME.get(name) if isinstance(name, str) else None
    if definition is None or not definition.is_set:
        raise invalid_params(f"property must be a set-type property, got {name!r}")
    bit = body.get("bit")
    if bit not in {entry.bit for entry in definition.entries} or isinstance(bit, bool):
        bits = ", ".join(str(entry.bit) for entry in definition.entries)
        raise invalid_params(f"bit must be one of {bits} ({name}), got {bit!r}")
    return Write({name: {bit: enabled}})


def _moment(body: dict[str, Any]) -> datetime | None:
    """The optional `at` (ISO 8601 with offset): when the change happened; default now."""
    if body.get("at") is None:
        return None
    moment = parse_aware(body["at"]) if isinstance(body["at"], str) else None
    if moment is None:
        raise invalid_params(f"at must be an ISO 8601 moment with an offset, got {body['at']!r}")
    return moment


def _whole(body: dict[str, Any], name: str, *, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid_params(f"{name} must be a whole number of at least 0, got {value!r}")
    return value


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise invalid_params(f"{name} must be text")
    return value


ROUTES: tuple[tuple[str, str, Callable[[Order], dict[str, Any]]], ...] = (
    ("GET", "", index),
    ("POST", "reset", reset),
    ("GET", "settings", get_settings),
    ("POST", "settings", change_settings),
    ("POST", "burst429", start_burst),
    ("POST", "credentials", add_credential),
    ("POST", "seed-demo", seed_demo_contacts),
    ("GET", "state", get_state),
    ("GET", "requests", get_requests),
    ("GET", "requests/per-second", get_requests_per_second),
    ("GET", "contacts", list_contacts),
    ("POST", "contacts", import_contact),
    ("GET", "contacts/{ref}", get_contact),
    ("POST", "contacts/edits", edit_many),
    ("POST", "contacts/{ref}/edit", edit_contact),
    ("POST", "contacts/{ref}/unsubscribe", unsubscribe),
    ("POST", "contacts/{ref}/subscribe", resubscribe),
    ("POST", "contacts/{ref}/bounce", bounce),
    ("POST", "templists", create_lists_elsewhere),
    ("POST", "templists/{id}/in-use", mark_list_in_use),
)


def handle(sandbox: Sandbox, request: Request) -> Response:
    """Answer one control call; every refusal is JSON saying what is wrong."""
    try:
        return json_response(_dispatch(sandbox, request))
    except ApiError as refusal:
        return json_response(refusal.as_body(), status=refusal.status)


def _dispatch(sandbox: Sandbox, request: Request) -> dict[str, Any]:
    if not request.remote_addr.startswith(LOOPBACK_PREFIXES):
        raise ApiError(403, "NOT_AUTHORIZED", "The control surface answers loopback only")
    segments = request.segments_after(PREFIX.rstrip("/"))
    other_method = False
    for method, pattern, handler in ROUTES:
        args = match_pattern(pattern, segments)
        if args is None:
            continue
        if method != request.method:
            other_method = True
            continue
        return handler(Order(sandbox, _body(request), args))
    if other_method:
        raise ApiError(405, "INVALID_PARAMS", f"{request.method} is not allowed here")
    raise resource_not_found(
        f"Unknown control path {request.method} {request.raw_path}; GET {PREFIX} lists them"
    )


def _body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    body = request.json()
    if not isinstance(body, dict):
        raise invalid_params(f"The body must be a JSON object, got {type(body).__name__}")
    return body
