import pytest
from django.contrib.auth.models import Group, User

from spotlersync.roles import Role

# For tests whose work happens in another process (a queue cluster, a live server): they need
# committed data. `serialized_rollback` puts back what migrations created (the role groups)
# after the flush that ends such a test.
transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "correct horse battery staple"

PERSONAS = {
    "marketer": Role.MARKETER,
    "accountmanager": Role.ACCOUNT_MANAGER,
    "admin": Role.ADMIN,
}


def make_user(username: str, *, role: str | None = None) -> User:
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
