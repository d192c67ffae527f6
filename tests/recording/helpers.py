"""Shared pieces for recording tests: synthetic frames, a directory sink, PyAV readers,
and checks that a privacy mask is black in decoded clips and thumbnails."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from capture.frame import Frame, Packet
from capture.media.decode import VideoFileReader
from capture.privacy import PrivacyMask
from capture.recording.sink import ClipHandle, ClipMeta

WALL0 = 1_700_000_000.0


class ArrayImage:
    """A MainImage over a ready BGR array."""

    def __init__(self, bgr: np.ndarray) -> None:
        self.bgr = bgr

    def to_bgr(self) -> np.ndarray:
        return self.bgr


def square(i: int, w: int = 320, h: int = 240) -> np.ndarray:
    """Gray background with a white 16x16 square whose x encodes i (mod 130)."""
    img = np.full((h, w, 3), 60, np.uint8)
    x = 8 + 2 * (i % 130)
    img[h // 2 - 8 : h // 2 + 8, x : x + 16] = 255
    return img


def square_index(gray: np.ndarray) -> int:
    """Inverse of `square` (mod 130) from a decoded gray picture of any width."""
    cols = np.flatnonzero((gray > 160).sum(axis=0))
    scale = 320 / gray.shape[1]
    return round((cols.mean() * scale - 8 - 7.5) / 2)


def frame(i: int, fps: float = 25.0, *, img: np.ndarray | None = None,
          packets: list[Packet] | None = None) -> Frame:
    bgr = square(i) if img is None else img
    t = i / fps
    return Frame(seq=i, pts=t, mono=100.0 + t, wall=WALL0 + t,
                 lores=np.ascontiguousarray(bgr[:, :, 0]), main=ArrayImage(bgr),
                 packets=packets or [])


@dataclass
class DirSink:
    """A ClipSink writing into a directory: commit renames, abort deletes."""

    root: Path
    n: int = 0
    fail_path: Path | None = None  # give this tmp_path to the next begin() (one shot)

    def __post_init__(self) -> None:
        self.committed: dict[str, tuple[Path, ClipMeta]] = {}
        self.aborted: list[str] = []

    def begin(self) -> ClipHandle:
        self.n += 1
        cid = f"c{self.n:03d}"
        tmp = self.root / f"{cid}.mp4.tmp"
        if self.fail_path is not None:
            tmp, self.fail_path = self.fail_path, None
        return ClipHandle(cid, tmp)

    def commit(self, handle: ClipHandle, meta: ClipMeta) -> None:
        final = self.root / f"{handle.id}.mp4"
        handle.tmp_path.rename(final)
        self.committed[handle.id] = (final, meta)

    def abort(self, handle: ClipHandle) -> None:
        handle.tmp_path.unlink(missing_ok=True)
        self.aborted.append(handle.id)

    def path(self, cid: str) -> Path:
        return self.committed[cid][0]


@dataclass
class Decoded:
    codec: str
    pix_fmt: str
    width: int
    height: int
    pts: list[float]  # seconds, presentation order
    gray: list[np.ndarray]


def decode(path: Path) -> Decoded:
    """Every frame of the file, decoded with PyAV (raises if any packet is undecodable)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.codec_context.options = {"err_detect": "explode"}
        pts, gray = [], []
        for f in c.decode(s):
            assert f.pts is not None and f.time_base is not None
            pts.append(float(f.pts * f.time_base))
            gray.append(f.to_ndarray(format="gray"))
        return Decoded(s.codec_context.name, s.codec_context.pix_fmt or "", s.width, s.height,
                       pts, gray)


def packet_bytes(path: Path) -> list[bytes]:
    """The file's video packets in decode order."""
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(video=0) if p.size]


def traffic_packets(path: Path) -> tuple[list[Packet], bytes]:
    """Demux a real MP4 into Packets (pts/dts in seconds) and its avcC extradata."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        tb = s.time_base
        assert tb is not None
        out = []
        for p in c.demux(s):
            if not p.size:
                continue
            assert p.pts is not None and p.dts is not None
            out.append(Packet(bytes(p), float(p.pts * tb), float(p.duration * tb),
                              bool(p.is_keyframe), float(p.dts * tb)))
        return out, bytes(s.codec_context.extradata or b"")


@dataclass(frozen=True)
class MaskCheck:
    """Luma inside a privacy mask (kept `margin` pixels clear of its edge) and outside it."""

    inside_mean: float
    inside_max: int
    outside_mean: float

    @property
    def black(self) -> bool:
        # Video black is 16; H.264 leaves a little noise, never anything recognisable.
        return self.inside_mean < 24 and self.inside_max < 48


def _regions(polygons: list, width: int, height: int,
             margin: int) -> tuple[np.ndarray, np.ndarray]:
    covered = PrivacyMask(polygons).covered(width, height).astype(np.uint8)
    kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    inside = cv2.erode(covered, kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    outside = ~cv2.dilate(covered, kernel).astype(bool)
    assert inside.any() and outside.any(), "the mask leaves nothing to check on one side"
    return inside, outside


def check_gray(gray: np.ndarray, polygons: list, margin: int = 8) -> MaskCheck:
    inside, outside = _regions(polygons, gray.shape[1], gray.shape[0], margin)
    return MaskCheck(float(gray[inside].mean()), int(gray[inside].max()),
                     float(gray[outside].mean()))


def check_clip(path: Path, polygons: list, margin: int = 8) -> list[MaskCheck]:
    """Every frame of the clip, decoded by capture.media.decode's reader (luma as coded)."""
    reader = VideoFileReader(path)
    try:
        checks = [check_gray(d.gray, polygons, margin) for d in reader]
        assert not reader.error and not reader.skipped, (reader.error, reader.skipped)
    finally:
        reader.close()
    return checks


def check_jpeg(jpeg: bytes, polygons: list, margin: int = 4) -> MaskCheck:
    gray = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert gray is not None, "not a JPEG"
    return check_gray(gray, polygons, margin)
