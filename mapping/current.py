"""The mapping the push uses: the version in force, compiled, with broken rows left out."""

from dataclasses import replace
from functools import lru_cache

from mapping.catalogue import catalogue_entries
from mapping.editor import shop_zone
from mapping.models import CatalogueRefresh, MappingVersion
from mapping.render import CompiledMapping, Conversion, compile_mapping
from mapping.rows import row_from_json
from mapping.versions import current_version


def mapping_in_force() -> CompiledMapping:
    """Compiled once per (version, catalogue refresh) in each process; two cheap queries."""
    version = current_version()
    last_refresh = (
        CatalogueRefresh.objects.filter(ok=True)
        .order_by("-fetched_at")
        .values_list("pk", "fetched_at")
        .first()
    )
    return _compiled((version.pk, version.created_at), last_refresh)


@lru_cache(maxsize=8)
def _compiled(version_key: tuple, refresh_key: tuple | None) -> CompiledMapping:
    version = MappingVersion.objects.get(pk=version_key[0])  # the very version the key names
    catalogue = catalogue_entries()
    rows = [row_from_json(r, catalogue=catalogue) for r in version.rows]
    history = []
    for saved_at, saved_rows in (
        MappingVersion.objects.filter(created_at__lte=version.created_at)
        .order_by("created_at", "pk")
        .values_list("created_at", "rows")
    ):
        sending = [row_from_json(r) for r in saved_rows]
        bits = {
            int(r.options["bit"])
            for r in sending
            if r.sends and r.conversion == Conversion.PERMISSION
        }
        history.append((saved_at, frozenset(bits)))
    compiled = compile_mapping(rows, tz=shop_zone())
    return replace(compiled, bits_history=tuple(history))
