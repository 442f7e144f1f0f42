from django.core.management.base import BaseCommand, CommandParser

from contacts.models import TokenScope
from contacts.tokens import create_api_token


class Command(BaseCommand):
    help = "Creates an API token for the ingest API and prints it (the only time it is shown)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Who or what uses it, e.g. 'Webshop production'.")
        parser.add_argument(
            "--scope", choices=TokenScope.values, default=TokenScope.WRITE, help="Default: write."
        )

    def handle(self, *args, name: str, scope: str, **options) -> None:
        new = create_api_token(
            name=name, scope=TokenScope(scope), actor="manage.py create_api_token"
        )
        # The token alone on stdout, so automation can capture it; the note goes to stderr.
        self.stderr.write(f"Created {scope} token “{name}”; it is not shown again.")
        self.stdout.write(new.secret)
