"""Pushing the contacts a mapping change affects, offered once right after the change is saved.

The offer is open for the version in force that a save or a restore created (it has a version
before it to compare with), until its push is started or another version is saved. The push is
a backfill run of just those contacts (a `mapping_version` filter): it is on the Syncs page with
who started it, counted and cancellable like any resync, and it pulls Spotler's recent changes
first, so an unsubscribe made there is never undone.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from mapping.editor import changes_of_version
from mapping.models import MappingVersion
from mapping.versions import current_version
from sync import runs
from sync.models import SyncRun, SyncRunKind, SyncRunTrigger


class PushRefused(Exception):
    """The push is not (or no longer) offered; the message says why and what to do instead."""


class AlreadyStarted(PushRefused):
    def __init__(self, message: str, *, run: SyncRun | None) -> None:
        super().__init__(message)
        self.run = run


class ConfirmationNeeded(PushRefused):
    """Above MAPPING_PUSH_CONFIRM_ABOVE contacts, the push waits for a tick in a box."""


@dataclass(frozen=True)
class PushOffer:
    number: int
    count: int
    needs_confirmation: bool
    run: SyncRun | None = None  # once the push was started: its run
    started: bool = False


def offer_for(version: MappingVersion) -> PushOffer | None:
    """What the mapping page offers after saving `version`: None when there is nothing to push
    or the version is no longer the one in force."""
    if version.number != current_version().number or not has_previous(version):
        return None
    if version.push_started_at:
        run = SyncRun.objects.filter(pk=version.push_run_id).select_related("requested_by")
        return PushOffer(version.number, 0, False, run=run.first(), started=True)
    count = changes_of_version(version).count()
    if not count:
        return None
    return PushOffer(version.number, count, count > settings.MAPPING_PUSH_CONFIRM_ABOVE)


def start_push(*, number: int, user: AbstractBaseUser, confirmed: bool) -> SyncRun:
    """Start the run that sends the contacts version `number` changed; once per version.

    PushRefused (or its kinds AlreadyStarted, ConfirmationNeeded) says why nothing started.
    """
    version = MappingVersion.objects.get(number=number)
    in_force = current_version()
    if version.number != in_force.number:
        raise PushRefused(
            f"Version {number} is no longer the mapping in force (version {in_force.number} is), "
            "so pushing the contacts it changed is no longer offered. Contacts go to Spotler "
            "with the mapping in force at their next change; an Admin can resync them now on "
            "the Syncs page."
        )
    if not has_previous(version):
        raise PushRefused(
            f"Version {number} is the mapping the installation started with: it changed "
            "nothing to push. An Admin sends every contact again with a full backfill on the "
            "Syncs page."
        )
    if version.push_started_at:
        raise already_started(version)
    count = changes_of_version(version).count()
    if not count:
        raise PushRefused(f"Version {number} changes what Spotler receives for no contact.")
    if count > settings.MAPPING_PUSH_CONFIRM_ABOVE and not confirmed:
        raise ConfirmationNeeded(
            f"Tick the box to confirm: version {number} sends {count:,} contacts to Spotler."
        )
    with transaction.atomic():
        # The claim: only one request gets past this for a version.
        if not MappingVersion.objects.filter(pk=version.pk, push_started_at__isnull=True).update(
            push_started_at=timezone.now()
        ):
            raise already_started(MappingVersion.objects.get(pk=version.pk))
        run = runs.start_run(
            kind=SyncRunKind.BACKFILL,
            trigger=SyncRunTrigger.DASHBOARD,
            requested_by=user,
            filters={"mapping_version": number},
        )
        # The count the page showed; the run fixes its selection (and total) when it starts.
        SyncRun.objects.filter(pk=run.pk).update(total=count)
        MappingVersion.objects.filter(pk=version.pk).update(push_run=run)
    run.total = count
    return run


def is_mapping_push(run: SyncRun) -> bool:
    return run.kind == SyncRunKind.BACKFILL and bool((run.filters or {}).get("mapping_version"))


def has_previous(version: MappingVersion) -> bool:
    """Saved or restored over an earlier version: what it changed can be told (version 1, the
    defaults, would count every contact as changed)."""
    return MappingVersion.objects.filter(number__lt=version.number).exists()


def already_started(version: MappingVersion) -> AlreadyStarted:
    run = SyncRun.objects.filter(pk=version.push_run_id).first()
    when = timezone.localtime(version.push_started_at).strftime("%d %b %Y %H:%M")
    where = f" as run #{run.pk}" if run else ""
    return AlreadyStarted(
        f"The push of version {version.number}'s contacts was already started{where} "
        f"({when}); it was not started again.",
        run=run,
    )
