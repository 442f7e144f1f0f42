"""`/metrics`: the sync's figures in Prometheus' text format, read from the database at scrape.

Every figure lives in the database every process writes to, so one scrape of any web process
tells the truth about every gunicorn worker and queue cluster on every machine, with no
per-process state to add up. Each read is an aggregate over an index or a bounded window.
"""

import hmac
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import StrIndex, Substr
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from bounces.models import FollowUp
from contacts.models import Contact, SyncStatus, TokenScope
from contacts.tokens import TokenRefused, authenticate_api_token
from lists.models import TempList
from public.models import Subscription, SubscriptionState
from sync.health import read_outbox_counts
from sync.models import (
    OutboxEntry,
    SyncEvent,
    SyncEventKind,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
    Throttle,
)
from sync.ratelimit import THROTTLE_ID

WINDOW = timedelta(hours=1)
# Upper bounds (seconds) of the push lag histogram's buckets: from a live change's usual
# second or two to the hour a backlog may take.
LAG_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
PUSH_KINDS = (SyncEventKind.PUSH, SyncEventKind.ANONYMIZE, SyncEventKind.INACTIVATE)
# How a push's timeline line words Spotler's answer (sync/explain.py, spotler/errors.py).
ANSWERED = "Spotler answered "
UNREACHED = "could not be reached"


class SyncCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from _outbox()
        yield _push_lag(now=now)
        yield from _pushes(now=now)
        yield from _throttle(now=now)
        yield _runs()
        yield from _followups(now=now)
        yield from _lists()
        yield _subscriptions()


REGISTRY = CollectorRegistry()
REGISTRY.register(SyncCollector())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request.headers.get("Authorization", ""))
    if refusal is not None:
        return refusal
    # The classic text format (0.0.4), which every Prometheus version reads.
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def _refusal(authorization: str) -> HttpResponse | None:
    """None when the bearer token opens /metrics; otherwise the 401 or 403 saying why not."""
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return _unauthorized("Send a bearer token: an API token with the metrics scope.")
    if settings.METRICS_TOKEN and hmac.compare_digest(
        secret.encode(), settings.METRICS_TOKEN.encode()
    ):
        return None
    try:
        token = authenticate_api_token(secret=secret)
    except TokenRefused as refused:
        return _unauthorized(refused.detail)
    if not token.allows(TokenScope.METRICS):
        return HttpResponse(
            f"API token “{token.name}” is not for metrics; ask an Admin for a token with the "
            "metrics scope.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return None


def _unauthorized(detail: str) -> HttpResponse:
    response = HttpResponse(detail + "\n", status=401, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def _outbox() -> Iterator[Metric]:
    outbox = read_outbox_counts()
    oldest = outbox.oldest_waiting
    yield GaugeMetricFamily(
        "spotlersync_changes_waiting",
        "Changes waiting to be pushed to Spotler (pending or being pushed).",
        value=outbox.waiting,
    )
    yield GaugeMetricFamily(
        "spotlersync_changes_waiting_oldest_age_seconds",
        "Age of the oldest change waiting to be pushed; 0 when none waits.",
        value=(timezone.now() - oldest).total_seconds() if oldest else 0,
    )
    yield GaugeMetricFamily(
        "spotlersync_changes_failed",
        "Changes Spotler refused for good, waiting for someone (the Health page lists them).",
        value=outbox.failed,
    )
    yield GaugeMetricFamily(
        "spotlersync_contacts_held_for_review",
        "Contacts held for review: a new external id with an address another contact has, under "
        "e-mail deduplication, waiting for an Admin (the contacts list's Held for review filter).",
        value=Contact.objects.filter(sync_status=SyncStatus.HELD).count(),
    )


def _push_lag(*, now: datetime) -> Metric:
    """From a change's arrival to Spotler accepting it, for the changes accepted in the last
    hour: cumulative buckets counted by the database, one query."""
    lag = ExpressionWrapper(F("accepted_at") - F("created_at"), output_field=DurationField())
    within = {
        f"le_{bound}": Count("pk", filter=Q(accepted_at__lte=F("created_at") + _seconds(bound)))
        for bound in LAG_BUCKETS
    }
    figures = OutboxEntry.objects.filter(accepted_at__gte=now - WINDOW).aggregate(
        total=Count("pk"), lag_sum=Sum(lag), **within
    )
    buckets = [(str(float(b)), figures[f"le_{b}"]) for b in LAG_BUCKETS]
    buckets.append(("+Inf", figures["total"]))
    lag_sum = figures["lag_sum"]
    return HistogramMetricFamily(
        "spotlersync_push_lag_seconds",
        "Seconds from a change's arrival to Spotler accepting it, over the changes accepted in "
        "the last hour (a window, not a running count: read it without rate()).",
        buckets=buckets,
        sum_value=lag_sum.total_seconds() if lag_sum else 0,
    )


def _pushes(*, now: datetime) -> Iterator[Metric]:
    recent = SyncEvent.objects.filter(at__gte=now - WINDOW, kind__in=PUSH_KINDS)
    pushes = GaugeMetricFamily(
        "spotlersync_pushes_last_hour",
        "Contacts pushed to Spotler in the last hour, by kind (push, anonymize, inactivate) and "
        "outcome (ok, failed).",
        labels=["kind", "outcome"],
    )
    counts = recent.values("kind", "ok").annotate(n=Count("*")).order_by()
    for row in counts:
        pushes.add_metric([row["kind"], "ok" if row["ok"] else "failed"], row["n"])
    yield pushes
    answers = GaugeMetricFamily(
        "spotlersync_spotler_answers_last_hour",
        "Spotler's answers to the contacts pushed in the last hour, by status: 2xx accepted, an "
        "HTTP status that refused the call, 'item' for one contact refused within a batch, "
        "'none' when no answer came.",
        labels=["status"],
    )
    answers.add_metric(["2xx"], sum(row["n"] for row in counts if row["ok"]))
    failed = (
        recent.filter(ok=False)
        .annotate(at_status=StrIndex("answer", Value(ANSWERED)))
        .annotate(status=Substr("answer", F("at_status") + len(ANSWERED), 3))
        .annotate(unreached=StrIndex("answer", Value(UNREACHED)))
        .values("at_status", "status", "unreached")
        .annotate(n=Count("*"))
        .order_by()
    )
    by_status: dict[str, int] = {}
    for row in failed:
        # A refusal within a batch says "Spotler said: CODE: message", with no HTTP status.
        status = row["status"] if row["at_status"] else "none" if row["unreached"] else "item"
        by_status[status] = by_status.get(status, 0) + row["n"]
    for status, n in sorted(by_status.items()):
        answers.add_metric([status], n)
    yield answers


def _throttle(*, now: datetime) -> Iterator[Metric]:
    throttle = Throttle.objects.filter(pk=THROTTLE_ID).first()
    yield CounterMetricFamily(
        "spotlersync_throttles",
        "Times Spotler answered 429 and every worker waited for its Retry-After.",
        value=throttle.times if throttle else 0,
    )
    yield CounterMetricFamily(
        "spotlersync_throttled_seconds",
        "Seconds every worker waited for Spotler's Retry-After (overlapping waits once).",
        value=throttle.seconds_total if throttle else 0,
    )
    left = (throttle.until - now).total_seconds() if throttle else 0
    yield GaugeMetricFamily(
        "spotlersync_throttled_for_seconds",
        "Seconds left of the current wait for Spotler's Retry-After; 0 when not throttled.",
        value=max(0.0, left),
    )


def _runs() -> Metric:
    runs = GaugeMetricFamily(
        "spotlersync_runs",
        "Sync runs kept, by kind and state (finished ones until the nightly clean-up).",
        labels=["kind", "state"],
    )
    found = dict(
        ((row["kind"], row["status"]), row["n"])
        for row in SyncRun.objects.values("kind", "status").annotate(n=Count("*")).order_by()
    )
    for kind in SyncRunKind.values:
        for state in SyncRunStatus.values:
            runs.add_metric([kind, state], found.get((kind, state), 0))
    return runs


def _followups(*, now: datetime) -> Iterator[Metric]:
    figures = FollowUp.objects.unresolved().aggregate(
        open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now))
    )
    yield GaugeMetricFamily(
        "spotlersync_followups_open",
        "Bounce follow-ups not yet done (open or in progress).",
        value=figures["open"],
    )
    yield GaugeMetricFamily(
        "spotlersync_followups_overdue",
        "Bounce follow-ups not done by their due date.",
        value=figures["overdue"],
    )


def _lists() -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "spotlersync_temporary_lists_in_spotler",
        "Our temporary lists in Spotler, by our ledger (other systems' lists are not counted).",
        value=TempList.objects.in_spotler().count(),
    )
    yield GaugeMetricFamily(
        "spotlersync_temporary_lists_limit",
        "Temporary lists the Spotler account may hold (SPOTLER_TEMPLIST_LIMIT).",
        value=settings.SPOTLER_TEMPLIST_LIMIT,
    )


def _subscriptions() -> Metric:
    subscriptions = GaugeMetricFamily(
        "spotlersync_subscriptions",
        "Subscriptions through a subscribe form that Spotler does not have: queued (to be sent) "
        "or failed (refused by Spotler).",
        labels=["state"],
    )
    found = dict(
        Subscription.objects.filter(state__in=[SubscriptionState.QUEUED, SubscriptionState.FAILED])
        .values("state")
        .annotate(n=Count("*"))
        .values_list("state", "n")
        .order_by()
    )
    for state in (SubscriptionState.QUEUED, SubscriptionState.FAILED):
        subscriptions.add_metric([state.value], found.get(state, 0))
    return subscriptions


def _seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
