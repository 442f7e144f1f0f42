"""The Spotler Mail+ REST client: one method per operation we use (spotler-api.md §4 to §12).

Signing, timeouts and retries are `spotler.transport`'s; paging and batching are here.
Everything a method returns is a dataclass of `spotler.types`; everything it raises is a
`SpotlerError` (or a ValueError for an argument no call could succeed with, before anything
is sent). One client per thread: it keeps a `requests.Session` open for keep-alive.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from spotler.errors import SpotlerError
from spotler.parsing import (
    contact_to_wire,
    format_query_date,
    parse_batch_result,
    parse_bounce,
    parse_contact,
    parse_list,
    parse_page,
    parse_property,
    parse_temporary_list,
)
from spotler.retry import RetryEvent, RetryPolicy
from spotler.transport import DEFAULT_TIMEOUT, Transport, read_answer
from spotler.types import (
    BatchResult,
    Bounce,
    Contact,
    Inactivation,
    Page,
    Property,
    TemporaryList,
)

logger = logging.getLogger("spotler.client")

BATCH_LIMIT = 100  # POST contact/list takes at most 100 contacts (spotler-api.md §2.8)
DEFAULT_PAGE_SIZE = 100  # no maximum is documented; §2.7 suggests starting at 100

# What a templist create answers when the id or name is taken (spotler-api.md §10).
ALREADY_EXISTS_TYPES = {"ID_NOTUNIQUE", "NAME_ALREADY_IN_USE"}


class SpotlerClient:
    """Calls Spotler Mail+ with one consumer key/secret pair at one base URL.

    `base_url` is e.g. `https://restapi.mailplus.nl/integrationservice` or
    `.../integrationservice-1.1.0`; answers of either shape are read. `timeout` is
    (connect, read) seconds. `retry` says how transient failures are retried; `on_retry` is
    told before each wait. `throttle`, when given, is called before every request sent (a
    shared rate limiter plugs in there).
    """

    def __init__(
        self,
        *,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
        throttle: Callable[[], None] | None = None,
    ) -> None:
        self._transport = Transport(
            base_url=base_url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            timeout=timeout,
            retry=retry,
            on_retry=on_retry,
            throttle=throttle,
        )

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def consumer_key(self) -> str:
        return self._transport.consumer_key

    @property
    def timeout(self) -> tuple[float, float]:
        return self._transport.timeout

    def __repr__(self) -> str:
        return f"SpotlerClient(base_url={self.base_url!r}, consumer_key={self.consumer_key!r})"

    def __enter__(self) -> "SpotlerClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the kept-alive connections."""
        self._transport.close()

    # Contact properties (§4) -------------------------------------------------------------

    def list_properties(self) -> list[Property]:
        """The contact properties of the account, with set entries (spotler-api.md §4)."""
        return self._read_list("GET", "contact/properties/list", parse_property)

    # Contacts (§5, §8, §9) ---------------------------------------------------------------

    def upsert_contact(self, contact: Contact, *, update: bool = True, purge: bool = False) -> None:
        """Insert a contact, or update it when `update` (spotler-api.md §5.1, §3.3).

        With `update=False` an existing externalId is refused (400). `purge=True` clears
        every property not sent.
        """
        body = {"update": update, "purge": purge, "contact": _wire_with_id(contact)}
        self._call("POST", "contact", body=body)

    def upsert_contacts(
        self,
        contacts: Iterable[Contact],
        *,
        update: bool = True,
        purge: bool = False,
        batch_size: int = BATCH_LIMIT,
    ) -> list[BatchResult]:
        """Insert or update any number of contacts, 100 per call (spotler-api.md §5.2).

        One result per contact, in Spotler's words. Batches are sent in order; when one fails
        the error is raised and the batches before it have been applied.
        """
        if not 1 <= batch_size <= BATCH_LIMIT:
            raise ValueError(f"batch_size must be between 1 and {BATCH_LIMIT}")
        wires = [_wire_with_id(contact) for contact in contacts]
        results: list[BatchResult] = []
        for start in range(0, len(wires), batch_size):
            body = {"update": update, "purge": purge, "contacts": wires[start : start + batch_size]}
            results += self._read_list("POST", "contact/list", parse_batch_result, body=body)
        return results

    def update_contact(self, contact: Contact, *, purge: bool = False) -> None:
        """Change an existing contact; with `purge=False` only what is sent (§5.3)."""
        wire = _wire_with_id(contact)
        path = f"contact/{_segment(wire['externalId'])}"
        self._call("PUT", path, body={"purge": purge, "contact": wire})

    def get_contact(self, external_id: str) -> Contact | None:
        """The contact with this externalId, or None when Spotler has none (§5.4).

        None only for a 404 whose body says `CONTACT_NOT_FOUND`; any other 404 (a wrong base
        URL, a proxy page) raises, so a misconfiguration never looks like "no such contact".
        """
        try:
            body = self._call("GET", f"contact/{_segment(external_id)}")
        except SpotlerError as error:
            if error.status == 404 and error.error_type == "CONTACT_NOT_FOUND":
                return None
            raise
        return read_answer(parse_contact, body, "GET contact/{externalId}")

    def inactivate_contact(
        self, external_id: str, *, permission_bits: Iterable[int] | None = None
    ) -> Inactivation:
        """Make a contact inactive, or switch all its permissions off (§8, §0.3).

        Tries `PUT contact/inactivate/{externalId}`. When that path is not there (405, or a
        404 that is not `CONTACT_NOT_FOUND`), it switches every permission bit off with
        `PUT contact/{externalId}`; the bits are `permission_bits`, or read from
        `contact/properties/list`. Says which way was used.
        """
        try:
            self._call("PUT", f"contact/inactivate/{_segment(external_id)}")
            return Inactivation.INACTIVATED
        except SpotlerError as error:
            if not _inactivate_unavailable(error):
                raise
            logger.info("Spotler has no contact/inactivate (%s); switching permissions off", error)
        bits = list(permission_bits) if permission_bits is not None else self._permission_bits()
        if not bits:
            raise SpotlerError(None, None, "There are no permission bits to switch off", True)
        contact = Contact(external_id=external_id, permissions=dict.fromkeys(bits, False))
        self.update_contact(contact, purge=False)
        return Inactivation.PERMISSIONS_OFF

    def anonymize_contact(self, external_id: str) -> None:
        """Erase a contact's personal data in Spotler; cannot be undone (§9)."""
        self._call("PUT", f"contact/anonymize/{_segment(external_id)}")

    def subscribe(self, contact: Contact) -> None:
        """Subscribe a contact as a form would, matched by e-mail (§11)."""
        self._call("POST", "subscription/subscribe", body=contact_to_wire(contact))

    # Changes coming back: updates and bounces (§6, §7) -----------------------------------

    def iter_updated_contact_pages(
        self,
        *,
        since: datetime,
        until: datetime,
        page_size: int = DEFAULT_PAGE_SIZE,
        after: int | str | None = None,
    ) -> Iterator[Page[Contact]]:
        """Pages of contacts changed in [since, until], from cursor `after` (§7)."""
        params = _window(since, until, page_size)
        yield from self._pages("contact/updates/list", "contacts", parse_contact, params, after)

    def iter_updated_contacts(
        self, *, since: datetime, until: datetime, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[Contact]:
        """Every contact changed in [since, until], unsubscribes included (§7)."""
        for page in self.iter_updated_contact_pages(since=since, until=until, page_size=page_size):
            yield from page.items

    def iter_bounce_pages(
        self,
        *,
        since: datetime,
        until: datetime,
        page_size: int = DEFAULT_PAGE_SIZE,
        after: int | str | None = None,
    ) -> Iterator[Page[Bounce]]:
        """Pages of bounces in [since, until], from cursor `after` (§6)."""
        params = _window(since, until, page_size)
        yield from self._pages("contact/bounces/list", "bounces", parse_bounce, params, after)

    def iter_bounces(
        self, *, since: datetime, until: datetime, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[Bounce]:
        """Every bounce in [since, until] (§6)."""
        for page in self.iter_bounce_pages(since=since, until=until, page_size=page_size):
            yield from page.items

    # Search (§12) -------------------------------------------------------------------------

    def iter_search_pages(
        self,
        *,
        property_name: str,
        value: str,
        page_size: int = DEFAULT_PAGE_SIZE,
        after: int | str | None = None,
    ) -> Iterator[Page[Contact]]:
        """Pages of contacts whose property equals the value (§12)."""
        # Passed through `params`, so it is percent-encoded (`+`, `=`, `&` included) and signed.
        params = {"MPSearchQuery": f"{property_name}={value}", "pageSize": page_size}
        yield from self._pages("contact/search", "contacts", parse_contact, params, after)

    def search_contacts(
        self, *, property_name: str, value: str, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[Contact]:
        """Every contact whose property equals the value, e.g. email (§12)."""
        pages = self.iter_search_pages(
            property_name=property_name, value=value, page_size=page_size
        )
        for page in pages:
            yield from page.items

    # Temporary lists (§10) ----------------------------------------------------------------

    def create_temporary_list(
        self, *, list_id: str, name: str, contact_ids: Iterable[str] = ()
    ) -> None:
        """Create a temporary list, with existing contacts (§10).

        When a retry (after a timeout or 5xx) is told the list already exists, and the
        account holds a list with this id and name, the earlier attempt made it: success.
        """
        body = {"externalTemporaryListId": list_id, "name": name, "contacts": list(contact_ids)}
        try:
            self._call("POST", "templist", body=body)
        except SpotlerError as error:
            if not (error.attempts > 1 and _says_already_exists(error)):
                raise
            if not any(
                t.external_id == list_id and t.name == name for t in self.list_temporary_lists()
            ):
                raise
            logger.info("Temporary list %s was made by an earlier attempt", list_id)

    def add_to_temporary_list(self, *, list_id: str, contact_ids: Iterable[str]) -> None:
        """Add existing contacts to one of our temporary lists (§10)."""
        body = {"contacts": list(contact_ids)}
        self._call("POST", f"templist/{_segment(list_id)}", body=body)

    def list_temporary_lists(self) -> list[TemporaryList]:
        """Every temporary list of the account, ours and other systems' (§10, §0.3)."""
        return self._read_list("GET", "templist", parse_temporary_list)

    def delete_temporary_list(self, list_id: str) -> None:
        """Delete one of our temporary lists; 400 "in use" is permanent for this call (§10).

        A 404 after a retry means an earlier attempt deleted it: success.
        """
        try:
            self._call("DELETE", f"templist/{_segment(list_id)}")
        except SpotlerError as error:
            if not (error.attempts > 1 and error.status == 404):
                raise
            logger.info("Temporary list %s was deleted by an earlier attempt", list_id)

    # Diagnostics -------------------------------------------------------------------------

    def prepare_request(
        self, method: str, path: str, *, params: dict | None = None, body: Any = None
    ) -> requests.PreparedRequest:
        """The signed request this client would send, unsent (for diagnostics and tests)."""
        return self._transport.prepare_request(method, path, params=params, body=body)

    # Plumbing ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> Any:
        return self._transport.call(method, path, params=params, body=body)

    def _read_list(
        self, method: str, path: str, parse_item: Callable[[Any], Any], *, body: Any = None
    ) -> list:
        answer = self._call(method, path, body=body)
        return read_answer(lambda data: parse_list(data, parse_item), answer, f"{method} {path}")

    def _pages(
        self,
        path: str,
        key: str,
        parse_item: Callable[[Any], Any],
        params: dict[str, Any],
        after: int | str | None,
    ) -> Iterator[Page]:
        # The end of the data is not documented (spotler-api.md §2.7): stop on an empty page,
        # a page without `paging.after`, or an `after` that did not move.
        while True:
            query = params if after is None else {**params, "after": after}
            body = self._call("GET", path, params=query)
            page = read_answer(
                lambda data: parse_page(data, key=key, parse_item=parse_item), body, f"GET {path}"
            )
            yield page
            if not page.items or page.after is None or page.after == after:
                return
            after = page.after

    def _permission_bits(self) -> list[int]:
        for prop in self.list_properties():
            if prop.name == "permissions":
                return prop.bits
        raise SpotlerError(None, None, "Spotler's property list has no 'permissions' set", True)


def client_from_settings(**options: Any) -> SpotlerClient:
    """A client for `SPOTLER_BASE_URL` with `SPOTLER_CONSUMER_KEY`/`_SECRET` from settings.

    Other `SpotlerClient` arguments (timeout, retry, on_retry, throttle) pass through; without
    a timeout, an answer is awaited `SPOTLER_READ_TIMEOUT` seconds.
    """
    from django.conf import settings

    options.setdefault("timeout", (DEFAULT_TIMEOUT[0], settings.SPOTLER_READ_TIMEOUT))
    return SpotlerClient(
        base_url=settings.SPOTLER_BASE_URL,
        consumer_key=settings.SPOTLER_CONSUMER_KEY,
        consumer_secret=settings.SPOTLER_CONSUMER_SECRET,
        **options,
    )


def _segment(value: str) -> str:
    """An id as one percent-encoded path segment (spotler-api.md §5.4)."""
    if value is None or str(value) == "":
        raise ValueError("an empty id cannot address a Spotler resource")
    return quote(str(value), safe="")


def _wire_with_id(contact: Contact) -> dict[str, Any]:
    if not contact.external_id:
        raise ValueError("this Spotler call needs the contact's external_id")
    return contact_to_wire(contact)


def _window(since: datetime, until: datetime, page_size: int) -> dict[str, Any]:
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    return {
        "fromDate": format_query_date(since),
        "toDate": format_query_date(until),
        "pageSize": page_size,
    }


def _says_already_exists(error: SpotlerError) -> bool:
    if error.status != 400:
        return False
    return error.error_type in ALREADY_EXISTS_TYPES or "already" in error.message.lower()


def _inactivate_unavailable(error: SpotlerError) -> bool:
    return error.status == 405 or (error.status == 404 and error.error_type != "CONTACT_NOT_FOUND")
