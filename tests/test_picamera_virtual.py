"""doorcam's `picamera:` source on the real picamera2 (the PyPI wheel) and the real
libcamera (Debian trixie's, whose amd64 build has the virtual pipeline handler), with the
software H.264 encoder picamera2 uses on a Pi 5 (`LibavH264Encoder`).

Runs in a Debian trixie tree (tests/picamroot.py: the boot test's cached base plus a cached
picamera2 layer) under systemd-nspawn; tests/picam_virtual/harness.py runs inside, with the
test-only workarounds for a machine without camera hardware or dma-buf heaps, and reports
JSON; the assertions are here. The virtual camera shows JPEGs of a blob crossing a still
porch (tests/picam_virtual/scene.py); with a privacy mask over part of the porch, every
frame of the stored clips is decoded and checked black there. The hardware encoder (Pi <= 4)
is covered by the fake in tests/capture/fake_picamera2.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from capture.media.decode import probe_clip
from tests.bootroot import ONE_WORKER, REPO
from tests.picam_virtual import scene
from tests.picamroot import SITE, picam_tree, require_tools
from tests.recording.helpers import check_clip, check_jpeg
from tests.signing.onvif import SIGNING_SRC, build_validator, run_validator
from uplink.protocol.media import verify_media

DOORCAM = "import sys; from device.cli import main; sys.exit(main(sys.argv[1:]))"
FPS = 30
SPEC = f"picamera:0?size=640x480&lores=320x240&fps={FPS}&gop=1"
CONFIG = """[recording]
pre_roll_seconds = 2.0
post_roll_seconds = 1.0
"""
# The right third of the porch: the blob crosses into it, after moving where it is visible.
MASK = [[[0.62, 0.0], [1.0, 0.0], [1.0, 1.0], [0.62, 1.0]]]
# libcamera 0.4.0's virtual pipeline leaves buffer status uninitialised; zeroed allocations
# make it read as Success (picamera2 drops frames whose status is anything else).
TUNABLES = "glibc.malloc.perturb=255:glibc.malloc.tcache_count=0"

# The picamera2 layer sits on the boot test's cached tree; the first test here may build
# both (or wait for another test run building them), as the boot test may.
pytestmark = [ONE_WORKER, pytest.mark.timeout(1200)]


class Tree:
    def __init__(self, root: Path, out: Path) -> None:
        self.root, self.out = root, out
        self.stderr = ""

    def run(self, mode: str, *args: str, timeout: float = 180) -> dict[str, Any]:
        cmd = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit",
               "--private-network", "-D", str(self.root), f"--bind-ro={REPO}:/src",
               f"--bind-ro={REPO / 'tests/picam_virtual'}:/harness", f"--bind={self.out}:/out",
               f"--setenv=PYTHONPATH=/{SITE}", f"--setenv=GLIBC_TUNABLES={TUNABLES}",
               f"--setenv=VIRTUAL_TEST_FPS={FPS}",
               "python3", "/harness/harness.py", mode, *args]
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, check=False)
        self.stderr = done.stderr  # what the run said, for a failure's message
        report = self.out / f"{mode}.json"
        assert report.exists(), f"no report from the harness ({done.returncode}):\n" \
                                + done.stderr[-4000:]
        result: dict[str, Any] = json.loads(report.read_text())
        assert "harness_error" not in result, result["traceback"] + done.stderr[-3000:]
        return result


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tree]:
    require_tools()
    scratch = tmp_path_factory.mktemp("picam")
    out = scratch / "out"
    out.mkdir()
    with picam_tree(scratch / "overlay") as root:
        yield Tree(root, out)


def test_no_virtual_camera_is_no_camera_detected(tree: Tree) -> None:
    assert not (tree.root / scene.CONFIG).exists()
    r = tree.run("nocamera", SPEC)
    assert r["error"] == f"{SPEC}: no camera detected; check that `rpicam-hello " \
        "--list-cameras` lists it, the ribbon cable is seated the right way round at both " \
        "ends, and the camera is enabled"


@pytest.fixture(scope="module")
def camera(tree: Tree) -> Tree:
    scene.write(tree.root, [(640, 480), (320, 240)], FPS)
    return tree


def test_frames_packets_and_errors_from_the_real_library(camera: Tree) -> None:
    r = camera.run("probe", SPEC, "60")
    assert r["encoder"] == "LibavH264Encoder" and r["output_is_picamera2_output"]
    frames = r["frames"]
    assert len(frames) == 60 and all(f["lores"] == [240, 320] for f in frames)
    assert r["thumbnail"] == [240, 320, 3]
    pts = [f["pts"] for f in frames]
    assert pts[0] < 1.0 and pts == sorted(pts) and pts[-1] > pts[0]  # from the 1st packet
    packets = [p for f in frames for p in f["packets"]]
    assert packets and packets[0][1], "the first packet is a keyframe"
    assert sum(p[1] for p in packets) >= 2, "gop=1 s gives a keyframe every second"
    assert [p[0] for p in packets] == sorted(p[0] for p in packets)
    # Exposure reaches the light guard only where the camera reports it: the virtual one
    # reports only SensorTimestamp, so the guard sees no change and nothing breaks.
    assert r["metadata_keys"] == ["SensorTimestamp"]
    assert not any(f["exposure_changed"] for f in frames)
    assert r["busy"] == f"{SPEC}: camera busy: another process holds the camera (a second " \
        "doorcam, rpicam-*, libcamera-* or motion); stop it and try again"
    assert r["reopened"] is None
    assert "cannot deliver size=1280x720 (it offered 640x480)" in r["unsupported_size"]
    assert "rpicam-hello --list-cameras" in r["unsupported_size"]
    assert "there is no camera 1, 1 detected" in r["no_such_camera"]


def test_doorcam_simulate_stores_decodable_clips_with_preroll(
        camera: Tree, tmp_path_factory: pytest.TempPathFactory) -> None:
    (camera.out / "doorcam.toml").write_text(CONFIG)
    r = camera.run("simulate", SPEC, "120")
    assert r["rc"] == 143  # stopped by SIGTERM once a clip was stored; open clip finalized
    events = [json.loads(line) for line in (camera.out / "events.jsonl").read_text().split("\n")
              if line]
    assert events and events[0]["clips"], events
    listed = subprocess.run([sys.executable, "-c", DOORCAM, "clips", "list", "--json",
                             "--store", str(camera.out / "store")],
                            capture_output=True, text=True, timeout=60, check=True)
    clips = {c["id"]: c for c in json.loads(listed.stdout)}
    first = clips[events[0]["clips"][0]]
    # Pre-roll (2 s, trimmed to a keyframe every second): the clip starts well before motion.
    assert first["start_pts"] < events[0]["start"] - 0.5, (first, events[0])
    assert first["first_seq"] < events[0]["start_frame"]
    for clip in clips.values():
        path = camera.out / "store" / "clips" / f"{clip['id']}.mp4"
        probe = probe_clip(path)
        assert probe.codec == "h264" and (probe.width, probe.height) == (640, 480)
        assert probe.frames >= 20 and probe.frames == clip["frames"], (probe, clip)
        # picamera2's encoder packets are signed at capture, every GOP to the clip's end,
        # in a way ONVIF's reference validator accepts (strict).
        report = verify_media(path, strict=True)
        assert report.signed and report.ok, report.lines()
        assert {g.status for g in report.gops} == {"valid"}, report.lines()
        if SIGNING_SRC:
            out = run_validator(build_validator(SIGNING_SRC, tmp_path_factory),
                                camera.out / "store" / "device_key.anchor.pem", path,
                                camera.out / "validator" / clip["id"])
            assert "VIDEO IS VALID!" in out, out


def test_privacy_mask_is_black_in_every_frame_the_camera_stores(camera: Tree) -> None:
    run = camera.out / "masked"
    run.mkdir()
    (run / "doorcam.toml").write_text(CONFIG + f"[privacy]\nmasks = {json.dumps(MASK)}\n")
    r = camera.run("simulate", SPEC, "120", "masked")
    assert r["rc"] == 143
    assert (run / "events.jsonl").read_text().strip(), \
        "no event from motion outside the mask:\n" + camera.stderr[-3000:]
    clips = sorted((run / "store" / "clips").glob("*.mp4"))
    assert clips
    for clip in clips:
        checks = check_clip(clip, MASK)  # every frame, decoded
        assert len(checks) >= 20
        assert all(c.black for c in checks), [c for c in checks if not c.black][:3]
        assert all(c.outside_mean > 40 for c in checks), "the rest of the picture is kept"
        thumb = check_jpeg((run / "store" / "thumbs" / f"{clip.stem}.jpg").read_bytes(), MASK)
        assert thumb.black and thumb.outside_mean > 40, thumb
