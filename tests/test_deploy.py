"""The systemd unit: verifies clean and stays hardened (exposure <= 2.5)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import require

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "deploy" / "doorcam.service"


@pytest.fixture
def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    require(tool, "systemd-analyze not installed (apt package systemd)")
    assert tool is not None
    return tool


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at a binary that exists here (verify needs one)."""
    text = UNIT.read_text(encoding="utf-8")
    assert "/opt/doorcam/venv/bin/doorcam run" in text
    out = tmp_path / "doorcam.service"
    out.write_text(text.replace("/opt/doorcam/venv/bin/doorcam", shutil.which("true") or
                                "/bin/true"), encoding="utf-8")
    return out


def test_unit_verifies_without_warnings(analyze: str, unit: Path) -> None:
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)
    # verify exits 0 on warnings too: stderr must be empty.
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_unit_exposure_at_most_2_5(analyze: str, unit: Path) -> None:
    done = subprocess.run([analyze, "security", "--offline=yes", "--threshold=25", str(unit)],
                          capture_output=True, text=True, timeout=60)
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert score, done.stdout[-500:] + done.stderr
    assert float(score.group(1)) <= 2.5 and done.returncode == 0, score.group(0)


def test_unit_contract() -> None:
    text = UNIT.read_text(encoding="utf-8")
    for line in ("Type=notify", "WatchdogSec=", "RestartPreventExitStatus=78",
                 "User=doorcam", "SupplementaryGroups=video", "StateDirectory=doorcam",
                 "RuntimeDirectory=doorcam", "ProtectSystem=strict", "NoNewPrivileges=yes",
                 "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service"):
        assert line in text, line
    settings = [ln.strip() for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    assert "PrivateDevices=yes" not in settings, "it would hide the camera"
