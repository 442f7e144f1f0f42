from django.core.management.base import BaseCommand

from sync.schedules import setup_schedules


class Command(BaseCommand):
    help = "Creates or updates the recurring jobs (defined in sync/schedules.py) by name."

    def handle(self, *args, **options) -> None:
        for line in setup_schedules():
            self.stdout.write(line)
