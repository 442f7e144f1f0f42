from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from spotlersync.roles import Role

# Demo logins for `make run`; printed by this command and listed in the README.
DEMO_USERS = [
    ("marketer", "spotler-demo", Role.MARKETER),
    ("accountmanager", "spotler-demo", Role.ACCOUNT_MANAGER),
    ("admin", "spotler-demo", Role.ADMIN),
]

# The demo Account manager is one of the demo shop's account managers (contacts/demo_shop.py), so
# the bounce inbox matches its customers' follow-ups to this login (bounces/owners.py).
DEMO_NAMES = {"accountmanager": ("Sanne", "Bakker", "sanne.bakker@demo-shop.example")}


class Command(BaseCommand):
    help = "Creates one demo user per role (SQLite demo database with DEBUG on only)."

    def handle(self, *args, **options) -> None:
        if connection.vendor != "sqlite" or not settings.DEBUG:
            raise CommandError(
                "Demo users are only created in the SQLite demo database with DEBUG on. "
                "Create real users with `manage.py createsuperuser` or in the Django admin."
            )
        with transaction.atomic():
            for username, password, role in DEMO_USERS:
                user, _ = User.objects.get_or_create(username=username)
                user.set_password(password)
                if username in DEMO_NAMES:
                    user.first_name, user.last_name, user.email = DEMO_NAMES[username]
                user.save()
                user.groups.set([Group.objects.get(name=role)])
        self.stdout.write("Demo logins (user / password / role):")
        for username, password, role in DEMO_USERS:
            name = f" ({' '.join(DEMO_NAMES[username][:2])})" if username in DEMO_NAMES else ""
            self.stdout.write(f"  {username:<15} {password:<13} {role}{name}")
