"""The account's settings, changed through `POST /_sandbox/settings`."""

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

DEDUPE_CHOICES = ("externalId", "email")


class SettingsError(ValueError):
    """A settings change that names an unknown setting or a value out of range."""


@dataclass(frozen=True)
class SandboxSettings:
    """How the simulated account behaves; every field can be changed while it runs.

    `rate_limit` is requests per second per credential (0 = off); `error_rate` and
    `hang_rate` are the shares (0..1) of API requests that fail with one of
    `error_statuses` or hang for `hang_seconds`; `latency_ms` is added to every API request.
    """

    dedupe: str = "externalId"
    templist_limit: int = 30
    rate_limit: float = 10.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = field(default=(500, 503))
    latency_ms: int = 0
    hang_rate: float = 0.0
    hang_seconds: float = 30.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["error_statuses"] = list(self.error_statuses)
        return data

    def changed(self, changes: dict[str, Any]) -> "SandboxSettings":
        """New settings with `changes` applied; all of them or, on the first bad one, none."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SettingsError(
                f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        checked = {name: CHECKS[name](name, value) for name, value in changes.items()}
        return replace(self, **checked)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SandboxSettings":
        return cls().changed(data)


def _number(name: str, value: Any, *, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"{name} must be a number, got {value!r}")
    if value < low or (high is not None and value > high):
        upper = f" and {high:g}" if high is not None else ""
        raise SettingsError(f"{name} must be between {low:g}{upper}, got {value!r}")
    return value


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{name} must be a whole number, got {value!r}")
    return int(_number(name, value, low=0))


def _share(name: str, value: Any) -> float:
    return float(_number(name, value, low=0, high=1))


def _dedupe(name: str, value: Any) -> str:
    if value not in DEDUPE_CHOICES:
        raise SettingsError(f"dedupe must be one of {', '.join(DEDUPE_CHOICES)}, got {value!r}")
    return value


def _statuses(name: str, value: Any) -> tuple[int, ...]:
    valid = isinstance(value, list) and value
    if not valid or not all(isinstance(s, int) and 500 <= s <= 599 for s in value):
        raise SettingsError(f"error_statuses must be a non-empty list of 5xx codes, got {value!r}")
    return tuple(value)


CHECKS = {
    "dedupe": _dedupe,
    "templist_limit": _whole,
    "rate_limit": lambda name, value: float(_number(name, value, low=0)),
    "error_rate": _share,
    "error_statuses": _statuses,
    "latency_ms": _whole,
    "hang_rate": _share,
    "hang_seconds": lambda name, value: float(_number(name, value, low=0)),
}
