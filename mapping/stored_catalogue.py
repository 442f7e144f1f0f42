"""Spotler's property catalogue as the last refresh kept it (mapping/catalogue.py fetches it):
what the mapping is checked against. Reading it calls nothing in Spotler, so the ingest API's
yes/no check can use it without the Spotler client."""

from mapping.models import CatalogueRefresh, SpotlerProperty
from mapping.rows import CatalogueEntry, broken_rows
from mapping.versions import current_version


def catalogue_entries() -> dict[str, CatalogueEntry] | None:
    """What the account has now, or None before the first successful refresh."""
    if not CatalogueRefresh.objects.filter(ok=True).exists():
        return None
    return {
        p.name: CatalogueEntry(p.type, frozenset(p.bits)) for p in SpotlerProperty.objects.present()
    }


def mapping_drift() -> list[str]:
    """Sentences naming each mapped property the Spotler account no longer fits."""
    catalogue = catalogue_entries()
    if catalogue is None:
        return []
    return broken_rows(current_version().rows, catalogue=catalogue)
