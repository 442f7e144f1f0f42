"""The budget of temporary lists: at most SPOTLER_TEMPLIST_LIMIT in the Spotler account at
once, every system's lists counted (spotler-api.md §10, §0.3).

A list is counted and created while the one `ListBudget` row is locked, so two Marketers (or
two API calls, in any web process) taking the last free slot get one list and one refusal.
The count is Spotler's own (`GET templist`), so other systems' lists are in it.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

import spotler
from audit import trail
from lists import push_first, tasks
from lists.models import LIST_ID_PREFIX, ListBudget, TempList, TempListState
from spotlersync.cache_outage import cached
from sync.spotler_connection import spotler_client, waiting_client

OLDEST_NAMED = 3
# Home shows the budget as Spotler counted it within the last minute (spotlersync/home.py);
# a list made or deleted here forgets that count, so home shows the new one at once.
BUDGET_CACHE_KEY = "home:list-budget"
MAX_NAME_LENGTH = 200


class BudgetExhausted(Exception):
    """Every slot of the budget is taken; the message names our oldest lists."""


class ListRefused(Exception):
    """Spotler (or our own check) refused to make the list; the message says why."""


@dataclass(frozen=True)
class AccountList:
    """One temporary list of the Spotler account, with ours joined to it when it is ours."""

    spotler_id: str | None
    name: str
    created_at: datetime | None
    type: str | None
    ours: TempList | None

    @property
    def is_ours(self) -> bool:
        return self.ours is not None or (self.spotler_id or "").startswith(LIST_ID_PREFIX)


@dataclass(frozen=True)
class Budget:
    limit: int
    lists: list[AccountList]

    @property
    def in_use(self) -> int:
        return len(self.lists)

    @property
    def free(self) -> int:
        return max(0, self.limit - self.in_use)

    @property
    def ours(self) -> list[AccountList]:
        return [item for item in self.lists if item.is_ours]

    @property
    def others(self) -> list[AccountList]:
        return [item for item in self.lists if not item.is_ours]


def read_budget(*, client: spotler.SpotlerClient | None = None) -> Budget:
    """Every temporary list in the account (ours and other systems'), against the limit."""
    client = client or spotler_client()
    found = client.list_temporary_lists()
    ids = [t.external_id for t in found if t.external_id]
    kept = TempList.objects.filter(spotler_id__in=ids).select_related("replaces", "replaced_by")
    ours = {t.spotler_id: t for t in kept}
    lists = [
        AccountList(t.external_id, t.name, t.created_at, t.type, ours.get(t.external_id or ""))
        for t in found
    ]
    return Budget(limit=settings.SPOTLER_TEMPLIST_LIMIT, lists=lists)


def read_budget_for_page() -> tuple[Budget | None, str]:
    """The budget for a page someone waits for: Spotler asked once, with short timeouts,
    through the shared rate limiter; the error in words when it cannot be read."""
    client = waiting_client()
    try:
        return read_budget(client=client), ""
    except spotler.SpotlerError as error:
        return None, f"The lists in Spotler could not be read: {error}"
    finally:
        client.close()


def exhausted_message(budget: Budget | None = None, *, spotler_refused: bool = False) -> str:
    """What to tell someone who cannot make a list: the budget, and our oldest lists that a
    delete would free (not those already being deleted), with their ids for the API."""
    oldest = (
        TempList.objects.in_spotler()
        .exclude(state__in=(TempListState.DELETING, TempListState.DELETE_PENDING_IN_USE))
        .order_by("created_at", "pk")[:OLDEST_NAMED]
    )
    limit = settings.SPOTLER_TEMPLIST_LIMIT
    if spotler_refused and budget is not None and budget.in_use < limit:
        words = (
            f"Spotler refused the list: “Too many temporary lists”. We count {budget.in_use} "
            f"in use ({len(budget.ours)} ours, {len(budget.others)} other systems'), so the "
            f"account's limit is lower than the {limit} SPOTLER_TEMPLIST_LIMIT says"
        )
    else:
        words = f"All {limit} temporary lists of the Spotler account are in use"
        if budget is not None:
            words += f" ({len(budget.ours)} ours, {len(budget.others)} other systems')"
    names = ", ".join(
        f"“{t.name}” ({t.spotler_id}, made {timezone.localtime(t.created_at):%Y-%m-%d %H:%M})"
        for t in oldest
    )
    if names:
        return f"{words}. Delete one of ours first; the oldest are {names}."
    if TempList.objects.in_spotler().exists():
        return f"{words}. Ours are being deleted already (a mailing may be using them)."
    return f"{words}, none of them ours: another system must delete one of its lists first."


def create_list(
    *,
    name: str,
    contact_ids: list[str],
    left_out: dict[str, int] | None = None,
    unknown_ids: list[str] | None = None,
    filters: dict | None = None,
    named_ids: list[str] | None = None,
    replaces: TempList | None = None,
    created_by: AbstractBaseUser | None = None,
    created_via: str = "dashboard",
    expires_at: datetime | None = None,
    to_push: int | None = None,
    client: spotler.SpotlerClient | None = None,
    actor: trail.Actor = None,
) -> TempList:
    """Take a slot of the budget, make the (empty) list in Spotler, and queue the sending of
    its contacts. BudgetExhausted when no slot is free; ListRefused for a bad name or a
    refusal of Spotler's. Nothing is kept of a refused list, here or in Spotler.

    `named_ids` are the ids the list was named by (a refresh selects from them again);
    `replaces` is the list a refresh replaces (lists/refresh.py); `to_push`: how many of the
    contacts Spotler does not have yet (the selection's count; counted here when not given);
    `actor`: who the audit trail names when not `created_by` (an API token)."""
    name = (name or "").strip()
    if not name:
        raise ListRefused("Give the list a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise ListRefused(f"A list name has at most {MAX_NAME_LENGTH} characters.")
    if expires_at is None:
        expires_at = timezone.now() + timedelta(days=settings.LISTS_DEFAULT_EXPIRY_DAYS)
    if to_push is None:
        to_push = push_first.count_missing(list(contact_ids))
    client = client or spotler_client()
    _ensure_budget_row()
    with transaction.atomic():
        ListBudget.objects.select_for_update().get(pk=1)
        budget = read_budget(client=client)
        if budget.free <= 0:
            raise BudgetExhausted(exhausted_message(budget))
        if (
            # Two names differing only in case are too alike to pick from in a mailing.
            any(item.name.casefold() == name.casefold() for item in budget.lists)
            or TempList.objects.filter(name__iexact=name)
            .exclude(state=TempListState.DELETED)
            .exists()
        ):
            raise ListRefused(f"A temporary list named “{name}” exists already; choose another.")
        made = TempList.objects.create(
            name=name,
            spotler_id=f"{LIST_ID_PREFIX}{uuid.uuid4().hex[:12]}",
            created_by=created_by,
            created_via=created_via,
            expires_at=expires_at,
            contact_ids=list(contact_ids),
            to_push=to_push,
            left_out=left_out or {},
            unknown_ids=unknown_ids or [],
            filters=filters or {},
            named_ids=list(named_ids or []),
            replaces=replaces,
        )
        try:
            client.create_temporary_list(list_id=made.spotler_id, name=name)
        except spotler.SpotlerError as error:
            if "too many temporary lists" in error.message.lower():
                raise BudgetExhausted(exhausted_message(budget, spotler_refused=True)) from error
            raise ListRefused(f"Spotler refused the list: {error}") from error
        trail.record(
            actor=actor or created_by, action="created", object_type="temporary list", obj=made,
            object_label=name,
            after={
                "name": name, "contacts": len(made.contact_ids), "expires_at": expires_at,
                "filters": made.filters, "via": created_via,
                "replaces": replaces.name if replaces else None,
            },
        )  # fmt: skip
        transaction.on_commit(lambda: tasks.queue_send(made.pk))
        transaction.on_commit(forget_counted_budget)
    return made


def forget_counted_budget() -> None:
    cached(cache.delete, BUDGET_CACHE_KEY, what="home may show the list budget a minute late")


def _ensure_budget_row() -> None:
    if ListBudget.objects.filter(pk=1).exists():
        return
    try:
        with transaction.atomic():
            ListBudget.objects.create(pk=1)
    except IntegrityError:
        pass  # another creator made it at the same moment
