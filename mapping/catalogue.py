"""Spotler's property catalogue: fetched from `contact/properties/list`, kept, compared.

Reading what was kept needs no call to Spotler: that is mapping/stored_catalogue.py.
"""

import logging

from django.db import transaction
from django.utils import timezone

import spotler
from mapping.models import CatalogueRefresh, SpotlerProperty
from sync.spotler_connection import spotler_client

logger = logging.getLogger(__name__)


def refresh_catalogue(*, client: spotler.SpotlerClient | None = None) -> CatalogueRefresh:
    """Fetch the catalogue, store it, and record what changed since the last refresh. By
    default through the rate limit every worker shares, as every scheduled job's call."""
    client = client or spotler_client()
    try:
        properties = client.list_properties()
    except spotler.SpotlerError as error:
        logger.warning("Property catalogue refresh failed: %s", error)
        return CatalogueRefresh.objects.create(ok=False, error=str(error))
    return _store(properties)


@transaction.atomic
def _store(properties: list[spotler.Property]) -> CatalogueRefresh:
    now = timezone.now()
    known = {p.name: p for p in SpotlerProperty.objects.select_for_update()}
    fetched = {p.name: p for p in properties}
    added, changed = [], []
    for name, prop in fetched.items():
        entries = [
            {"bit": e.bit, "description": e.description, "rank": e.rank} for e in prop.entries
        ]
        old = known.get(name)
        if old is None or old.gone_at is not None:
            added.append(name)
        elif old.type != prop.type:
            changed.append({"name": name, "was": old.type, "now": prop.type})
        elif old.entries != entries:
            changed.append({"name": name, "entries_were": old.entries, "entries_now": entries})
        SpotlerProperty.objects.update_or_create(
            name=name,
            defaults={
                "description": prop.description,
                "type": prop.type,
                "entries": entries,
                "last_seen_at": now,
                "gone_at": None,
            },
            create_defaults={
                "description": prop.description,
                "type": prop.type,
                "entries": entries,
                "first_seen_at": now,
                "last_seen_at": now,
            },
        )
    removed = sorted(n for n, p in known.items() if n not in fetched and p.gone_at is None)
    SpotlerProperty.objects.filter(name__in=removed).update(gone_at=now)
    return CatalogueRefresh.objects.create(added=sorted(added), removed=removed, changed=changed)
