"""How many API requests each endpoint answered, by status: `GET /_sandbox/requests`; and how
many arrived in each second of the clock: `GET /_sandbox/requests/per-second`."""

import threading
import time
from collections import Counter

# Seconds of arrivals kept (an hour): enough for any test or demo to read back.
KEEP_SECONDS = 3600


class RequestCounts:
    """`{"POST contact": {"204": 12, "429": 1}}`, for tests and the dashboard demo."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, Counter[str]] = {}
        self._per_second: Counter[int] = Counter()

    def arrived(self, moment: float | None = None) -> None:
        """An API request arrived (before any rate limit, latency or fault): count its second."""
        second = int(time.time() if moment is None else moment)
        with self._lock:
            self._per_second[second] += 1
            if len(self._per_second) > KEEP_SECONDS:
                del self._per_second[min(self._per_second)]

    def per_second(self) -> dict[str, int]:
        """`{"1764687600": 9, ...}`: API requests that arrived in each whole UNIX second."""
        with self._lock:
            return {str(second): n for second, n in sorted(self._per_second.items())}

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
            self._per_second.clear()
