"""A call reads as a straight line: no step of the pipeline imports a later one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# In the order a call takes them. Modules not listed are shared foundations (FHIR reading, bounded GETs, terminology,
# facts, the data-domain table, settings, errors, logs) or wire the steps together (app, api, pipeline,
# services, cli, server, sandbox).
STEPS = [
    ("authentication", {"cdshooks.client_auth", "cdshooks.auth", "cdshooks.jwks", "cdshooks.replay"}),
    ("request", {"cdshooks.protocol"}),
    ("fhir access", {"cdshooks.fhir_access", "cdshooks.fhir_client"}),
    ("prefetch", {"cdshooks.prefetch"}),
    ("record", {"cdshooks.record", "cdshooks.clinical"}),
    ("rules", {"cdshooks.engine", "cdshooks.rules"}),
    ("cards", {"cdshooks.render", "cdshooks.cards", "cdshooks.catalogue"}),
]


def _step_of(module: str) -> int | None:
    for index, (_, modules) in enumerate(STEPS):
        if module in modules or any(module.startswith(m + ".") for m in modules):
            return index
    return None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cdshooks"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("cdshooks")}
    return found


def test_no_step_imports_a_later_one() -> None:
    offences = []
    for path in sorted((ROOT / "cdshooks").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        step = _step_of(module)
        if step is None:
            continue
        for imported in _imports(path):
            later = _step_of(imported)
            if later is not None and later > step:
                offences.append(f"{module} ({STEPS[step][0]}) imports {imported} ({STEPS[later][0]})")
    assert offences == []


def test_foundations_import_no_step() -> None:
    foundations = ["fhir_read", "terminology", "facts", "readers", "domains", "settings", "errors", "logs", "paths"]
    offences = []
    for name in foundations:
        for imported in _imports(ROOT / "cdshooks" / f"{name}.py"):
            if _step_of(imported) is not None:
                offences.append(f"cdshooks.{name} imports {imported}")
    assert offences == []
