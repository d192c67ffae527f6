"""The import rule (docs/architecture.md) and module size, enforced."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "capture", "motion", "uplink", "device")
INDEPENDENT = ("capture", "motion", "uplink")


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_import_rule(path: Path) -> None:
    owner = path.relative_to(REPO).parts[0]
    imports = _imports(path)
    if owner in INDEPENDENT:
        others = (set(INDEPENDENT) - {owner}) | {"device"}
        assert not imports & others, f"{owner} must not import {sorted(imports & others)}"
    if owner == "config":
        assert not imports & set(PACKAGES) - {"config"}, "config imports no other package"
    if "av" in imports:
        where = path.relative_to(REPO).parts[:2]
        assert where == ("capture", "media"), "PyAV only in capture/media"
    if "paho" in imports:
        assert path.relative_to(REPO).parts[0] == "uplink", "paho only in the MQTT module"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_module_size(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 300, f"{path.name} has {lines} lines; split it (house rule: 100-300)"


def test_import_linter_contracts() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter not installed in this environment")
    done = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
