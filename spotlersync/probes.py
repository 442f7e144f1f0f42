"""The probes a load balancer or orchestrator asks: `/healthz` (this process answers) and
`/readyz` (the database, the queue broker and a queue cluster answer).

Both answer before any other middleware (ProbeMiddleware comes first): no HTTPS redirect, no
host check (a load balancer probes by address), no session, no cookie. Their bodies name each
check and its state, nothing else.
"""

import logging
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django_q.brokers import get_broker
from django_q.conf import Conf

from spotlersync import queue_presence
from spotlersync.cache_outage import CACHE_DOWN

logger = logging.getLogger(__name__)

OK, DOWN, STALE, OFF = "ok", "down", "stale", "off"
# A probe waits this long for the broker at most: a load balancer's own timeout is a few
# seconds, and a hanging probe says less than a "down".
BROKER_TIMEOUT_SECONDS = 2


def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers; touches nothing else."""
    return HttpResponse("ok", content_type="text/plain")


def readyz(request: HttpRequest) -> HttpResponse:
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "cluster": check_cluster(),
    }
    ready = all(state in (OK, OFF) for state in checks.values())
    return JsonResponse(checks, status=200 if ready else 503)


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure is "down"; the log says which
        logger.warning("Readiness: the database does not answer (%s)", exc.__class__.__name__)
        return DOWN
    return OK


def check_broker() -> str:
    try:
        if Conf.REDIS:
            # django-q2's own client waits for the operating system's timeout (minutes).
            client = redis.Redis.from_url(
                Conf.REDIS,
                socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
                socket_timeout=BROKER_TIMEOUT_SECONDS,
            )
            try:
                client.ping()
            finally:
                client.close()
        else:
            get_broker().ping()  # the database broker
    except Exception as exc:  # any failure is "down"; the log says which
        logger.warning("Readiness: the queue broker does not answer (%s)", exc.__class__.__name__)
        return DOWN
    return OK


def check_cluster() -> str:
    """ "ok" when a cluster of the main queue reported within READYZ_CLUSTER_MAX_AGE_SECONDS;
    "off" when that setting is 0 (a site run without a cluster on purpose)."""
    max_age = settings.READYZ_CLUSTER_MAX_AGE_SECONDS
    if max_age <= 0:
        return OFF
    try:
        age = queue_presence.seconds_since_heard_of(queue_presence.default_queue())
    except CACHE_DOWN as exc:
        logger.warning("Readiness: the cache does not answer (%s)", exc.__class__.__name__)
        return STALE
    return OK if age is not None and age <= max_age else STALE


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": healthz, "/readyz": readyz}


class ProbeMiddleware:
    """First in MIDDLEWARE: answers the probes before anything else runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        response = probe(request)
        response["Cache-Control"] = "no-store"
        return response
