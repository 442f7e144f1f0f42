import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from spotlersync.moments import moment_range_problem
from sync import runs
from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger

KINDS = {
    "push": SyncRunKind.PUSH,
    "backfill": SyncRunKind.BACKFILL,
    "pull-updates": SyncRunKind.PULL_UPDATES,
    "pull-bounces": SyncRunKind.PULL_BOUNCES,
    "refresh-properties": SyncRunKind.REFRESH_PROPERTIES,
}
POLL_SECONDS = 0.5
QUEUED_HINT_SECONDS = 15
EXAMPLE = "2026-11-22T09:00:00+01:00 or 2026-11-22T08:00:00Z"


class Command(BaseCommand):
    help = (
        "Starts a sync run on the queue, the same run the dashboard starts: push the outbox, "
        "backfill (resend) contacts, pull updated contacts or bounces over a window, or refresh "
        "Spotler's properties. A running `manage.py qcluster` does the work (backfills: one "
        "started with Q_CLUSTER_NAME=backfill); --wait follows the run until it ends."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        push = actions.add_parser("push", help="Push every pending change to Spotler.")
        backfill = actions.add_parser(
            "backfill",
            help="Send contacts to Spotler again, all of them or those the options select.",
        )
        backfill.add_argument(
            "--changed-since",
            metavar="ISO",
            help=f"Only contacts the shop changed since, ISO 8601: {EXAMPLE}",
        )
        backfill.add_argument(
            "--failed-only", action="store_true", help="Only contacts whose sync failed."
        )
        backfill.add_argument(
            "--language", metavar="CODE", help="Only contacts with this language, e.g. nl_NL."
        )
        backfill.add_argument(
            "--account-manager", metavar="NAME", help="Only this account manager's contacts."
        )
        backfill.add_argument(
            "--ids", nargs="+", metavar="ID", help="Only these contacts (external ids)."
        )
        pull = actions.add_parser(
            "pull-updates",
            help="Read contacts changed in Spotler over a window (default: the last hour).",
        )
        bounces = actions.add_parser(
            "pull-bounces",
            help="Read bounces Spotler recorded over a window (default: the last hour).",
        )
        for sub in (pull, bounces):
            sub.add_argument("--since", help=f"Window start, ISO 8601 with a time zone: {EXAMPLE}")
            sub.add_argument("--until", help="Window end, ISO 8601 with a time zone (default: now)")
        refresh = actions.add_parser(
            "refresh-properties", help="Fetch Spotler's property catalogue."
        )
        watch = actions.add_parser("watch", help="Follow a run already started until it ends.")
        watch.add_argument("run_id", type=int, help="The run's number, as `sync` printed it.")
        for sub in (push, backfill, pull, bounces, refresh, watch):
            sub.add_argument(
                "--timeout",
                type=float,
                help="Stop watching after this many seconds (the run goes on); exits non-zero.",
            )
        for sub in (push, backfill, pull, bounces, refresh):
            sub.add_argument(
                "--wait",
                action="store_true",
                help="Follow the run until it ends; exit non-zero unless it succeeded.",
            )

    def handle(self, *args, action: str, **options) -> None:
        if action == "watch":
            run = SyncRun.objects.filter(pk=options["run_id"]).first()
            if run is None:
                raise CommandError(f"There is no run #{options['run_id']}.")
            self.watch(run, timeout=options["timeout"])
            return
        if action == "backfill":
            since, until = parse_moment(options["changed_since"], "--changed-since"), None
            filters = {
                "failed_only": options["failed_only"],
                "language": options["language"],
                "account_manager": options["account_manager"],
                "ids": options["ids"],
            }
            option = "--changed-since"
        else:
            since = parse_moment(options.get("since"), "--since")
            until = parse_moment(options.get("until"), "--until")
            filters, option = None, "--since"
        if since and since > (until or timezone.now()):
            end = f"--until ({until.isoformat()})" if until else "now"
            raise CommandError(f"{option} ({since.isoformat()}) is later than {end}.")
        try:
            run = runs.start_run(
                kind=KINDS[action], trigger=SyncRunTrigger.COMMAND, since=since, until=until,
                filters=filters,
            )  # fmt: skip
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Started {describe(run)}.")
        if not options["wait"]:
            self.stdout.write(
                f"A running qcluster does the work. Follow it with: "
                f"python manage.py sync watch {run.pk}"
            )
            return
        self.watch(run, timeout=options["timeout"])

    def watch(self, run: SyncRun, *, timeout: float | None) -> None:
        """Print progress until the run ends; raise CommandError unless it succeeded."""
        started = time.monotonic()
        deadline = started + timeout if timeout is not None else None
        shown, hinted = None, False
        while True:
            run.refresh_from_db()
            if run.status in runs.FINISHED:
                break
            progress = (run.status, run.done, run.sent, run.failed)
            if progress != shown:
                self.stdout.write(f"{run.get_status_display()}: {counts(run)}")
                shown = progress
            waited = time.monotonic() - started
            if run.status == SyncRunStatus.QUEUED and waited > QUEUED_HINT_SECONDS and not hinted:
                cluster = "Q_CLUSTER_NAME=backfill " if run.kind == SyncRunKind.BACKFILL else ""
                self.stdout.write(f"Still queued: is `{cluster}python manage.py qcluster` running?")
                hinted = True
            if deadline is not None and time.monotonic() > deadline:
                raise CommandError(
                    f"Stopped watching {describe(run)} after {timeout:g} s; it goes on. "
                    f"Follow it again with: python manage.py sync watch {run.pk}"
                )
            time.sleep(POLL_SECONDS)
        if run.status != SyncRunStatus.SUCCEEDED:
            reason = run.error or "no reason recorded"
            status = run.get_status_display().lower()
            raise CommandError(f"{describe(run, capital=True)} {status}: {reason}")
        message = f"{describe(run, capital=True)} succeeded: {counts(run)}"
        self.stdout.write(self.style.SUCCESS(message))


def parse_moment(value: str | None, option: str) -> datetime | None:
    """An aware datetime from ISO 8601 text; CommandError saying what to fix otherwise."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{option} {value!r} is not an ISO 8601 date and time; write e.g. {EXAMPLE}."
        ) from None
    if timezone.is_naive(moment):
        raise CommandError(f"{option} {value!r} has no time zone; add one, e.g. {EXAMPLE}.")
    problem = moment_range_problem(moment, name=f"{option} {value!r}")
    if problem:
        raise CommandError(problem)
    return moment


def describe(run: SyncRun, *, capital: bool = False) -> str:
    kind = run.get_kind_display()
    text = f"{kind if capital else kind.lower()} run #{run.pk}"
    if run.window_start and run.window_end:
        start = timezone.localtime(run.window_start).isoformat(timespec="seconds")
        end = timezone.localtime(run.window_end).isoformat(timespec="seconds")
        text += f" over {start} to {end}"
    if run.kind == SyncRunKind.BACKFILL:
        text += f" of {selection(run)}"
    return text


def selection(run: SyncRun) -> str:
    """Which contacts a backfill sends, in words: 'every contact', 'failed contacts ...'."""
    filters = run.filters or {}
    ids = filters.get("ids") or []
    text = f"{len(ids)} contact(s) by id" if ids else "every contact"
    if filters.get("failed_only"):
        text = text.replace("contact", "failed contact", 1)
    if run.window_start:
        text += (
            f" changed since {timezone.localtime(run.window_start).isoformat(timespec='seconds')}"
        )
    if filters.get("language"):
        text += f", language {filters['language']}"
    if filters.get("account_manager"):
        text += f", account manager {filters['account_manager']}"
    return text


def counts(run: SyncRun) -> str:
    done = f"{run.done} of {run.total}" if run.total is not None else f"{run.done}"
    text = f"{done} done, {run.sent} sent, {run.failed} failed"
    return text + (f", {run.skipped} skipped" if run.skipped else "")
