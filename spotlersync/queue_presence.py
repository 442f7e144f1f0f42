"""Which queues a queue cluster is working right now.

django-q2's cluster statistics (`django_q.status.Stat`) say which clusters are alive, not which
queue each one works. So each `manage.py qcluster` (our command, wrapping django-q2's) also
marks its queue in the shared cache every few seconds, and the mark lapses soon after the last
cluster of that queue stops writing it. The sync uses it to send a backfill to the backfill
cluster when one runs (and to the default cluster otherwise), and to tell an operator waiting for
a run that nothing will take it until they start a cluster.
"""

import time

from django.conf import settings
from django.core.cache import cache

from spotlersync.cache_outage import CACHE_DOWN, warn_cache_down

REPORT_EVERY_SECONDS = 2
# A few missed reports (a slow cache write, a busy machine) do not make a queue look unworked.
LAPSES_AFTER_SECONDS = 10
START_COMMAND = "python manage.py qcluster"
# The time of the latest report of any cluster of a queue, kept long after the mark lapses (and
# not removed when one cluster stops: another may still work the queue), for `/readyz` to say
# how long ago a cluster was last heard of (spotlersync/probes.py).
HEARTBEAT_KEPT_SECONDS = 24 * 3600


def default_queue() -> str:
    return settings.Q_CLUSTER["name"]


def start_command(queue: str) -> str:
    """The command that starts a cluster for `queue`."""
    if queue == default_queue():
        return START_COMMAND
    return f"Q_CLUSTER_NAME={queue} {START_COMMAND}"


def report_alive(queue: str) -> None:
    try:
        cache.set(_key(queue), True, LAPSES_AFTER_SECONDS)
        cache.set(_heartbeat_key(queue), time.time(), HEARTBEAT_KEPT_SECONDS)
    except CACHE_DOWN as error:
        warn_cache_down(f"the {queue} queue's cluster cannot say it is running meanwhile", error)


def report_stopped(queue: str) -> None:
    """The cluster stopped: its queue looks unworked at once (another cluster of the same queue
    marks it again within REPORT_EVERY_SECONDS)."""
    try:
        cache.delete(_key(queue))
    except CACHE_DOWN as error:
        warn_cache_down(f"the {queue} queue's mark lapses by itself", error)


def is_worked(queue: str) -> bool:
    """True if a cluster working `queue` reported in the last LAPSES_AFTER_SECONDS."""
    try:
        return bool(cache.get(_key(queue)))
    except CACHE_DOWN as error:
        warn_cache_down(f"the {queue} queue is taken to have no cluster meanwhile", error)
        return False


def seconds_since_heard_of(queue: str) -> float | None:
    """Seconds since a cluster working `queue` last reported; None if none did in
    HEARTBEAT_KEPT_SECONDS. Raises the cache's error when the cache is down."""
    reported = cache.get(_heartbeat_key(queue))
    return None if reported is None else max(0.0, time.time() - reported)


def _heartbeat_key(queue: str) -> str:
    return f"queue-heartbeat:{queue}"


def _key(queue: str) -> str:
    return f"queue-worked:{queue}"
