"""The import graph of the sync engine: read from the top of each file, one way, no cycles.

Each module of `sync/` imports on its own in a fresh interpreter (a cycle at module level shows
up there as an ImportError of a half-initialised module), the module-level imports between
them form no cycle at all, and an import placed inside a function says why it is there. The
ingest API, which writes the outbox on every change, does not load the push engine.
"""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SYNC = ROOT / "sync"

# What only pushing and pulling need: the ingest path has no business loading it.
PUSH_ENGINE = [
    "sync.push",
    "sync.push_calls",
    "sync.push_claims",
    "sync.push_payload",
    "sync.spotler_connection",
    "sync.ratelimit",
    "sync.pull",
    "sync.pull_bounces",
    "sync.paged_pull",
    "sync.backfill",
    "sync.runs",
    "spotler",  # the client package: no Spotler call is made while a change is accepted
    "spotler.client",
    "mapping.catalogue",  # fetches Spotler's catalogue; the ingest only reads the stored one
]


def sync_modules() -> list[str]:
    paths = [p for p in SYNC.rglob("*.py") if "migrations" not in p.parts]
    names = []
    for path in sorted(paths):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def loaded_after_import(module: str) -> set[str]:
    """The modules a fresh interpreter holds after setting Django up and importing `module`."""
    code = (
        "import sys, django\n"
        "django.setup()\n"
        f"import {module}\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, f"importing {module} alone failed:\n{done.stderr}"
    return set(done.stdout.split())


@pytest.mark.parametrize("module", sync_modules())
def test_each_sync_module_imports_on_its_own(module):
    assert module in loaded_after_import(module)


def test_the_ingest_api_does_not_load_the_push_engine():
    """The mapping's render module does load: the yes/no check compiles the mapping in force
    (mapping/current.py) to know which fields it reads as yes or no."""
    loaded = loaded_after_import("contacts.ingest")

    assert "sync.outbox" in loaded  # the ingest writes the outbox...
    assert sorted(loaded & set(PUSH_ENGINE)) == []  # ...and leaves pushing to the push task


def top_level_imports(path: Path) -> set[str]:
    """The sync modules `path` imports at module level (not inside a function)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    modules = set(sync_modules())
    return {name for name in found if name in modules and name != "sync"}


def test_the_sync_modules_import_each_other_without_a_cycle():
    graph = {
        module: top_level_imports(ROOT / (module.replace(".", "/") + ".py"))
        for module in sync_modules()
        if (ROOT / (module.replace(".", "/") + ".py")).exists()
    }
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for imported in sorted(graph.get(module, ())):
            if imported in path:
                cycles.append(" -> ".join([*path[path.index(imported) :], imported]))
            elif imported not in done:
                visit(imported, [*path, imported])
        done.add(module)

    done: set[str] = set()
    for module in graph:
        if module not in done:
            visit(module, [module])

    assert cycles == []


def test_every_import_inside_a_sync_function_says_why():
    unexplained = []
    for path in sorted(p for p in SYNC.rglob("*.py") if "migrations" not in p.parts):
        if path.name == "apps.py":
            continue  # AppConfig.ready() imports where Django wants them
        lines = path.read_text().splitlines()
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in function.body:
                if isinstance(node, ast.Import | ast.ImportFrom):
                    here, above = lines[node.lineno - 1], lines[node.lineno - 2]
                    if "#" not in here and not above.strip().startswith("#"):
                        unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")

    assert unexplained == []
