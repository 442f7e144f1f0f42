"""The Spotler connection: what the settings point at (the secret never shown), the account facts
an Admin reads in Spotler and enters here, and *test connection*, which calls Spotler the way
the sync does (the shared rate limit) and keeps what it found on `SpotlerAccount`."""

import time
from dataclasses import dataclass
from datetime import timedelta
from statistics import mean
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

import spotler
from audit import trail
from identity.models import SpotlerAccount
from lists.budget import read_budget
from mapping.stored_catalogue import catalogue_entries
from sync.models import Throttle
from sync.ratelimit import THROTTLE_ID, throttle_until, throttled_until
from sync.spotler_connection import waiting_client

ACCOUNT_FIELDS = ("dedupe_mode", "external_id_field", "shared_with_other_systems")
NAMES_SHOWN = 8  # property names shown on the page; the mapping editor lists them all
# A throttle ending sooner than this is waited out (the rate limiter does it); a longer one
# is reported instead of holding the Admin's page.
THROTTLE_WAITED_SECONDS = 2
PROPERTIES_CALL = "GET contact/properties/list"
TEMPLISTS_CALL = "GET templist"


@dataclass(frozen=True)
class ConnectionSettings:
    """What the settings point spotlersync at, fit to show: the key masked, no secret."""

    base_url: str
    consumer_key: str
    sandbox_key: bool
    rate_limit: float
    templist_limit: int
    read_timeout: float


def connection_settings() -> ConnectionSettings:
    return ConnectionSettings(
        base_url=shown_url(settings.SPOTLER_BASE_URL),
        consumer_key=masked_key(settings.SPOTLER_CONSUMER_KEY),
        sandbox_key=settings.SPOTLER_CONSUMER_KEY == settings.SANDBOX_CONSUMER_KEY,
        rate_limit=settings.SPOTLER_RATE_LIMIT,
        templist_limit=settings.SPOTLER_TEMPLIST_LIMIT,
        read_timeout=settings.SPOTLER_READ_TIMEOUT,
    )


def masked_key(key: str) -> str:
    """The consumer key's first 4 and last 2 characters, enough to tell two keys apart; a key
    shorter than 10 characters is masked whole."""
    if len(key) < 10:
        return trail.MASK
    return f"{key[:4]}{trail.MASK}{key[-2:]}"


def shown_url(url: str) -> str:
    """The base URL without a user name or password, should one have been put in it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{trail.MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def save_account(
    *,
    by: AbstractBaseUser,
    dedupe_mode: str,
    external_id_field: str,
    shared_with_other_systems: bool,
) -> bool:
    """Keep what the Admin read in Spotler; True when anything changed (then audited)."""
    with transaction.atomic():
        account = SpotlerAccount.current()
        account = SpotlerAccount.objects.select_for_update().get(pk=account.pk)
        before = trail.snapshot(account, ACCOUNT_FIELDS)
        account.dedupe_mode = dedupe_mode
        account.external_id_field = external_id_field
        account.shared_with_other_systems = shared_with_other_systems
        after = trail.snapshot(account, ACCOUNT_FIELDS)
        if before == after:
            return False
        account.save(update_fields=[*ACCOUNT_FIELDS, "updated_at"])
        trail.record(
            actor=by, action="changed", object_type="Spotler account", obj=account,
            before=before, after=after,
        )  # fmt: skip
    return True


def check_connection(*, by: AbstractBaseUser) -> dict[str, Any]:
    """Ask Spotler for its properties and temporary lists, as the sync would; keep what was
    found (or why it failed) on the account, audit that a check ran, and return the finding.

    Spotler's failures are the result, not an exception: a person reads them on the page."""
    found: dict[str, Any] = {
        "ok": False,
        "checked_by": by.get_username(),
        "base_url": shown_url(settings.SPOTLER_BASE_URL),
        "consumer_key": masked_key(settings.SPOTLER_CONSUMER_KEY),
        "calls": [],
    }
    held_until = throttled_until()
    if held_until and held_until > timezone.now() + timedelta(seconds=THROTTLE_WAITED_SECONDS):
        found["error"] = _held_back(held_until)
    else:
        _ask_spotler(found)
    answered = [call["ms"] for call in found["calls"] if call["answered"]]
    found["round_trip_ms"] = round(mean(answered)) if answered else None
    found["rate_limit"] = rate_limit_seen(found.get("error"))
    _keep(found, by=by)
    return found


def _ask_spotler(found: dict[str, Any]) -> None:
    stopwatch = Stopwatch()
    with waiting_client(on_send=stopwatch.start) as client:
        try:
            properties = stopwatch.time(found, PROPERTIES_CALL, client.list_properties)
            found["properties"] = properties_found(properties)
            found["permissions"] = permissions_found(properties)
            budget = stopwatch.time(found, TEMPLISTS_CALL, lambda: read_budget(client=client))
        except spotler.SpotlerError as error:
            found["error"] = failure_found(error, call=found["calls"][-1]["call"])
            if error.status == 429:
                _hold_workers_back(error)
            return
    found["templists"] = {
        "in_use": budget.in_use, "limit": budget.limit, "free": budget.free,
        "ours": len(budget.ours), "others": len(budget.others),
    }  # fmt: skip
    found["ok"] = True


class Stopwatch:
    """Times each call from the moment its request left (after the rate limit gave it a slot)
    to its answer, so the wait for a slot is not counted as Spotler's time."""

    def __init__(self) -> None:
        self.sent_at: float | None = None

    def start(self) -> None:
        self.sent_at = time.monotonic()

    def time(self, found: dict[str, Any], name: str, call) -> Any:
        self.sent_at = None
        entry = {"call": name, "ms": None, "answered": False, "ok": False}
        found["calls"].append(entry)
        try:
            result = call()
        except spotler.SpotlerError as error:
            entry["answered"] = error.status is not None
            raise
        finally:
            if self.sent_at is not None:
                entry["ms"] = round((time.monotonic() - self.sent_at) * 1000)
        entry.update(answered=True, ok=True)
        return result


def properties_found(properties: list[spotler.Property]) -> dict[str, Any]:
    """How many properties the account has, the first few names, and how they differ from the
    catalogue the mapping was last checked against."""
    names = [p.name for p in properties]
    kept = catalogue_entries()
    found: dict[str, Any] = {"count": len(names), "names": names[:NAMES_SHOWN]}
    if kept is not None:
        found["new"] = sorted(set(names) - set(kept))
        found["gone"] = sorted(set(kept) - set(names))
    return found


def permissions_found(properties: list[spotler.Property]) -> list[dict[str, Any]] | None:
    """The permission bits of the `permissions` set (spotler-api.md §4), None without one."""
    for prop in properties:
        if prop.name == "permissions":
            entries = sorted(prop.entries, key=lambda e: (e.rank, e.bit))
            return [{"bit": e.bit, "description": e.description} for e in entries]
    return None


def failure_found(error: spotler.SpotlerError, *, call: str) -> dict[str, Any]:
    return {
        "call": call,
        "status": error.status,
        "reason": failure_in_words(error),
        "spotler_says": scrubbed(str(error)),
        "retry_after": error.retry_after,
    }


def failure_in_words(error: spotler.SpotlerError) -> str:
    """What a failed check means for the Admin, and where to look (spotler-api.md §2.4)."""
    status = error.status
    if status is None and error.permanent:
        return "SPOTLER_BASE_URL is not a URL spotlersync can call."
    if status is None:
        return (
            "Spotler could not be reached: no answer came in time. Spotler may be down, or "
            "SPOTLER_BASE_URL points at the wrong place."
        )
    if status in (401, 403):
        return (
            "Spotler refused our credentials. Check SPOTLER_CONSUMER_KEY and "
            "SPOTLER_CONSUMER_SECRET against the key in Spotler (Account & Billing → "
            "Integrations → REST API license), and that the licence is active."
        )
    if status == 404 or 300 <= status < 400:
        return "Spotler's REST API is not at this address: check SPOTLER_BASE_URL."
    if status == 429:
        return "Spotler is limiting our calls: too many requests right now."
    if status >= 500:
        return (
            f"Spotler had a problem of its own (HTTP {status}); our settings are not the "
            "cause. Try again in a few minutes."
        )
    if status < 300:
        return "Spotler's answer could not be read: check SPOTLER_BASE_URL."
    return f"Spotler refused the call (HTTP {status})."


def rate_limit_seen(error: dict[str, Any] | None) -> dict[str, Any]:
    """What the check learned of Spotler's rate limit: only a 429 tells (Spotler documents no
    limit and sends no rate-limit headers, spotler-api.md §13.1)."""
    if error and error.get("status") == 429:
        wait = error.get("retry_after")
        asked = f" and asked us to wait {wait:g} s" if wait is not None else ""
        text = f"Spotler answered 429 (too many requests){asked}; every worker holds back."
        return {"seen": True, "text": text}
    if error and error.get("held_until"):
        return {"seen": True, "text": error["reason"]}
    text = (
        f"No limit reported; we keep to {settings.SPOTLER_RATE_LIMIT:g} requests per second "
        "(SPOTLER_RATE_LIMIT)."
    )
    return {"seen": False, "text": text}


def throttling_so_far() -> Throttle | None:
    """The 429s the workers met (counted since the first), for the page's rate-limit box."""
    return Throttle.objects.filter(pk=THROTTLE_ID).first()


def scrubbed(text: str) -> str:
    """`text` without the secret, and with the key masked (Spotler's message may quote it)."""
    secret, key = settings.SPOTLER_CONSUMER_SECRET, settings.SPOTLER_CONSUMER_KEY
    if secret:
        text = text.replace(secret, trail.MASK)
    if key:
        text = text.replace(key, masked_key(key))
    return text


def _held_back(until) -> dict[str, Any]:
    moment = timezone.localtime(until).strftime("%H:%M:%S")
    return {
        "call": "",
        "status": None,
        "held_until": until.isoformat(),
        "reason": (
            f"Spotler asked us to hold back until {moment} (a 429 the workers met); the check "
            "was not sent, to keep to it. Try again after that."
        ),
        "spotler_says": "",
        "retry_after": None,
    }


def _hold_workers_back(error: spotler.SpotlerError) -> None:
    wait = max(error.retry_after or 1.0, 1.0)
    throttle_until(timezone.now() + timedelta(seconds=wait), reason=str(error)[:300])


def _keep(found: dict[str, Any], *, by: AbstractBaseUser) -> None:
    now = timezone.now()
    with transaction.atomic():
        account = SpotlerAccount.current()
        SpotlerAccount.objects.filter(pk=account.pk).update(last_check=found, last_check_at=now)
        error = found.get("error") or {}
        trail.record(
            actor=by, action="checked", object_type="Spotler connection", obj=account,
            object_label=found["base_url"],
            after={
                "result": "ok" if found["ok"] else "failed",
                "reason": error.get("reason", ""),
                "round_trip_ms": found["round_trip_ms"],
            },
        )  # fmt: skip
