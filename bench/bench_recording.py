"""Recording throughput, one run: libx264 fps at 720p/1080p (configured preset), remux
speed, what making each ~1 s fragment durable (fsync) costs, what painting a privacy
mask costs per 1080p frame, what signing the video at capture (ONVIF Media
Signing) costs per frame at 1080p25 and adds to the bitrate, and how many bytes a
recorded clip writes to the disk per byte of the finished file.

Usage: .venv/bin/python bench/bench_recording.py [--frames N] [--out results.json]
Figures are ratios to real time (the stream's fps) measured on this machine in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import timeit
from pathlib import Path

import av
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from capture.frame import Frame, Packet, StreamInfo
from capture.media.h264 import H264Encoder
from capture.media.mux import Mp4Writer
from capture.media.signing import StreamSigner
from capture.privacy import PrivacyMask
from config.schema import RecordingConfig
from uplink.desk.catalog import ClipInfo
from uplink.desk.credentials import RequestCredentials
from uplink.desk.media_key import load_or_create_credentials_key, load_or_create_media_signer

DATA = Path(os.environ.get("DOORCAM_TEST_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))
FPS = 25.0


class _Image:
    def __init__(self, bgr: np.ndarray) -> None:
        self.bgr = bgr

    def to_bgr(self) -> np.ndarray:
        return self.bgr


def _frames(w: int, h: int, n: int) -> list[Frame]:
    """A textured background with a moving block: some motion for the encoder to code."""
    rng = np.random.default_rng(0)
    base = rng.integers(40, 200, (h // 8, w // 8, 3), np.uint8).repeat(8, 0).repeat(8, 1)
    out = []
    for i in range(n):
        img = base.copy()
        x = (i * 12) % (w - 160)
        img[h // 3 : h // 3 + 160, x : x + 160] = 255
        out.append(Frame(i, i / FPS, 0.0, 0.0, img[:, :, 0], _Image(img)))
    return out


def encode_fps(cfg: RecordingConfig, w: int, h: int, n: int) -> dict[str, float]:
    frames = _frames(w, h, n)
    enc = H264Encoder(cfg)
    enc.start(StreamInfo(w, h, FPS, "rawvideo"))
    t = time.perf_counter()
    size = sum(len(p.data) for f in frames for p in enc.encode(f))
    size += sum(len(p.data) for p in enc.stop())
    fps = n / (time.perf_counter() - t)
    return {"fps": fps, "realtime_ratio": fps / FPS, "kbit_s": size * 8 / (n / FPS) / 1000}


def mask_cost(w: int, h: int, repeats: int = 300) -> dict[str, float]:
    """ms per frame to paint a neighbour's window and the street (~27% of the picture):
    on BGR (files, streams: before libx264) and on the Pi camera's YUV420 buffer."""
    mask = PrivacyMask([[[0.6, 0.0], [1.0, 0.0], [1.0, 0.5], [0.6, 0.4]],
                        [[0.0, 0.7], [0.3, 0.7], [0.3, 1.0], [0.0, 1.0]]])
    bgr = np.full((h, w, 3), 99, np.uint8)
    yuv = np.full((h * 3 // 2, w), 99, np.uint8)
    cases = {"bgr": lambda: mask.paint(bgr),
             "yuv420": lambda: mask.paint_yuv420(yuv, "YUV420", (w, h), w)}
    out = {"covered": float(mask.covered(w, h).mean())}
    for name, paint in cases.items():
        paint()  # the per-size cache is built once, at the first frame
        best = min(timeit.repeat(paint, number=repeats, repeat=5)) / repeats
        out[f"{name}_ms"] = best * 1000
    return out


def signing_cost(cfg: RecordingConfig, w: int, h: int, n: int) -> dict[str, float]:
    """CPU per frame of hashing and signing already encoded packets, and the SEI bitrate."""
    frames = _frames(w, h, n)
    enc = H264Encoder(cfg)
    enc.start(StreamInfo(w, h, FPS, "rawvideo"))
    packets = [p for f in frames for p in enc.encode(f)] + enc.stop()
    with tempfile.TemporaryDirectory() as d:
        signer = load_or_create_media_signer(Ed25519PrivateKey.generate(),
                                             Path(d) / "device_key.pem", "bench")
    signer.sign_digest(bytes(32))  # OpenSSL's first use is not per-frame cost
    stream = StreamSigner(signer, 0)
    size = 0
    for p in packets:
        size += len(stream.sign(p, 1_700_000_000.0 + p.pts).data)
    seconds = len(packets) / FPS
    return {"us_per_frame": stream.sign_seconds / len(packets) * 1e6,
            "ms_per_gop": stream.sign_seconds / max(1, stream.seis) * 1e3,
            "cpu_share_at_25fps": stream.sign_seconds / seconds,
            "seis": stream.seis, "sei_bytes_each": stream.sei_bytes / max(1, stream.seis),
            "sei_kbit_s": stream.sei_bytes * 8 / seconds / 1000,
            "video_kbit_s": (size - stream.sei_bytes) * 8 / seconds / 1000}


def credentials_cost(path: Path, repeats: int = 3) -> dict[str, float]:
    """Content Credentials on one shared clip (the device's check of its ONVIF signatures,
    the C2PA manifest, signing, writing the copy) against copying the clip with an fsync."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        key = load_or_create_credentials_key(Ed25519PrivateKey.generate(),
                                             root / "device_key.pem", "bench")
        stamp = RequestCredentials(key, device_id="bench", request_id="r", case_number="c",
                                   agency_id="a")
        info = ClipInfo("c", 1_700_000_000.0, 1_700_000_023.0, path.stat().st_size, "")
        best_c2pa = best_copy = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            assert stamp.add(path, root / "shared.mp4", info, None)
            best_c2pa = min(best_c2pa, time.perf_counter() - t)
            t = time.perf_counter()
            shutil.copyfile(path, root / "copy.mp4")
            with open(root / "copy.mp4", "rb+") as f:
                os.fsync(f.fileno())
            best_copy = min(best_copy, time.perf_counter() - t)
        grown = (root / "shared.mp4").stat().st_size - path.stat().st_size
    return {"ms": best_c2pa * 1e3, "copy_ms": best_copy * 1e3,
            "vs_copy": best_c2pa / best_copy, "bytes_added": grown,
            "mb": path.stat().st_size / 1e6}


def _packets(path: Path) -> tuple[list[Packet], StreamInfo]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        tb = s.time_base
        assert tb is not None
        packets = [Packet(bytes(p), float(p.pts * tb), float(p.duration * tb),
                          bool(p.is_keyframe), float(p.dts * tb))
                   for p in c.demux(s) if p.size and p.pts is not None and p.dts is not None]
        info = StreamInfo(s.width, s.height, float(s.average_rate or FPS), "h264",
                          bytes(s.codec_context.extradata or b""))
    return packets, info


def remux_rate(path: Path, repeats: int) -> dict[str, float]:
    packets, info = _packets(path)
    best = float("inf")
    with tempfile.TemporaryDirectory() as d:
        for _ in range(repeats):
            t = time.perf_counter()
            w = Mp4Writer(Path(d) / "clip.mp4", info)
            for p in packets:
                w.write(p)
            w.close()
            best = min(best, time.perf_counter() - t)
    fps = len(packets) / best
    return {"frames": len(packets), "fps": fps, "realtime_ratio": fps / info.fps,
            "mb_s": sum(len(p.data) for p in packets) / best / 1e6}


def fragment_cost(path: Path, repeats: int, where: Path | None) -> dict[str, float]:
    """Clips as recorded (fragmented, then made standard on close) with and without an fsync
    per fragment, against a plain faststart MP4; files in `where` (the store's disk)."""
    packets, info = _packets(path)
    media = len(packets) / info.fps
    out: dict[str, float] = {"media_s": media}
    with tempfile.TemporaryDirectory(dir=where) as d:
        for name, kw in {"plain": {}, "fragmented": {"fragment_seconds": 1.0, "sync": False},
                         "fragmented_fsync": {"fragment_seconds": 1.0, "sync": True}}.items():
            best, syncs, sync_s = float("inf"), 0, 0.0
            for _ in range(repeats):
                t = time.perf_counter()
                w = Mp4Writer(Path(d) / "clip.mp4", info, **kw)  # type: ignore[arg-type]
                for p in packets:
                    w.write(p)
                w.close()
                took = time.perf_counter() - t
                if took < best:
                    best, syncs, sync_s = took, w.syncs, w.sync_seconds
            out[f"{name}_ms"] = best * 1000
            out[f"{name}_realtime_ratio"] = media / best
            if syncs:
                out["fsyncs"] = syncs
                out["fsync_ms_each"] = sync_s / syncs * 1000
    return out


def _io() -> dict[str, int]:
    """This process's I/O counters: wchar = bytes passed to write(), write_bytes = bytes
    of page cache dirtied for the disk (a page dirtied again before it is written back
    counts once), cancelled_write_bytes = dirty pages dropped with a deleted file."""
    lines = Path("/proc/self/io").read_text().splitlines()
    return {k: int(v) for k, v in (line.split(": ") for line in lines)}


def clip_writes(path: Path, where: Path | None, repeats: int = 3) -> dict[str, float]:
    """Bytes written per byte of finished clip, recording as the recorder does (fragments
    fsynced as they are written, a standard faststart MP4 on close): the index in space
    reserved in front (one copy) against FFmpeg's faststart pass (copy, then move).
    Bytes from the last run (they do not vary), close time the best of `repeats`."""
    packets, info = _packets(path)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(dir=where) as d:
        for name, reserve in {"reserved": None, "faststart_pass": 0}.items():
            best = float("inf")
            for _ in range(repeats):
                clip = Path(d) / f"{name}.mp4"
                before = _io()
                w = Mp4Writer(clip, info, fragment_seconds=1.0, sync=True,
                              moov_reserve=reserve)
                for p in packets:
                    w.write(p)
                recorded = _io()
                t = time.perf_counter()
                w.close()
                best = min(best, time.perf_counter() - t)
                after = _io()
            size = clip.stat().st_size
            disk = after["write_bytes"] - after["cancelled_write_bytes"] - (
                before["write_bytes"] - before["cancelled_write_bytes"])
            out[f"{name}_written_per_byte"] = (after["wchar"] - before["wchar"]) / size
            out[f"{name}_close_written_per_byte"] = (after["wchar"] - recorded["wchar"]) / size
            out[f"{name}_disk_per_byte"] = disk / size
            out[f"{name}_bytes"] = size
            out[f"{name}_close_ms"] = best * 1000
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--dir", type=Path, help="where the fsync bench writes (default: $TMPDIR)")
    args = ap.parse_args()
    cfg = RecordingConfig()
    results: dict[str, object] = {"preset": cfg.preset, "crf": cfg.crf}
    for name, (w, h) in {"720p": (1280, 720), "1080p": (1920, 1080)}.items():
        r = encode_fps(cfg, w, h, args.frames)
        results[f"encode_{name}"] = r
        print(f"libx264 {cfg.preset:9s} {name:5s}  {r['fps']:7.1f} fps  "
              f"{r['realtime_ratio']:5.2f}x real time at {FPS:.0f} fps  {r['kbit_s']:.0f} kbit/s")
    m = mask_cost(1920, 1080)
    results["privacy_mask_1080p"] = m
    print(f"privacy mask 1080p ({m['covered']:.0%} covered): BGR {m['bgr_ms']:.2f} ms, "
          f"YUV420 {m['yuv420_ms']:.2f} ms per frame")
    sg = signing_cost(cfg, 1920, 1080, max(args.frames, 125))
    results["signing_1080p"] = sg
    print(f"signing 1080p25: {sg['us_per_frame']:.0f} us CPU per frame "
          f"({sg['cpu_share_at_25fps'] * 100:.2f} % of one core), "
          f"{sg['ms_per_gop']:.2f} ms per GOP (hashing and signing); "
          f"SEI {sg['sei_bytes_each']:.0f} B per GOP = {sg['sei_kbit_s']:.1f} kbit/s on "
          f"{sg['video_kbit_s']:.0f} kbit/s of video "
          f"(+{sg['sei_kbit_s'] / sg['video_kbit_s'] * 100:.2f} %)")
    clip = DATA / "dvrscan" / "traffic_camera.mp4"
    if clip.exists():
        r = remux_rate(clip, repeats=5)
        results["remux_traffic_720p"] = r
        print(f"remux traffic 720p       {r['fps']:7.0f} fps  {r['realtime_ratio']:5.0f}x real "
              f"time  {r['mb_s']:.0f} MB/s (incl. faststart rewrite, best of 5)")
        f = fragment_cost(clip, 5, args.dir)
        results["fragment_fsync_traffic_720p"] = f
        print(f"record {f['media_s']:.0f} s of 720p: plain {f['plain_ms']:.0f} ms, fragmented "
              f"{f['fragmented_ms']:.0f} ms, + fsync per fragment "
              f"{f['fragmented_fsync_ms']:.0f} ms ({f['fsyncs']:.0f} fsyncs, "
              f"{f['fsync_ms_each']:.1f} ms each; "
              f"{f['fragmented_fsync_realtime_ratio']:.0f}x real time)")
        cc = credentials_cost(clip)
        results["content_credentials_traffic_720p"] = cc
        print(f"content credentials on a shared {cc['mb']:.1f} MB clip: {cc['ms']:.0f} ms "
              f"({cc['vs_copy']:.1f}x copying it with an fsync), +{cc['bytes_added']:.0f} B")
        c = clip_writes(clip, args.dir)
        results["clip_writes_traffic_720p"] = c
        r_, f_ = "reserved_", "faststart_pass_"
        print(f"bytes written per byte of finished clip: {c[r_ + 'written_per_byte']:.2f} "
              f"with the index reserved in front, {c[f_ + 'written_per_byte']:.2f} with "
              f"FFmpeg's faststart pass "
              f"({c[r_ + 'written_per_byte'] / c[f_ + 'written_per_byte']:.2f}x)")
        print(f"  on close: {c[r_ + 'close_written_per_byte']:.2f} against "
              f"{c[f_ + 'close_written_per_byte']:.2f}, {c[r_ + 'close_ms']:.0f} ms against "
              f"{c[f_ + 'close_ms']:.0f} ms (best of 3); page cache dirtied for the disk "
              f"{c[r_ + 'disk_per_byte']:.2f} against {c[f_ + 'disk_per_byte']:.2f} (a "
              f"rewrite before writeback counts once); finished clip "
              f"{c[r_ + 'bytes'] / c[f_ + 'bytes'] - 1:+.1%} in size")
    else:
        print(f"remux skipped: {clip} not found (set DOORCAM_TEST_DATA)")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
