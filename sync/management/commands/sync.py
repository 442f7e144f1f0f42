import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from django.utils import timezone

from identity.findings import summarize
from spotlersync import queue_presence
from spotlersync.moments import moment_range_problem
from sync import runs
from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger
from sync.progress import failed_word, missing_cluster, sent_word

KINDS = {
    "push": SyncRunKind.PUSH,
    "backfill": SyncRunKind.BACKFILL,
    "pull-updates": SyncRunKind.PULL_UPDATES,
    "pull-bounces": SyncRunKind.PULL_BOUNCES,
    "refresh-properties": SyncRunKind.REFRESH_PROPERTIES,
    "reconcile": SyncRunKind.RECONCILE,
}
POLL_SECONDS = 0.5
QUEUED_HINT_SECONDS = 15
# --wait stops watching (the run goes on) after this long unless --timeout says otherwise: an
# hour covers a backfill of a large ledger at Spotler's pace, and nobody waits forever on a run
# that no worker takes.
DEFAULT_TIMEOUT_SECONDS = 3600
EXAMPLE = "2026-11-22T09:00:00+01:00 or 2026-11-22T08:00:00Z"


class Command(BaseCommand):
    help = (
        "Starts a sync run on the queue, the same run the dashboard starts: push the outbox, "
        "backfill (resend) contacts, pull updated contacts or bounces over a window, refresh "
        "Spotler's properties, or reconcile the ledger with Spotler. A running `manage.py "
        "qcluster` does the work (backfills go to one started with Q_CLUSTER_NAME=backfill when "
        "it runs); --wait follows the run until it ends."
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
        reconcile = actions.add_parser(
            "reconcile",
            help="Compare the contacts with Spotler's copies and list the drift on the run's page.",
        )
        reconcile.add_argument(
            "--sample",
            type=int,
            metavar="N",
            help="Only N contacts, chosen at random (default: every contact).",
        )
        watch = actions.add_parser("watch", help="Follow a run already started until it ends.")
        watch.add_argument("run_id", type=int, help="The run's number, as `sync` printed it.")
        for sub in (push, backfill, pull, bounces, refresh, reconcile, watch):
            sub.add_argument(
                "--timeout",
                type=float,
                default=DEFAULT_TIMEOUT_SECONDS,
                help="Stop watching after this many seconds (the run goes on) and exit non-zero; "
                f"default {DEFAULT_TIMEOUT_SECONDS}.",
            )
        for sub in (push, backfill, pull, bounces, refresh, reconcile):
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
        elif action == "reconcile":
            since = until = None
            filters, option = {"sample": options["sample"]}, ""
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

    def watch(self, run: SyncRun, *, timeout: float) -> None:
        """Print progress until the run ends; raise CommandError unless it succeeded.

        A run nothing takes is said at once (no cluster works its queue) or after
        QUEUED_HINT_SECONDS (still queued), with the command that starts a cluster.
        """
        started = time.monotonic()
        deadline = started + timeout
        shown, hints = None, set()
        while True:
            run.refresh_from_db()
            if run.status in runs.FINISHED:
                break
            progress = (run.status, run.done, run.sent, run.failed)
            if progress != shown:
                self.stdout.write(f"{run.get_status_display()}: {counts(run)}")
                shown = progress
            if run.status == SyncRunStatus.QUEUED:
                self.hint_queued(run, waited=time.monotonic() - started, hints=hints)
            if time.monotonic() > deadline:
                raise CommandError(stopped_watching(run, timeout=timeout))
            time.sleep(POLL_SECONDS)
        if run.status != SyncRunStatus.SUCCEEDED:
            reason = run.error or "no reason recorded"
            status = run.get_status_display().lower()
            raise CommandError(f"{describe(run, capital=True)} {status}: {reason}")
        message = f"{describe(run, capital=True)} succeeded: {counts(run)}"
        self.stdout.write(self.style.SUCCESS(message))

    def hint_queued(self, run: SyncRun, *, waited: float, hints: set[str]) -> None:
        """Say once that nothing takes the run, or that it is still queued, and what to start."""
        command = missing_cluster(run)
        if command and "missing" not in hints:
            self.stdout.write(f"No queue cluster is running to take it. Start one: {command}")
            hints.add("missing")
        elif waited > QUEUED_HINT_SECONDS and not hints:
            self.stdout.write(
                f"Still queued after {QUEUED_HINT_SECONDS} s: the queue's workers are busy, or "
                f"no cluster works its queue; is `{queue_presence.START_COMMAND}` running?"
            )
            hints.add("still queued")


def stopped_watching(run: SyncRun, *, timeout: float) -> str:
    """Why --wait gave up: the run goes on; if nothing took it, what to start."""
    follow = f"Follow it again with: python manage.py sync watch {run.pk}"
    if run.status != SyncRunStatus.QUEUED:
        return f"Stopped watching {describe(run)} after {timeout:g} s; it goes on. {follow}"
    command = missing_cluster(run)
    why = (
        f"no queue cluster is running to take it. Start one: {command}"
        if command
        else f"no worker has taken it yet (busy, or its cluster stopped). Is "
        f"`{queue_presence.START_COMMAND}` running?"
    )
    return (
        f"Stopped watching {describe(run)} after {timeout:g} s: it is still queued, {why} {follow}"
    )


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
    if (run.filters or {}).get("sample") and run.kind == SyncRunKind.RECONCILE:
        text += f" of a random sample of {run.filters['sample']} contacts"
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
    if run.kind != SyncRunKind.RECONCILE:
        text = f"{done} done, {run.sent} sent, {run.failed} failed"
        return text + (f", {run.skipped} skipped" if run.skipped else "")
    text = f"{done} done, {run.sent} {sent_word(run)}, {run.failed} {failed_word(run)}"
    text += f", {run.skipped} skipped" if run.skipped else ""
    if run.status in runs.FINISHED:
        text += f"; {reconciliation_findings(run)}"
    return text


def reconciliation_findings(run: SyncRun) -> str:
    """The findings in a line, or that Spotler holds every contact as the ledger does."""
    summary = summarize(run)
    if summary.clean:
        return f"Spotler holds every contact as the ledger does: {run.sent} compared"
    found = ", ".join(f"{k.found} {k.label.lower()}" for k in summary.kinds if k.found)
    link = reverse("sync:finding-list", args=[run.pk])
    return f"findings: {found or 'none'} (see {link})"
