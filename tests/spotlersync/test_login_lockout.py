"""Password guessing is slowed down: a user name, or an address, that failed too often is locked
out for a while (django-axes, spotlersync/login_lockout.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from spotlersync.roles import Role
from tests.conftest import PASSWORD, make_user

LOGIN = "/login/"
ADMIN_LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def lockout_limits(settings):
    settings.LOGIN_LOCKOUT_USER_FAILURES = 5
    settings.LOGIN_LOCKOUT_ADDRESS_FAILURES = 8
    settings.AXES_FAILURE_LIMIT = 5


def log_in(
    client, username: str, password: str, *, url: str = LOGIN, address="10.0.0.1", **headers
):
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def fail(client, username: str, times: int, **kwargs) -> None:
    for _ in range(times):
        response = log_in(client, username, "wrong password", **kwargs)
        assert response.status_code in (200, 429)


def assert_logged_in(response) -> None:
    assert response.status_code == 302, response.content.decode()[:500]


def assert_locked_out(response) -> None:
    assert response.status_code == 429
    page = response.content.decode()
    assert "Login paused" in page
    assert "Try again after" in page
    assert response["Retry-After"] == str(15 * 60)


def test_five_wrong_passwords_lock_the_user_out_even_with_the_right_one(db, client):
    make_user("marketer", role=Role.MARKETER)
    fail(client, "marketer", 4)
    assert_logged_in(log_in(client, "marketer", PASSWORD))  # four failures are allowed
    client.logout()
    fail(client, "marketer", 1)
    response = log_in(client, "marketer", PASSWORD)
    assert_locked_out(response)
    assert "_auth_user_id" not in client.session


def test_the_user_lockout_holds_from_any_address(db, client):
    make_user("marketer", role=Role.MARKETER)
    for number in range(5):
        fail(client, "marketer", 1, address=f"10.0.1.{number}")
    assert_locked_out(log_in(client, "marketer", PASSWORD, address="10.0.2.1"))


def test_another_user_from_the_same_address_logs_in_until_the_address_limit(db, client):
    make_user("marketer", role=Role.MARKETER)
    make_user("admin", role=Role.ADMIN)
    fail(client, "marketer", 5)
    assert_logged_in(log_in(client, "admin", PASSWORD))
    client.logout()
    # Guesses at other user names from the same address count towards its limit (8 here).
    fail(client, "nobody", 2)
    assert_logged_in(log_in(client, "admin", PASSWORD))
    client.logout()
    fail(client, "someone", 1)
    assert_locked_out(log_in(client, "admin", PASSWORD))
    # ... while admin, from another address, still logs in.
    assert_logged_in(log_in(client, "admin", PASSWORD, address="10.9.9.9"))
    client.logout()
    # An operator lifts the address's lockout.
    call_command("axes_reset_ip", "10.0.0.1")
    assert_logged_in(log_in(client, "admin", PASSWORD))


def test_the_admin_login_locks_out_too(db, client):
    make_user("admin", role=Role.ADMIN)
    fail(client, "admin", 5, url=ADMIN_LOGIN)
    assert_locked_out(log_in(client, "admin", PASSWORD, url=ADMIN_LOGIN))
    assert_locked_out(log_in(client, "admin", PASSWORD))  # and so does the dashboard's


def test_axes_reset_username_lets_the_user_log_in_again(db, client):
    make_user("marketer", role=Role.MARKETER)
    fail(client, "marketer", 5)
    assert_locked_out(log_in(client, "marketer", PASSWORD))
    call_command("axes_reset_username", "marketer")
    assert_logged_in(log_in(client, "marketer", PASSWORD))


def test_an_admin_unlocks_a_user_in_the_django_admin(db, client):
    from axes.models import AccessAttempt

    make_user("marketer", role=Role.MARKETER)
    boss = make_user("boss", role=Role.ADMIN)
    fail(client, "marketer", 5)
    assert_locked_out(log_in(client, "marketer", PASSWORD))

    client.force_login(boss)
    changelist = client.get("/admin/axes/accessattempt/?q=marketer")
    assert changelist.status_code == 200
    assert "marketer" in changelist.content.decode()
    attempts = AccessAttempt.objects.filter(username="marketer")
    response = client.post(
        "/admin/axes/accessattempt/",
        {
            "action": "delete_selected",
            "_selected_action": [a.pk for a in attempts],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    client.logout()
    assert_logged_in(log_in(client, "marketer", PASSWORD))


def test_the_lockout_is_over_after_the_cool_off(db, client, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt
    from django.utils import timezone

    make_user("marketer", role=Role.MARKETER)
    fail(client, "marketer", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert_logged_in(log_in(client, "marketer", PASSWORD))


def test_a_forwarded_for_header_is_ignored_unless_the_operator_names_it(db, client, settings):
    make_user("marketer", role=Role.MARKETER)
    # A guesser who makes up X-Forwarded-For still counts as its real address.
    for number in range(8):
        fail(client, f"user{number}", 1, HTTP_X_FORWARDED_FOR=f"198.51.100.{number}")
    assert_locked_out(log_in(client, "marketer", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99"))

    # Behind a proxy that sets X-Real-IP, that header is the client's address.
    settings.LOGIN_CLIENT_IP_HEADER = "X-Real-IP"
    assert_logged_in(log_in(client, "marketer", PASSWORD, HTTP_X_REAL_IP="203.0.113.5"))


def test_a_lockout_limit_below_one_is_refused_at_start_with_the_variable_named():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(settings.BASE_DIR),
        env={**os.environ, "LOGIN_LOCKOUT_ADDRESS_FAILURES": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LOGIN_LOCKOUT_ADDRESS_FAILURES must be 1 or more" in result.stderr
