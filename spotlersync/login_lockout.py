"""Login lockout: what we add to django-axes (settings: "Login lockout" in settings.py).

Axes records failed logins in the database and refuses a login once too many failed; these are
the three hooks it offers that we fill in: separate limits for a user name and for an address,
the client address behind a proxy, and the page a locked-out visitor sees.
"""

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_lockout_parameters
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


class LoginLockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for each lockout parameter.

    Axes compares one count, the largest over AXES_LOCKOUT_PARAMETERS, with one limit
    (AXES_FAILURE_LIMIT, our per-user limit). We want fewer tries for one user name from
    anywhere than from one address, which many colleagues may share behind one office router.
    So each parameter's count is reported on the user limit's scale: an address reaches the
    user limit exactly when it reaches its own (floor(n * user / address) >= user ⇔ n >= address).
    """

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        user_limit = settings.LOGIN_LOCKOUT_USER_FAILURES
        own_limits = {
            "username": user_limit,
            "ip_address": settings.LOGIN_LOCKOUT_ADDRESS_FAILURES,
        }
        parameters = get_lockout_parameters(request, credentials)
        attempts_per_parameter = self.get_user_attempts(request, credentials)
        scaled = [
            _count_failures(attempts) * user_limit // own_limits[parameter]
            for parameter, attempts in zip(parameters, attempts_per_parameter, strict=True)
        ]
        return max(scaled, default=0)


def _count_failures(attempts) -> int:
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def client_address(request: HttpRequest) -> str | None:
    """The address a login comes from: REMOTE_ADDR, or the proxy's header when configured.

    A header is only trusted when the operator names it (LOGIN_CLIENT_IP_HEADER): anyone can
    send X-Forwarded-For, so reading it by default would let a guesser pick a fresh address for
    every try. Of a list (X-Forwarded-For) the last address counts: the one the operator's own
    proxy added. A missing or malformed header counts as REMOTE_ADDR (the proxy itself).
    """
    remote_addr = request.META.get("REMOTE_ADDR")
    header = settings.LOGIN_CLIENT_IP_HEADER
    if not header:
        return remote_addr
    meta_key = "HTTP_" + header.upper().replace("-", "_")
    last_address = request.META.get(meta_key, "").rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(last_address))
    except ValueError:
        return remote_addr


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The page shown instead of logging in while a user name or an address is locked out."""
    cool_off = get_cool_off(request)
    now = timezone.localtime()
    # Every try while locked out is recorded and starts the cool-off again, so the lock is
    # certainly over one cool-off after this try (sooner if older failures expire first).
    retry_at = now + cool_off
    context = {
        "username": get_client_username(request, credentials),
        "now": now,
        "retry_at": retry_at,
        "retry_today": retry_at.date() == now.date(),
        "failure_limits": {
            "user": settings.LOGIN_LOCKOUT_USER_FAILURES,
            "address": settings.LOGIN_LOCKOUT_ADDRESS_FAILURES,
        },
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
