"""How many API requests each endpoint answered, by status: `GET /_sandbox/requests`."""

import threading
from collections import Counter


class RequestCounts:
    """`{"POST contact": {"204": 12, "429": 1}}`, for tests and the dashboard demo."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, Counter[str]] = {}

    def record(self, endpoint: str, status: int) -> None:
        with self._lock:
            self._counts.setdefault(endpoint, Counter())[str(status)] += 1

    def as_json(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {
                endpoint: dict(sorted(c.items())) for endpoint, c in sorted(self._counts.items())
            }

    def total(self) -> int:
        with self._lock:
            return sum(sum(c.values()) for c in self._counts.values())

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
