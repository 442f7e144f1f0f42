"""Subscriptions through a subscribe form: stored first, then sent to Spotler exactly once
(`POST subscription/subscribe`, spotler-api.md §11).

A new subscription is stored claimed by the request that made it, which tries Spotler once,
with a short timeout and only when the shared rate limit has a slot at once; otherwise (or when
Spotler is down or throttles) it stays queued and the queue sends it: `send_queued_subscriptions`
claims due rows with a token, as pushes do (sync/push_claims.py), so no two workers send one
subscription; transient failures wait with the push backoff, permanent refusals are kept with
Spotler's reason until an Admin retries them. A claim older than the push lease
(SYNC_PUSH_LEASE_SECONDS) belonged to a process that died and is released, so nothing is lost.
"""

import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import spotler
from public.models import SubscribeForm, Subscription, SubscriptionState
from public.subscribe_fields import Submission
from sync.push_claims import backoff, lease
from sync.ratelimit import RateLimiter, throttle_until, throttled_until

SUBSCRIBED = "subscribed"
QUEUED = "queued"
# A request waits at most this long for its slot of the shared rate limit; longer, it queues.
MAX_SLOT_WAIT_SECONDS = 0.5
SEND_REQUEST_KEY = "public:subscriptions-send-requested"
SEND_REQUEST_SECONDS = 5  # at most one send task enqueued per this many seconds
CLAIM_BATCH = 50
SEND_BUDGET_SECONDS = 50  # a send task stops taking new rows after this (the schedule is 1 min)


def subscribe(*, form: SubscribeForm, submission: Submission) -> str:
    """Store the subscription and try Spotler once; SUBSCRIBED when Spotler took it within the
    request, QUEUED when the queue will send it (or it was refused: the visitor is told the
    same, so no answer says anything about the address)."""
    token = uuid.uuid4().hex
    subscription = Subscription.objects.create(
        form=form,
        email=submission.email,
        properties=submission.properties,
        permission_bits=list(form.permission_bits),
        claim=token,
        claimed_at=timezone.now(),
    )
    if settings.PUBLIC_SUBSCRIBE_TRY_AT_ONCE and _slot_now():
        error = _send(subscription, client=_request_client())
        outcome = _settle(subscription.pk, token=token, error=error)
        # A refusal (a blacklisted address, say) answers as a success does: no answer may tell
        # a known or opted-out address from a new one. The form's page shows the refusal.
        if outcome in ("sent", "refused"):
            return SUBSCRIBED
    else:
        Subscription.objects.filter(pk=subscription.pk, claim=token).update(claim="")
    request_sending()
    return QUEUED


def request_sending() -> None:
    """Have the queue send what is due soon, without one task per subscription."""
    if cache.add(SEND_REQUEST_KEY, 1, timeout=SEND_REQUEST_SECONDS):
        from public.subscribe_tasks import queue_send

        transaction.on_commit(queue_send)


def send_queued_subscriptions(*, budget_seconds: float = SEND_BUDGET_SECONDS) -> str:
    """Send every due queued subscription, through the shared rate limit; a short summary.

    Each is tried once per run: the backoff between runs is the retry. After a transient
    failure the run stops (Spotler is down or throttling) and leaves the rest of its batch
    as it was, without counting a try against them."""
    started = time.monotonic()
    limiter = RateLimiter()
    client = spotler.client_from_settings(
        throttle=limiter.wait, retry=spotler.RetryPolicy(max_retries=0)
    )
    counts = {"sent": 0, "retry later": 0, "refused": 0}
    try:
        while time.monotonic() - started < budget_seconds:
            token, claimed = claim_due(limit=CLAIM_BATCH)
            if not claimed or not _send_claimed(claimed, token=token, client=client, counts=counts):
                break
    finally:
        client.close()
    return ", ".join(f"{n} {what}" for what, n in counts.items())


def _send_claimed(claimed: list[Subscription], *, token: str, client, counts: dict) -> bool:
    """Send a claimed batch; False when a transient failure stopped it."""
    for index, subscription in enumerate(claimed):
        error = _send(subscription, client=client)
        outcome = _settle(subscription.pk, token=token, error=error)
        counts[outcome] += 1
        if outcome == "retry later":
            rest = [s.pk for s in claimed[index + 1 :]]
            Subscription.objects.filter(pk__in=rest, claim=token).update(claim="")
            return False
    return True


def claim_due(*, limit: int) -> tuple[str, list[Subscription]]:
    """Take up to `limit` due queued subscriptions no other worker holds."""
    now = timezone.now()
    Subscription.objects.filter(
        state=SubscriptionState.QUEUED, claimed_at__lt=now - lease()
    ).exclude(claim="").update(claim="")
    token = uuid.uuid4().hex
    with transaction.atomic():
        # PostgreSQL: rows another worker is claiming right now are skipped, not waited for.
        ids = list(
            Subscription.objects.select_for_update(skip_locked=True)
            .filter(state=SubscriptionState.QUEUED, claim="")
            .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        Subscription.objects.filter(pk__in=ids, claim="").update(claim=token, claimed_at=now)
    return token, list(Subscription.objects.filter(claim=token).order_by("pk"))


def retry_subscription(subscription: Subscription) -> bool:
    """An Admin sends a refused (or waiting) subscription again; False if it is already sent
    or being sent right now (a claimed row is left to whoever holds it)."""
    changed = Subscription.objects.filter(
        pk=subscription.pk,
        state__in=[SubscriptionState.FAILED, SubscriptionState.QUEUED],
        claim="",
    ).update(state=SubscriptionState.QUEUED, not_before=None, attempts=0)
    if changed:
        request_sending()
    return bool(changed)


def _slot_now() -> bool:
    """Reserve a slot of the shared rate limit if one comes within MAX_SLOT_WAIT_SECONDS."""
    if settings.SPOTLER_RATE_LIMIT <= 0:
        return True
    if throttled_until() is not None:
        return False
    start = RateLimiter().reserve()
    wait = start - time.time()
    if wait > MAX_SLOT_WAIT_SECONDS:
        return False
    if wait > 0:
        time.sleep(wait)
    return True


def _request_client() -> spotler.SpotlerClient:
    seconds = settings.PUBLIC_SUBSCRIBE_TIMEOUT_SECONDS
    return spotler.client_from_settings(
        timeout=(seconds, seconds), retry=spotler.RetryPolicy(max_retries=0)
    )


def _send(
    subscription: Subscription, *, client: spotler.SpotlerClient
) -> spotler.SpotlerError | None:
    contact = spotler.Contact(
        properties={**subscription.properties, "email": subscription.email},
        permissions={int(bit): True for bit in subscription.permission_bits},
    )
    try:
        client.subscribe(contact)
    except spotler.SpotlerError as error:
        if error.status == 429:
            wait = error.retry_after or 1.0
            throttle_until(timezone.now() + timedelta(seconds=wait), reason=str(error)[:300])
        return error
    return None


def _settle(pk: int, *, token: str, error: spotler.SpotlerError | None) -> str:
    """Write what Spotler answered on the claimed row; which of the three outcomes it was."""
    now = timezone.now()
    mine = Subscription.objects.filter(pk=pk, claim=token, state=SubscriptionState.QUEUED)
    if error is None:
        mine.update(
            state=SubscriptionState.SENT, sent_at=now, claim="", error="",
        )  # fmt: skip
        return "sent"
    attempts = (mine.values_list("attempts", flat=True).first() or 0) + 1
    if error.permanent:
        mine.update(state=SubscriptionState.FAILED, claim="", error=str(error), attempts=attempts)
        return "refused"
    wait = max(backoff(attempts), timedelta(seconds=error.retry_after or 0))
    mine.update(claim="", error=str(error), attempts=attempts, not_before=now + wait)
    return "retry later"
