"""`make bench` (python -m bench [name ...]): runs the benchmarks and records their figures.

Each `bench/bench_<name>.py` has `run() -> list[Figure]`. Figures are printed and merged into
`bench/results.json` (kept in git, so a change in a figure shows in review) with the machine,
the time and the command that reproduces each one.
"""

import fcntl
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# DEBUG defaults to off; the benchmarks' own processes (queue clusters, the sandbox, commands)
# run as in `make run`. The servers whose figures are production figures set DEBUG=False (and a
# SECRET_KEY) themselves: bench_ingest.py, bench_backfill.py.
os.environ.setdefault("DEBUG", "True")

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = set(names) - set(available())
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have: {', '.join(available())}")
        return 2
    if len(names) > 1:
        # Each benchmark in a process of its own: some set Django up on a database of their own.
        codes = [subprocess.run([sys.executable, "-m", "bench", name], check=False).returncode
                 for name in names]  # fmt: skip
        return max(codes)
    failed = False
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name}", flush=True)
        started = time.monotonic()
        figures = module.run()
        entry = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
            "command": getattr(module, "COMMAND", f"make bench BENCH={name}"),
            "seconds": round(time.monotonic() - started, 1),
            "figures": [f.as_dict() for f in figures],
        }
        record(name, entry)
        for f in figures:
            print(f"  {f}")
            failed |= f.target_missed
    print(f"figures written to {RESULTS.relative_to(BENCH_DIR.parent)}")
    return 1 if failed else 0


def record(name: str, entry: dict) -> None:
    """Merge one benchmark's figures into the results file; a lock keeps parallel runs apart."""
    with open(BENCH_DIR / ".results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        results[name] = entry
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
