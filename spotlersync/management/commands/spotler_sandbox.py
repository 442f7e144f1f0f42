"""`manage.py spotler_sandbox`: serves the Spotler sandbox until Ctrl-C or SIGTERM.

The sandbox is its own process and needs no database: this command only hosts it.
"""

import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from spotler.sandbox.persistence import StateFileError
from spotler.sandbox.rendering import DIALECTS
from spotler.sandbox.server import SandboxServer


class Command(BaseCommand):
    help = (
        "Serves a local stand-in for Spotler Mail+ over HTTP: the API on /integrationservice/ "
        "and /integrationservice-1.1.0/, a control surface on /_sandbox/."
    )
    # A separate process that never touches the database or the checks that read it.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=8765, help="port (0: a free one)")
        parser.add_argument(
            "--state-file",
            type=Path,
            help="keep the state in this JSON file: loaded at start, written after changes",
        )
        parser.add_argument(
            "--seed-demo", action="store_true", help="put demo contacts in an empty sandbox"
        )

    def handle(self, *args, **options) -> None:
        server = self._build(options)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        server.start()
        self._announce(server, options["state_file"])
        while not stop.wait(0.5):
            pass
        self.stdout.write("Stopping the Spotler sandbox...")
        server.stop()
        self.stdout.write("Stopped.")

    def _build(self, options: dict) -> SandboxServer:
        try:
            return SandboxServer(
                host=options["host"],
                port=options["port"],
                state_file=options["state_file"],
                seed_demo_contacts=options["seed_demo"],
            )
        except StateFileError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {exc.strerror or exc}"
            ) from exc

    def _announce(self, server: SandboxServer, state_file: Path | None) -> None:
        account = server.sandbox.account
        with account.reading():
            contacts, keys = len(account.contacts), ", ".join(sorted(account.credentials))
        kept = f"in {state_file}" if state_file else "in memory only"
        lines = [
            f"Spotler sandbox on {server.url}/",
            *(f"  base URL: {server.url}{d.prefix.rstrip('/')}" for d in DIALECTS),
            f"  control:  {server.url}/_sandbox/",
            f"  consumer keys: {keys}",
            f"  state: {contacts} contacts, kept {kept}"
            + (f" ({server.seeded} demo contacts added)" if server.seeded else ""),
            "Ctrl-C stops it.",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
