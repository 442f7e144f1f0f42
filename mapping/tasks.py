"""Queue entry points for the mapping (django-q2 runs these by their path)."""

from mapping import catalogue


def refresh_catalogue() -> str:
    refresh = catalogue.refresh_catalogue()
    if not refresh.ok:
        return f"failed: {refresh.error}"
    counts = (len(refresh.added), len(refresh.removed), len(refresh.changed))
    return "added {}, removed {}, changed {}".format(*counts)


def push_contacts_of_version(number: int) -> str:
    """Queue an upsert for every contact whose Spotler data mapping version `number` changed."""
    from mapping.editor import changes_of_version
    from mapping.models import MappingVersion
    from sync.outbox import queue_contacts

    version = MappingVersion.objects.get(number=number)
    queued = queue_contacts(contacts=changes_of_version(version))
    return f"queued {queued} contacts for version {number}"
