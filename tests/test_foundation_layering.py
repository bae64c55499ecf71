"""Architecture rules: models/ is a pure library that never reaches into the application."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_MODELS = ("daemon", "pydantic", "pydantic_settings", "rich", "watchdog", "reapy")


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_models_never_imports_the_application_layer() -> None:
    offenders = {}
    for path in sorted((ROOT / "models").rglob("*.py")):
        bad = _imported_roots(path) & set(FORBIDDEN_IN_MODELS)
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_only_the_bridge_imports_reapy() -> None:
    importers = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "daemon").rglob("*.py"))
                 if "reapy" in _imported_roots(p)]
    assert importers in ([], ["daemon/reaper/bridge.py"])


def test_reaper_scripts_use_only_the_standard_library() -> None:
    import sys

    stdlib = set(sys.stdlib_module_names)
    for path in sorted((ROOT / "reaper_scripts").rglob("*.py")):
        third_party = {root for root in _imported_roots(path) if root not in stdlib}
        # Scripts may import their own shared helper module shipped beside them; the reapy
        # server activation script is reapy's own server loop, so it alone may import reapy.
        allowed = {p.stem for p in path.parent.glob("*.py")} | ({"reapy"} if "reapy_server" in path.stem else set())
        assert third_party - allowed == set(), f"{path.name} imports {sorted(third_party - allowed)}"
