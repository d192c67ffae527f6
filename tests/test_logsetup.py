"""Daemon logging: journald's stream protocol (priority prefixes) when stderr is the journal,
timestamped lines otherwise. The structured fields are checked under real systemd in
tests/test_boot.py."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CODE = """
import logging, sys
from device.daemon.logsetup import setup_logging, event
print(setup_logging("INFO"))
log = logging.getLogger("doorcam")
log.info("hello")
log.error("camera fault: %s", "unplugged", extra=event("camera_fault"))
"""


def _run(tmp_path: Path, journal: bool) -> tuple[str, str]:
    err = tmp_path / "stderr"
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    with err.open("w") as f:
        if journal:
            st = os.fstat(f.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        done = subprocess.run([sys.executable, "-c", CODE], stderr=f, stdout=subprocess.PIPE,
                              text=True, env=env, cwd=REPO, timeout=60, check=True)
    return done.stdout.strip(), err.read_text()


def test_stderr_gets_timestamped_lines(tmp_path: Path) -> None:
    kind, err = _run(tmp_path, journal=False)
    assert kind == "stderr"
    lines = err.splitlines()
    assert lines[0].endswith("INFO MainThread: hello") and lines[0][:4].isdigit()
    assert lines[1].endswith("ERROR MainThread: camera fault: unplugged")


def test_the_journal_stream_gets_priorities_without_timestamps(tmp_path: Path) -> None:
    if importlib.util.find_spec("systemd") is not None:
        pytest.skip("systemd-python is installed: entries go to journald's socket instead")
    kind, err = _run(tmp_path, journal=True)
    assert kind == "journal-stream"
    assert err.splitlines() == ["<6>MainThread: hello",
                                "<3>MainThread: camera fault: unplugged"]


def test_a_journal_stream_of_another_file_is_not_ours(tmp_path: Path) -> None:
    env = {**os.environ, "JOURNAL_STREAM": "1:2"}
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=60, check=True)
    assert done.stdout.strip() == "stderr"
