"""ONVIF's reference validator (the framework's example app), built from a checkout named by
DOORCAM_MEDIA_SIGNING_SRC, and its verdict on a clip."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import build_lock, run_folder

SIGNING_SRC = os.environ.get("DOORCAM_MEDIA_SIGNING_SRC", "")


def build_validator(src: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The validator app, built once into DOORCAM_MEDIA_SIGNING_BUILD (or a folder of this
    test run's, which its xdist workers share); whoever comes first builds, the rest wait."""
    build = Path(os.environ.get("DOORCAM_MEDIA_SIGNING_BUILD")
                 or run_folder(tmp_path_factory) / "msf")
    prefix = build / "inst"
    exe = prefix / "bin" / "validator"
    with build_lock(build):
        if not exe.exists():
            shutil.rmtree(build / "build", ignore_errors=True)  # a build cut short
            for cmd in (["meson", "setup", "--prefix", str(prefix), "-Dvalidator=true", src,
                         str(build / "build")],
                        ["meson", "install", "-C", str(build / "build")]):
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
                assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert exe.exists()
    return exe


def run_validator(exe: Path, anchor: Path, clip: Path, cwd: Path) -> str:
    libs = [str(p) for p in (exe.parent.parent).glob("lib*/**/") if any(p.glob("libmedia*"))]
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(libs))
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([str(exe), "-b", "-C", str(anchor), "-c", "h264", str(clip)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    results = cwd / "validation_results.txt"
    assert results.exists(), done.stdout + done.stderr
    return results.read_text()
