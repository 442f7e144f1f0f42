"""Nothing but tests, the demo and the `spotler_sandbox` command imports the sandbox
(docs: DESIGN.md, "Rule of dependency")."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORTS_SANDBOX = re.compile(r"^\s*(from|import)\s+spotler\.sandbox\b", re.MULTILINE)
ALLOWED = ("spotler/sandbox/", "tests/", "bench/", "scripts/")
ALLOWED_FILES = {"spotlersync/management/commands/spotler_sandbox.py"}
SKIPPED = (".venv/", "node_modules/", "static/vendor/")


def test_only_tests_the_demo_and_the_sandbox_command_import_the_sandbox():
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(SKIPPED + ALLOWED) or relative in ALLOWED_FILES:
            continue
        if "demo" in path.stem:
            continue
        if IMPORTS_SANDBOX.search(path.read_text(encoding="utf-8", errors="replace")):
            offenders.append(relative)

    assert offenders == []
