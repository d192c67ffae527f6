"""What leaves for an accepted request is cut to its window; the agency signs a receipt."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av

from capture.frame import StreamInfo
from capture.media.h264 import H264Encoder
from capture.media.mux import Mp4Writer
from config.schema import RecordingConfig
from device.web.words import describe_audit
from device.wiring.uplink import MediaCutter
from tests.recording.helpers import frame
from tests.uplink.desk.conftest import NOW, Device
from uplink.agency.verify import verify_evidence
from uplink.audit import AuditLog
from uplink.desk import ClipInfo
from uplink.protocol.evidence import ClockStatement
from uplink.protocol.fields import parse_time
from uplink.protocol.keys import generate_keypair

H = 3600
WINDOW = (NOW - 2 * H, NOW - H)  # the test request's window (tests/uplink/protocol/world.py)
FPS = 25
SECONDS = 8  # frames are 1/25 s apart whatever the stream's nominal rate


def _real_clip(dev: Device, index: int, start_wall: float,
               clock: ClockStatement | None = None) -> str:
    """An H.264 MP4 made by the recorder's own encoder and muxer, placed in the catalog."""
    clip_id = f"20250615T1{index:05d}Z-{index:08x}"
    path = dev.catalog.path(clip_id)
    enc = H264Encoder(RecordingConfig(keyframe_interval_seconds=1.0))
    writer = Mp4Writer(path, enc.start(StreamInfo(320, 240, float(FPS), "rawvideo")))
    for i in range(FPS * SECONDS):
        for p in enc.encode(frame(i)):
            writer.write(p)
    for p in enc.stop():
        writer.write(p)
    _, duration = writer.close()
    data = path.read_bytes()
    dev.catalog.clips[clip_id] = ClipInfo(clip_id, start_wall, start_wall + duration,
                                          len(data), hashlib.sha256(data).hexdigest(), clock)
    return clip_id


def _frames(path: Path) -> tuple[list[float], list[float]]:
    """Decoded frame times (s) of the whole file, and of its keyframes; decodes every frame."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        times, keys = [], []
        for f in c.decode(s):
            assert f.pts is not None and s.time_base is not None
            t = float(f.pts * s.time_base)
            times.append(t)
            if f.key_frame:
                keys.append(t)
    return times, keys


def test_clips_reaching_outside_the_window_are_cut_at_keyframes(device: Device) -> None:
    # Starts 3.3 s before the window; ends 5.5 s after it; inside, from a device that did
    # not state its clock.
    early = _real_clip(device, 1, WINDOW[0] - 3.3, ClockStatement(True, 12))
    late = _real_clip(device, 2, WINDOW[1] - 2.5, ClockStatement(True, None))
    inside = _real_clip(device, 3, WINDOW[0] + 600)
    desk, worker = device.desk(), device.worker(cutter=MediaCutter())
    outcome = desk.receive(device.request(), NOW)
    assert outcome.kind == "pending" and outcome.request_id is not None
    desk.accept(outcome.request_id, None, NOW + 60)

    assert [r.done for r in worker.run_once()] == [True]

    got = {u.metadata["clip_id"]: u for u in device.receiver.completed().values()}
    assert set(got) == {early, late, inside, "manifest"}
    manifest = json.loads(got["manifest"].path.read_bytes())
    entries = {c["clip_id"]: c for c in manifest["clips"]}
    report = verify_evidence(got["manifest"].path.read_bytes(),
                             {k: u.path for k, u in got.items()})
    assert report.ok, report.problems
    # A cut states the clock its clip was recorded by, as the agency's check reads it.
    assert entries[early]["clock"] == {"synchronised": True, "max_error_ms": 12}
    assert entries[late]["clock"] == {"synchronised": True, "max_error_ms": None}
    assert "clock" not in entries[inside]
    assert report.clocks == {early: ClockStatement(True, 12), late: ClockStatement(True),
                             inside: None}

    # Unchanged: a clip wholly inside the window is sent byte for byte.
    assert got[inside].path.read_bytes() == device.catalog.path(inside).read_bytes()
    assert "original" not in entries[inside]

    src_early, src_keys = _frames(device.catalog.path(early))
    assert src_keys[:3] == [0.0, 1.0, 2.0], "precondition: a keyframe every second"
    for clip_id, start_wall in ((early, WINDOW[0] - 3.3), (late, WINDOW[1] - 2.5)):
        sent = got[clip_id].path.read_bytes()
        original = device.catalog.clips[clip_id]
        entry = entries[clip_id]
        assert entry["sha256"] == hashlib.sha256(sent).hexdigest() == got[clip_id].metadata[
            "sha256"]
        assert entry["size"] == len(sent) < original.size
        assert entry["original"]["sha256"] == original.sha256
        assert entry["original"]["size"] == original.size
        times, keys = _frames(got[clip_id].path)
        assert times and keys[0] == times[0] == 0.0, "the cut starts on a keyframe"
        # Times in the cut count from its first frame, the keyframe at `lo` on the clip's.
        lo = max(k for k in src_keys if k <= WINDOW[0] - start_wall) if clip_id == early else 0
        hi = WINDOW[1] - start_wall
        clip_times = [t + lo for t in times]
        assert all(lo - 1e-6 <= t <= hi + 1e-6 for t in clip_times), (clip_id, clip_times)
        assert parse_time(entry["start"]) == int(start_wall + lo)
    # The early clip: from the keyframe at 3.0 s (the last one at or before 3.3 s) to its end.
    early_times, _ = _frames(got[early].path)
    assert len(early_times) == len(src_early) - 3 * FPS
    # The late clip: from its start to the last frame at or before 2.5 s.
    late_times, _ = _frames(got[late].path)
    assert len(late_times) == round(2.5 * FPS) + 1
    assert not list((device.tmp / "manifests").glob("*.mp4")), "cuts are deleted once sent"


def test_the_receipt_is_checked_kept_and_audited(device: Device) -> None:
    clip = device.catalog.add(0, WINDOW[0] + 60)
    desk, worker = device.desk(), device.worker()
    rid = desk.receive(device.request(), NOW).request_id
    assert rid is not None
    desk.accept(rid, None, NOW + 60)
    assert [r.done for r in worker.run_once()] == [True]
    kept = device.tmp / "manifests" / f"{rid}.receipt.json"
    receipt = json.loads(kept.read_bytes())
    sha = device.catalog.clips[clip].sha256
    assert {f["sha256"] for f in receipt["files"]} >= {sha}
    with AuditLog(device.tmp / "audit.sqlite3") as audit:
        last = list(audit.entries())[-1]
    assert last.kind == "receipt"
    assert json.loads(last.detail)["sha256"] == hashlib.sha256(kept.read_bytes()).hexdigest()
    files = json.loads(last.detail)["files"]
    assert files == 2, "the precondition: the clip and the manifest"
    assert describe_audit(last) == ("The agency signed a receipt for the 2 files it "
                                    "received, and it matches what was sent.")


def test_a_missing_or_forged_receipt_is_audited_and_delivery_still_counts(
        device: Device) -> None:
    device.catalog.add(0, WINDOW[0] + 60)
    device.receiver.receipt_key = generate_keypair()[0]  # not the agency's registered key
    desk, worker = device.desk(), device.worker()
    rid = desk.receive(device.request(), NOW).request_id
    assert rid is not None
    desk.accept(rid, None, NOW + 60)
    assert [r.done for r in worker.run_once()] == [True]
    assert desk.get(rid).status == "uploaded"
    assert not (device.tmp / "manifests" / f"{rid}.receipt.json").exists()
    with AuditLog(device.tmp / "audit.sqlite3") as audit:
        forged = json.loads(list(audit.entries())[-1].detail)
    assert forged["ok"] is False and forged["problem"].startswith("bad_signature"), forged

    device.receiver.receipt_key = None  # a receiver that gives no receipt at all
    device.catalog.add(1, WINDOW[0] + 120)
    rid2 = desk.receive(device.request(), NOW).request_id
    assert rid2 is not None
    desk.accept(rid2, None, NOW + 60)
    assert [r.done for r in worker.run_once()] == [True]
    with AuditLog(device.tmp / "audit.sqlite3") as audit:
        last = list(audit.entries())[-1]
    assert last.kind == "receipt" and last.request_id == rid2
    assert json.loads(last.detail)["ok"] is False
    assert "404" in json.loads(last.detail)["problem"]
    words = describe_audit(last)
    assert words.startswith("The agency's receipt is missing or does not match") and "404" in words
