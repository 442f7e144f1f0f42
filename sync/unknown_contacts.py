"""ExternalIds Spotler reports that the ledger does not know, counted for an operator to look
into (Django admin: *Unknown contacts*). Both pulls record them, a page at a time."""

from collections import Counter

from django.db.models import F

from sync.models import UnknownContact


def record_unknown(external_ids: list[str], *, source: str) -> None:
    """Count each externalId the ledger does not know (one more for each time it is seen)."""
    seen = Counter(external_ids)
    if not seen:
        return
    known = set(
        UnknownContact.objects.filter(external_id__in=seen).values_list("external_id", flat=True)
    )
    for times in set(seen.values()):
        UnknownContact.objects.filter(
            external_id__in=[e for e in known if seen[e] == times]
        ).update(times_seen=F("times_seen") + times)
    UnknownContact.objects.bulk_create(
        [
            UnknownContact(external_id=e, source=source, times_seen=n)
            for e, n in seen.items()
            if e not in known
        ],
        ignore_conflicts=True,
    )
