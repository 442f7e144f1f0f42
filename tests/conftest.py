import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User

import spotler
from mapping.catalogue import refresh_catalogue
from mapping.current import forget_yes_no_sources
from spotlersync.roles import Role
from tests import sandbox_fixture

# For tests whose work happens in another process (a queue cluster, a live server): they need
# committed data. Such a test ends by emptying every table, the role groups included, so
# `make_user` puts the groups back (with the migration's own code) when they are missing.
transactional = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"

PERSONAS = {
    "marketer": Role.MARKETER,
    "accountmanager": Role.ACCOUNT_MANAGER,
    "admin": Role.ADMIN,
}


def ensure_roles() -> None:
    if Group.objects.filter(name__in=PERSONAS.values()).count() < len(PERSONAS):
        # A flushed database (transactional tests) has no groups: the migrations that made
        # them, and gave them the later permissions, run again.
        importlib.import_module("spotlersync.migrations.0002_roles").create_roles(apps, None)
        for later in ("0004_public_pages_roles", "0006_review_duplicates"):
            importlib.import_module(f"spotlersync.migrations.{later}").add_permissions(apps, None)


def make_user(username: str, *, role: str | None = None) -> User:
    ensure_roles()
    user = User.objects.create_user(username=username, password=PASSWORD)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def marketer(db) -> User:
    return make_user("marketer", role=Role.MARKETER)


@pytest.fixture
def account_manager(db) -> User:
    return make_user("accountmanager", role=Role.ACCOUNT_MANAGER)


@pytest.fixture
def admin_user(db) -> User:
    return make_user("admin", role=Role.ADMIN)


@pytest.fixture
def client_as(client, db):
    """`client_as("marketer")` logs the test client in as a user of that role."""

    def login(persona: str):
        if persona == "anonymous":
            return client
        role = PERSONAS.get(persona)
        user = make_user(persona, role=role)
        client.force_login(user)
        return client

    return login


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_push_quiet_period(settings):
    """Tests push a contact again right after its last push. The quiet period that collapses a
    burst of live edits has tests of its own (tests/sync/test_push_quiet.py); queue clusters
    started by tests run with the default."""
    settings.SYNC_PUSH_QUIET_SECONDS = 0


@pytest.fixture(autouse=True)
def fresh_yes_no_check():
    """Each test starts from its own mapping (the database is rolled back between tests), so the
    ingest's yes/no check must not keep an earlier test's for its few seconds."""
    forget_yes_no_sources()


# The Spotler sandbox (a real HTTP server on loopback), for tests in any folder.
spotler_sandbox_server = sandbox_fixture.spotler_sandbox_server
spotler_sandbox = sandbox_fixture.spotler_sandbox


@pytest.fixture
def catalogue(db, spotler_sandbox):
    """The sandbox account's property catalogue, fetched over HTTP like the scheduled refresh."""
    client = spotler.SpotlerClient(
        base_url=spotler_sandbox.base_url,
        consumer_key=spotler_sandbox.consumer_key,
        consumer_secret=spotler_sandbox.consumer_secret,
    )
    refresh = refresh_catalogue(client=client)
    assert refresh.ok, refresh.error
    return refresh


@pytest.fixture
def lists_sandbox(spotler_sandbox, settings):
    """The sandbox as our Spotler account, for the live server and the queue too: no rate
    limit, no retries waiting (the temporary lists' tests, in tests/lists and tests/e2e)."""
    spotler_sandbox.set(rate_limit=0)
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_CONSUMER_KEY = spotler_sandbox.consumer_key
    settings.SPOTLER_CONSUMER_SECRET = spotler_sandbox.consumer_secret
    settings.SPOTLER_RATE_LIMIT = 0
    return spotler_sandbox
