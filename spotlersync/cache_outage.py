"""When Redis (the shared cache and the queue broker) is down: carry on without it, and say so.

The ingest API uses Redis for speed and throttling only: the cached API tokens, the per-token
call count, the "push requested" mark and the queued push task. Everything that matters is in
the database, and the one-minute "Push pending changes" schedule sends what was not queued. So
each of those uses catches `REDIS_DOWN`, falls back (to the database, or to nothing), and
calls `warn_redis_down`; a Redis outage never turns an API call into an error.
"""

import logging
import time

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What Django's Redis cache and django-q2's Redis broker raise when Redis does not answer.
REDIS_DOWN = (RedisError,)
WARN_EVERY_SECONDS = 60

_last_warned: dict[str, float] = {}


def warn_redis_down(what: str, error: Exception) -> None:
    """Log that `what` went on without Redis; once a minute per `what` in each process, so an
    outage writes a line a minute, not one per request."""
    now = time.monotonic()
    last = _last_warned.get(what)
    if last is not None and now - last < WARN_EVERY_SECONDS:
        return
    _last_warned[what] = now
    logger.warning("Redis is unreachable (%s: %s); %s", type(error).__name__, error, what)
