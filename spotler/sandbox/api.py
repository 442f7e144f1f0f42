"""The Spotler endpoints the project uses (spotler-api.md §4 to §12, §15), one handler each.

Handlers check what a call asks for before taking the account lock, then change or read
the account under it, and render outside it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from spotler.sandbox import inputs
from spotler.sandbox.catalogue import PROPERTIES
from spotler.sandbox.contacts import Write
from spotler.sandbox.errors import ApiError, invalid_params
from spotler.sandbox.rendering import (
    Dialect,
    bounce_json,
    contact_json,
    page_json,
    templist_json,
)
from spotler.sandbox.state import Account
from spotler.sandbox.templists import unknown_contacts_on_add, unknown_contacts_on_create
from spotler.sandbox.web import Request, Response, json_response, match_pattern, no_content

# AddContactResponse codes for the refusals a single insert answers with an ErrorResponse.
BATCH_CODES = {
    "INVALID_PARAMS": "PROPERTY_INVALID",
    "CONTACT_ALREADY_EXISTS": "CONTACT_ALREADY_EXISTS",
    "CONTACT_OPTOUT": "CONTACT_OPTOUT",
}


@dataclass(frozen=True)
class Call:
    """One authenticated API call: who made it, on which base path, with which path values."""

    request: Request
    dialect: Dialect
    account: Account
    consumer_key: str
    args: tuple[str, ...]

    @property
    def dedupe_on_email(self) -> bool:
        return self.account.settings.dedupe == "email"


def list_properties(call: Call) -> Response:
    return json_response([p.as_json() for p in PROPERTIES])


def get_contact(call: Call) -> Response:
    with call.account.reading() as account:
        data = contact_json(account.contacts.get(call.args[0]), call.dialect)
    return json_response(data)


def insert_contact(call: Call) -> Response:
    update, purge, contact = inputs.contact_request(call.request.json())
    external_id = inputs.external_id(contact)
    write = inputs.contact_write(contact, purge=purge)
    with call.account.changing() as account:
        account.contacts.upsert(
            external_id, write, update=update, dedupe_on_email=call.dedupe_on_email
        )
    return no_content()


def insert_contacts(call: Call) -> Response:
    update, purge, contacts = inputs.batch_contacts(call.request.json())
    writes = [(inputs.external_id(c), _checked_write(c, purge=purge)) for c in contacts]
    with call.account.changing() as account:
        results = [
            _insert_one(account, external_id, write, update=update, dedupe=call.dedupe_on_email)
            for external_id, write in writes
        ]
    return json_response(results)


def _checked_write(contact: dict[str, Any], *, purge: bool) -> Write | ApiError:
    """The write, or the refusal that becomes this contact's result in the batch."""
    try:
        return inputs.contact_write(contact, purge=purge)
    except ApiError as refusal:
        return refusal


def _insert_one(
    account: Account, external_id: str, write: Write | ApiError, *, update: bool, dedupe: bool
) -> dict[str, str]:
    """One `AddContactResponse` (spotler-api.md §5.2)."""
    if isinstance(write, ApiError):
        return _batch_refusal(external_id, write)
    try:
        _, outcome = account.contacts.upsert(
            external_id, write, update=update, dedupe_on_email=dedupe
        )
    except ApiError as refusal:
        return _batch_refusal(external_id, refusal)
    return {"externalId": external_id, "code": "OK", "message": f"Contact {outcome}"}


def _batch_refusal(external_id: str, refusal: ApiError) -> dict[str, str]:
    code = BATCH_CODES.get(refusal.error_type, "ERROR")
    return {"externalId": external_id, "code": code, "message": refusal.message}


def update_contact(call: Call) -> Response:
    _, purge, contact = inputs.contact_request(call.request.json())
    in_body = inputs.external_id(contact, required=False)
    if in_body is not None and in_body != call.args[0]:
        raise invalid_params("The externalId in the body differs from the one in the path")
    write = inputs.contact_write(contact, purge=purge)
    with call.account.changing() as account:
        account.contacts.update(call.args[0], write)
    return no_content()


def inactivate_contact(call: Call) -> Response:
    with call.account.changing() as account:
        account.contacts.inactivate(call.args[0])
    return no_content()


def anonymize_contact(call: Call) -> Response:
    with call.account.changing() as account:
        account.contacts.anonymize(call.args[0])
    return no_content()


def list_updates(call: Call) -> Response:
    params = call.request.query_params()
    start, end = inputs.window(params)
    size, after = inputs.paging(params, required=not call.dialect.bare_lists)
    with call.account.reading() as account:
        # 1.1.0 answers a bare array, which cannot carry a cursor: the whole window.
        if call.dialect.bare_lists:
            size, after = None, None
        page = account.contacts.updated_between(start, end, after=after, size=size)
        items = [contact_json(c, call.dialect) for c in page.items]
    return _list_answer(call, "contacts", items, page.after)


def list_bounces(call: Call) -> Response:
    params = call.request.query_params()
    start, end = inputs.window(params)
    size, after = inputs.paging(params, required=not call.dialect.bare_lists)
    with call.account.reading() as account:
        if call.dialect.bare_lists:
            size, after = None, None
        page = account.bounces.between(start, end, after=after, size=size)
        items = [
            bounce_json(b, account.contacts.by_key(b.contact_key), call.dialect) for b in page.items
        ]
    return _list_answer(call, "bounces", items, page.after)


def search_contacts(call: Call) -> Response:
    params = call.request.query_params()
    name, value = inputs.search_query(params)
    size, after = inputs.paging(params, required=True)
    with call.account.reading() as account:
        page = account.contacts.search(name, value, after=after, size=size)
        items = [contact_json(c, call.dialect) for c in page.items]
    # Search answers a ContactsResponse on both base paths (spotler-api.md §12).
    return json_response(
        page_json("contacts", items, next_url=_next_url(call.request, page.after), after=page.after)
    )


def _list_answer(call: Call, key: str, items: list, after: int | None) -> Response:
    if call.dialect.bare_lists:
        return json_response(items)
    next_url = _next_url(call.request, after)
    return json_response(page_json(key, items, next_url=next_url, after=after))


def _next_url(request: Request, after: int | None) -> str | None:
    """The next page's URL: the same query with `after` moved on, without OAuth parameters."""
    if after is None:
        return None
    params = [
        (k, v)
        for k, v in parse_qsl(request.query, keep_blank_values=True)
        if k != "after" and not k.startswith("oauth_")
    ]
    return f"{request.root_url}{request.raw_path}?{urlencode([*params, ('after', after)])}"


def subscribe(call: Call) -> Response:
    body = call.request.json()
    if not isinstance(body, dict):
        raise invalid_params("Request body must be a Contact object")
    external_id = inputs.external_id(body, required=False)
    write = inputs.contact_write(body, purge=False)
    with call.account.changing() as account:
        account.contacts.subscribe(write, external_id=external_id)
    return no_content()


def create_templist(call: Call) -> Response:
    body = call.request.json()
    if not isinstance(body, dict):
        raise invalid_params("Request body must be a CreateTemporaryListRequest object")
    list_id = inputs.text(body, "externalTemporaryListId")
    name = inputs.text(body, "name")
    contact_ids = inputs.contact_ids(body, required=False)
    with call.account.changing() as account:
        if any(account.contacts.find(c) is None for c in contact_ids):
            raise unknown_contacts_on_create()
        account.templists.create(
            external_id=list_id,
            name=name,
            owner=call.consumer_key,
            contact_ids=contact_ids,
            limit=account.settings.templist_limit,
        )
    return no_content()


def list_templists(call: Call) -> Response:
    with call.account.reading() as account:
        items = [templist_json(t, call.dialect) for t in account.templists.all()]
    return json_response(items)


def add_to_templist(call: Call) -> Response:
    body = call.request.json()
    if not isinstance(body, dict):
        raise invalid_params("Request body must be an AddContactsToTemporaryListRequest object")
    contact_ids = inputs.contact_ids(body, required=True)
    with call.account.changing() as account:
        account.templists.owned(call.args[0], call.consumer_key)
        if any(account.contacts.find(c) is None for c in contact_ids):
            raise unknown_contacts_on_add()
        account.templists.add_contacts(call.args[0], call.consumer_key, contact_ids)
    return no_content()


def delete_templist(call: Call) -> Response:
    with call.account.changing() as account:
        account.templists.delete(call.args[0], call.consumer_key)
    return no_content()


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Callable[[Call], Response]

    @property
    def endpoint(self) -> str:
        """How `/_sandbox/requests` names it: "GET contact/{externalId}"."""
        return f"{self.method} {self.pattern}"

    def match(self, segments: list[str]) -> tuple[str, ...] | None:
        return match_pattern(self.pattern, segments)


# Literal paths before the ones with a placeholder in the same place.
ROUTES = (
    Route("GET", "contact/properties/list", list_properties),
    Route("GET", "contact/updates/list", list_updates),
    Route("GET", "contact/bounces/list", list_bounces),
    Route("GET", "contact/search", search_contacts),
    Route("POST", "contact/list", insert_contacts),
    Route("PUT", "contact/inactivate/{externalId}", inactivate_contact),
    Route("PUT", "contact/anonymize/{externalId}", anonymize_contact),
    Route("POST", "contact", insert_contact),
    Route("GET", "contact/{externalId}", get_contact),
    Route("PUT", "contact/{externalId}", update_contact),
    Route("POST", "subscription/subscribe", subscribe),
    Route("POST", "templist", create_templist),
    Route("GET", "templist", list_templists),
    Route("POST", "templist/{externalTemporaryListId}", add_to_templist),
    Route("DELETE", "templist/{externalTemporaryListId}", delete_templist),
)


def find_route(method: str, segments: list[str]) -> tuple[Route | None, tuple[str, ...], bool]:
    """(route, path values, whether the path exists for another method)."""
    other_method = False
    for route in ROUTES:
        args = route.match(segments)
        if args is None:
            continue
        if route.method == method:
            return route, args, False
        other_method = True
    return None, (), other_method
