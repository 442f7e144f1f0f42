"""What the django-q2 queue is doing right now, read from the broker, its stats and its tables."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure, Success
from django_q.status import Stat

from spotlersync.cache_outage import CACHE_DOWN, warn_cache_down

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterInfo:
    host: str
    cluster_id: str
    status: str
    workers: int
    started: datetime | None


@dataclass(frozen=True)
class QueueStatus:
    broker: str
    broker_reachable: bool
    # The database broker keeps cluster statistics in the cache: without its table they are
    # unknown, while the broker itself works.
    clusters_known: bool = True
    clusters: list[ClusterInfo] = field(default_factory=list)
    queued: int | None = None
    failed: int = 0
    succeeded: int = 0
    recent_failures: list[Failure] = field(default_factory=list)

    @property
    def workers(self) -> int:
        return sum(c.workers for c in self.clusters)

    @property
    def cluster_alive(self) -> bool:
        return bool(self.clusters)


def read_queue_status(*, recent: int = 5) -> QueueStatus:
    broker = get_broker()
    reachable, clusters_known, clusters, queued = True, True, [], None
    name = type(broker).__name__  # Redis's own name (with its version) needs an answer from it
    try:
        broker.ping()
        name = broker.info()
        queued = broker.queue_size()
    except Exception as exc:  # a broker that is down is a state to show, not a page error
        logger.warning("Queue broker unreachable: %s", exc.__class__.__name__)
        reachable = False
    if reachable:
        try:
            clusters = [_cluster_info(stat) for stat in Stat.get_all(broker=broker)]
        except CACHE_DOWN as error:
            warn_cache_down("the home page cannot list the running queue clusters", error)
            clusters_known = False
    return QueueStatus(
        broker=name,
        broker_reachable=reachable,
        clusters_known=clusters_known,
        clusters=sorted(clusters, key=lambda c: (c.host, c.cluster_id)),
        queued=queued,
        failed=Failure.objects.count(),
        succeeded=Success.objects.count(),
        recent_failures=list(Failure.objects.order_by("-stopped")[:recent]),
    )


def _cluster_info(stat: Stat) -> ClusterInfo:
    started = stat.tob
    if started is not None and timezone.is_naive(started):
        started = timezone.make_aware(started)
    return ClusterInfo(
        host=stat.host,
        cluster_id=str(stat.cluster_id),
        status=str(stat.status),
        workers=len(stat.workers),
        started=started,
    )
