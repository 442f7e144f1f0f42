"""Queue entry points for the mapping (django-q2 runs these by their path)."""

from mapping import catalogue


def refresh_catalogue() -> str:
    refresh = catalogue.refresh_catalogue()
    if not refresh.ok:
        return f"failed: {refresh.error}"
    counts = (len(refresh.added), len(refresh.removed), len(refresh.changed))
    return "added {}, removed {}, changed {}".format(*counts)
