"""API tokens: created by an Admin or `create_api_token`, stored hashed, shown once."""

import hashlib
import math
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from audit import trail
from contacts.models import ApiToken, TokenScope
from spotlersync.cache_outage import CACHE_DOWN, warn_cache_down

TOKEN_PREFIX = "ssk_"  # noqa: S105  (marks our tokens in logs and secret scanners)
# Writing `last_used_at` on every request would turn every read into a write; once a minute is
# enough to tell a live token from a forgotten one.
LAST_USED_PRECISION_SECONDS = 60
TOKEN_CACHE_SECONDS = 60


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the only time the full token exists outside the client


class TokenRefused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(detail)


class RateLimited(Exception):
    def __init__(self, *, limit: int, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"This token made more than {limit} calls this minute; wait {retry_after} s and "
            "send again (the Retry-After header says the same). Send batches to load many."
        )


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(
    *,
    name: str,
    scope: TokenScope,
    created_by: AbstractBaseUser | None = None,
    actor: trail.Actor = None,
) -> NewToken:
    """`actor`: who to name in the audit trail when not `created_by` (e.g. "manage.py ...")."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name,
            scope=scope,
            prefix=secret[:12],
            token_hash=hash_token(secret),
            created_by=created_by,
        )
        trail.record(
            actor=actor or created_by, action="created", object_type="api token", obj=token,
            after={"name": name, "scope": str(scope), "prefix": token.prefix},
        )  # fmt: skip
    return NewToken(token=token, secret=secret)


def revoke_api_token(*, token: ApiToken, actor: trail.Actor = None) -> bool:
    """Revoke at once; False when it already was."""
    now = timezone.now()
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if revoked:
            trail.record(
                actor=actor, action="revoked", object_type="api token", obj=token,
                before={"revoked_at": None}, after={"revoked_at": now},
            )  # fmt: skip
    forget_cached_token(token=token)
    return revoked == 1


def authenticate_api_token(*, secret: str) -> ApiToken:
    """The token `secret` belongs to, or `TokenRefused` saying why not.

    Valid tokens are kept a minute in the shared cache (one database query less per call);
    revoking one removes it there at once. Without the cache (Redis down) they are read from
    the database.
    """
    token_hash = hash_token(secret)
    token = _cached_token(token_hash)
    if token is None:
        token = ApiToken.objects.filter(token_hash=token_hash).first()
        if token is not None and not token.is_revoked:
            _cache_token(token)
    if token is None:
        raise TokenRefused(
            "invalid_token", "This API token is not valid; check it, or ask an Admin for one."
        )
    if token.is_revoked:
        raise TokenRefused(
            "token_revoked",
            f"API token “{token.name}” ({token.prefix}…) was revoked; ask an Admin for a new one.",
        )
    record_token_use(token=token)
    return token


def record_token_use(*, token: ApiToken) -> None:
    now = timezone.now()
    if token.used_recently(now, seconds=LAST_USED_PRECISION_SECONDS):
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    _cache_token(token)


def forget_cached_token(*, token: ApiToken) -> None:
    """Every process reads tokens through the shared cache: after a change (a revocation, a new
    scope) forget it there, so the very next call sees the change."""
    try:
        cache.delete(_cache_key(token.token_hash))
    except CACHE_DOWN as error:
        # While Redis is down every process reads tokens from the database, so the change holds
        # at once; only a Redis back within TOKEN_CACHE_SECONDS could still serve the old copy.
        warn_cache_down(
            f"token {token.prefix}… changed without forgetting its cached copy, which lapses "
            f"within {TOKEN_CACHE_SECONDS} s",
            error,
        )


def forget_deleted_token(sender: type[ApiToken], instance: ApiToken, **kwargs: object) -> None:
    """`post_delete` receiver: a token deleted any way (the Django admin, its bulk action, the
    shell) stops working on the very next call, as a revoked one does.

    Forgotten now, and again once the deletion commits: a call in between still finds the row
    in the database and could cache it anew for TOKEN_CACHE_SECONDS.
    """
    forget_cached_token(token=instance)
    transaction.on_commit(lambda: forget_cached_token(token=instance))


def _cached_token(token_hash: str) -> ApiToken | None:
    try:
        return cache.get(_cache_key(token_hash))
    except CACHE_DOWN as error:
        warn_cache_down("API tokens are read from the database meanwhile", error)
        return None


def _cache_token(token: ApiToken) -> None:
    try:
        cache.set(_cache_key(token.token_hash), token, TOKEN_CACHE_SECONDS)
    except CACHE_DOWN as error:
        warn_cache_down("API tokens are read from the database meanwhile", error)


def _cache_key(token_hash: str) -> str:
    return f"api-token:{token_hash}"


def count_token_call(*, token: ApiToken) -> None:
    """Count one call against the token's per-minute allowance; `RateLimited` beyond it.

    A fixed one-minute window in the shared cache (Redis in production): cheap, and exact enough
    to stop a runaway client without slowing a busy one. While Redis is down calls are not
    counted: the limit guards the outbox, and refusing every call would be worse.
    """
    limit = settings.API_RATE_LIMIT
    if not limit:
        return
    now = time.time()
    window = int(now // 60)
    key = f"api-calls:{token.token_hash[:16]}:{window}"
    try:
        calls = _count_call(key)
    except CACHE_DOWN as error:
        warn_cache_down("API calls are not counted against API_RATE_LIMIT meanwhile", error)
        return
    if calls > limit:
        raise RateLimited(limit=limit, retry_after=max(1, math.ceil((window + 1) * 60 - now)))


def _count_call(key: str) -> int:
    if hasattr(cache, "count_in_window"):  # Redis (spotlersync/redis_cache.py): one round trip
        return cache.count_in_window(key, timeout=120)
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        return 1
