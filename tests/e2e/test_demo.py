"""`make demo`'s story runs start to finish and ends with verified evidence."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.broker import require_mosquitto
from tests.signing.onvif import SIGNING_SRC, build_validator, run_validator
from uplink.protocol.media import verify_media

REPO = Path(__file__).resolve().parents[2]


def test_demo_tells_the_whole_story(tmp_path: Path,
                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    require_mosquitto()
    root = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "device.cli", "demo", "--dir", str(root),
                           "--speed", "max"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    verified = list((root / "agency" / "evidence").glob("*/VERIFIED.json"))
    assert len(verified) == 1
    report = json.loads(verified[0].read_text())
    assert report["ok"] and len(report["verified_clips"]) == 2
    assert "requests accept" in done.stdout and "audit log intact" in done.stdout
    # Both clips are signed at capture and every GOP of them checks, to their last frame.
    assert done.stdout.count(": video signed") == 2, done.stdout[-3000:]
    gops = re.findall(r"^  GOP \d+ \(frames [^)]*\): (\w+)", done.stdout, re.M)
    assert gops and set(gops) == {"valid"}, done.stdout[-3000:]
    # Shared with Content Credentials, and every clip stored or shared is one ONVIF's own
    # validator accepts (doorcam's verifier in strict mode; the validator itself opt-in).
    assert done.stdout.count("content credentials: valid") == 2, done.stdout[-3000:]
    clips = [*(root / "store" / "clips").glob("*.mp4"),
             *(root / "agency" / "evidence").glob("*/*.mp4")]
    assert len(clips) >= 4
    for clip in clips:
        assert verify_media(clip, strict=True).ok, (clip.name, verify_media(clip).lines())
        if SIGNING_SRC:
            out = run_validator(build_validator(SIGNING_SRC, tmp_path_factory),
                                root / "store" / "device_key.anchor.pem", clip,
                                tmp_path / "validator" / clip.parent.name / clip.stem)
            assert "VIDEO IS VALID!" in out, (clip.name, out)
    # The decision went through the web app's HTTP interface, as a browser sends it.
    assert "the owner's app: http://127.0.0.1:" in done.stdout
    listed = subprocess.run([sys.executable, "-m", "device.cli", "requests", "list", "--all",
                             "--json", "--config", str(root / "doorcam.toml")], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    [request] = json.loads(listed.stdout)
    assert request["decision"]["channel"] == "web", request["decision"]
    assert len(request["decision"]["clips"]) == 2
    # A second run starts afresh in the same folder.
    again = subprocess.run([sys.executable, "-m", "device.cli", "demo", "--dir", str(root),
                            "--speed", "max"], cwd=REPO, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    done = subprocess.run([sys.executable, "-m", "device.cli", "demo", "--dir", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and (tmp_path / "precious.txt").exists()
