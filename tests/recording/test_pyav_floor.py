"""The .deb runs on Debian trixie's python3-av (PyAV 14.2), older than the venv's: clips
written, recovered after a power cut, cut at GOPs and signed under it are the same media as
under the current PyAV, and their signatures verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import pytest
from cryptography.hazmat.primitives import serialization

from capture.media.fragments import scan
from tests.recording import floor_writer
from tests.recording.helpers import decode, square_index
from tests.recording.pyav_floor import VERSION, floor_site
from tests.signing.helpers import device_signer, unsigned_packets
from uplink.protocol.media import verify_media

REPO = Path(__file__).resolve().parents[2]
SIGNED = ("rec.mp4", "rec-cut.mp4", "traffic.mp4", "traffic-cut.mp4", "salvaged.mp4")


def timing(path: Path) -> list[tuple[int | None, int | None, int, bool]]:
    with av.open(str(path)) as c:
        return [(p.pts, p.dts, p.duration, p.is_keyframe) for p in c.demux(video=0) if p.size]


@pytest.mark.timeout(120)
def test_clips_written_under_the_oldest_pyav_match_the_current_ones(
        tmp_path: Path, test_data: Path) -> None:
    if av.__version__ == VERSION:
        pytest.skip(f"the environment already runs PyAV {VERSION}")
    site = floor_site()
    keys, old, new = tmp_path / "keys", tmp_path / "old", tmp_path / "new"
    for d in (old, new):
        d.mkdir()
    key, _ = device_signer(keys)  # creates the video key beside device_key.pem
    (keys / floor_writer.DEVICE_KEY).write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    traffic = test_data / "dvrscan" / "traffic_camera.mp4"

    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(site), str(REPO)))}
    child = subprocess.run(
        [sys.executable, "-m", floor_writer.__name__, str(old), str(keys), str(traffic)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90, check=False)
    assert child.returncode == 0, child.stderr[-3000:]
    got = json.loads(child.stdout)
    assert got.pop("av") == VERSION, "precondition: the child imported the oldest PyAV"
    want = floor_writer.write_all(new, keys, traffic)
    want.pop("av")
    assert got == want  # close, fsyncs, cut spans, salvaged frames and fragments

    assert want["rec_cut"] and want["traffic_cut"], "precondition: both cuts drop frames"
    assert want["salvaged"][0] < floor_writer.TORN_FRAMES, "precondition: the tail was torn"
    for name in ("rec.mp4", "traffic.mp4"):
        assert not scan(old / name).fragmented, f"{name} was left fragmented"
    for name in SIGNED:
        assert timing(old / name) == timing(new / name), name
        report = verify_media(old / name, key.public_key())
        assert report.signed and report.ok and report.key_bound, (name, report.lines())
    for name in ("traffic.mp4", "traffic-cut.mp4", "salvaged.mp4"):  # remuxed, not encoded
        assert unsigned_packets(old / name) == unsigned_packets(new / name), name
    for name in ("rec.mp4", "rec-cut.mp4"):  # each encoded by its own libx264
        d_old, d_new = decode(old / name), decode(new / name)
        assert d_old.pts == d_new.pts, name
        assert [square_index(g) for g in d_old.gray] == [square_index(g) for g in d_new.gray]
