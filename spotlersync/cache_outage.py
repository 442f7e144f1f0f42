"""When the shared cache cannot serve: carry on without it, and say so.

The shared cache is Redis (with `REDIS_URL`, also the queue broker) or a table in the database
(`spotlersync_cache`, created by `migrate`). The ingest API uses it for speed and throttling
only: the cached API tokens, the per-token call count, the "push requested" mark and the
queued push task. Everything that matters is in the database, and the one-minute "Push pending
changes" schedule sends what was not queued. So each of those uses catches `CACHE_DOWN`, falls
back (to the database, or to nothing), and calls `warn_cache_down`; Redis being down, or the
cache table missing or broken, never turns an API call into an error.
"""

import logging
import time

from django.db import DatabaseError, transaction
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What Django's Redis cache and django-q2's Redis broker raise when Redis does not answer, and
# what Django's database cache raises when its table is missing (a database that only ran part
# of the deploy steps, or a switch from Redis to the database cache) or broken.
CACHE_DOWN = (RedisError, DatabaseError)
WARN_EVERY_SECONDS = 60

_last_warned: dict[str, float] = {}


def warn_cache_down(what: str, error: Exception) -> None:
    """Log that `what` went on without the cache, and what to do about it; once a minute per
    `what` in each process, so an outage writes a line a minute, not one per request."""
    now = time.monotonic()
    last = _last_warned.get(what)
    if last is not None and now - last < WARN_EVERY_SECONDS:
        return
    _last_warned[what] = now
    kind = type(error).__name__
    if isinstance(error, RedisError):
        logger.warning("Redis is unreachable (%s: %s); %s", kind, error, what)
        return
    logger.warning(
        "The database cache table is missing or broken (%s: %s); %s. Create it with "
        "`python manage.py createcachetable` (on a new database `migrate` does it too).",
        kind,
        error,
        what,
    )


def cached(call, *args, what: str):
    """A call of the cache's (get, set, delete) that, with the cache down, does without it:
    None, and a warning naming `what` goes on without it. In a savepoint, so a missing cache
    table does not spoil the request's own queries on PostgreSQL."""
    try:
        with transaction.atomic():
            return call(*args)
    except CACHE_DOWN as error:
        warn_cache_down(what, error)
        return None
