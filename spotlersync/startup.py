from django.core import checks
from django.core.management.base import SystemCheckError


def refuse_to_start_on_errors() -> None:
    """Run the system checks and stop the process if any of them is an error."""
    errors = [m for m in checks.run_checks() if m.is_serious() and not m.is_silenced()]
    if errors:
        raise SystemCheckError("\n".join(f"{m.id}: {m.msg} {m.hint or ''}" for m in errors))
