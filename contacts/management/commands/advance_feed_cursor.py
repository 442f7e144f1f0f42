from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts import feed


class Command(BaseCommand):
    help = (
        "After restoring a backup: makes the changes feed hand out cursors above any the linked "
        "system has already read (README: Backup and restore)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        past = parser.add_mutually_exclusive_group(required=True)
        past.add_argument(
            "--past", type=int, metavar="CURSOR",
            help="The highest cursor the linked system has read (its stored `after`).",
        )  # fmt: skip
        past.add_argument(
            "--margin", type=int, metavar="N",
            help="When that cursor is not known: this many past the restored feed's last entry.",
        )  # fmt: skip

    def handle(self, *args, past: int | None, margin: int | None, **options) -> None:
        if (past if past is not None else margin) < 0:
            raise CommandError("Give a cursor or a margin of 0 or more.")
        if past is None:
            past = feed.last_cursor() + margin
        before, after = feed.advance_cursor(past=past, actor="manage.py advance_feed_cursor")
        if after == before:
            self.stdout.write(f"The next change already gets cursor {after}; nothing to move.")
        else:
            self.stdout.write(f"The next change gets cursor {after} (it would have got {before}).")
