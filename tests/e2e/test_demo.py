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


def test_demo_in_a_terminal_keeps_the_app_running_until_ctrl_c(tmp_path: Path) -> None:
    """Run from a terminal (a pty for stdin and stdout), the demo ends with the owner's app
    still up, its address and one-time login printed last; the printed login works; Ctrl-C
    (SIGINT to the demo's process group, as a terminal sends it) ends it all."""
    import os
    import pty
    import signal
    import threading

    import requests

    require_mosquitto()
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "device.cli", "demo", "--dir",
                             str(tmp_path / "demo"), "--speed", "max"], cwd=REPO,
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    output: list[str] = []
    prompt = threading.Event()

    def read() -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the pty closed: every process holding it has ended
                return
            if not chunk:
                return
            buffer += chunk
            output[:] = [buffer.decode(errors="replace")]
            if b"(a one-time demo account)\r\n" in buffer.split(b"keeps running")[-1]:
                prompt.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert prompt.wait(300), "".join(output)[-3000:]
        assert proc.poll() is None, "the demo is still running"
        text = "".join(output)
        tail = text[text.rindex("keeps running"):].strip().splitlines()
        url = re.search(r"(http://127\.0\.0\.1:\d+)/", tail[1])
        password = re.search(r"password (\S+) \(a one-time", tail[-1])
        assert url and password, tail
        s = requests.Session()
        s.trust_env = False
        page = s.get(url.group(1) + "/login", timeout=30)
        token = re.search(r'name="login_token" value="([^"]+)"', page.text)
        assert token, page.text
        r = s.post(url.group(1) + "/login", data={
            "login_token": token.group(1), "name": "owner", "password": password.group(1),
            "next": "/"}, headers={"Origin": url.group(1)}, allow_redirects=False, timeout=30)
        assert r.status_code == 303, r.text
        home = s.get(url.group(1) + "/", timeout=30)
        assert home.status_code == 200 and "At the door" in home.text
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(60) == 0, "".join(output)[-2000:]
        reader.join(30)
        assert "Traceback" not in "".join(output)
        with pytest.raises(requests.ConnectionError):
            s.get(url.group(1) + "/login", timeout=5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        os.close(master)
