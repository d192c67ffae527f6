"""The live view's files: fragments, HLS segments and playlist, an index and a snapshot, in a
small directory on tmpfs, the newest few seconds only.

The packets are the camera's own H.264 (or the recorder's encoder output for sources that
give pictures), copied into fragments without decoding. A fragment is cut at every keyframe
and whenever it holds `fragment_seconds` of video, and is written the moment its last packet
arrives; the page's player appends fragments, HLS players read GOP-long segments (a segment
is its GOP's fragments, byte for byte). Every file is written under a temporary name and
renamed, so a reader sees a whole file or none.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cv2

from capture.frame import MainImage, Packet, StreamInfo
from capture.live.fmp4 import TIMESCALE, AccessUnits, ParameterSets, Sample, fragment, init_segment
from capture.live.place import LiveDirError, prepare_dir
from capture.media.picture import bgr_scaled, bgr_size
from common.livefiles import (
    INDEX,
    PLAYLIST,
    SNAPSHOT,
    fragment_name,
    init_name,
    is_live_file,
    segment_name,
)
from config.live import LiveConfig

log = logging.getLogger(__name__)
MAX_BYTES = 32 * 1024 * 1024  # the directory's bound, whatever the bitrate
GOP_TMP = ".segment.tmp"  # the next segment while its GOP lasts
SEGMENTS_KEPT = 6  # HLS players start three target durations from the end: room for that


@dataclass(frozen=True)
class Published:
    """One fragment as the index lists it."""

    n: int
    independent: bool  # starts with a keyframe: a player may start here
    start: float  # media seconds (decode time)
    duration: float
    wall: float  # capture time (Unix) of its first frame
    size: int


class LivePublisher:
    """Writes the live directory for one stream; one thread calls it (the live thread).

    `add(packet, wall)` takes packets in decode order with their frames' capture times;
    `gap()` says packets were lost (a queue dropped them): nothing is written until the next
    keyframe. `snapshot(picture)` replaces the current JPEG.
    """

    def __init__(self, directory: Path, cfg: LiveConfig) -> None:
        self.dir = prepare_dir(directory)
        self.cfg = cfg
        self.fragment_ticks = round(cfg.fragment_seconds * TIMESCALE)
        self.window = cfg.window_seconds
        self.generation = 0
        self.written = 0  # bytes written into the directory, all files
        self.skipped = 0  # packets not published (waiting for a keyframe)
        self._info: StreamInfo | None = None
        self._units: AccessUnits | None = None
        self._params: ParameterSets | None = None
        self._origin: float | None = None  # media seconds of decode time 0
        self._pending: list[tuple[Sample, float]] = []
        self._pending_ticks = 0
        # This GOP's fragments are appended to the next HLS segment's file as they are cut
        # (on tmpfs, not in this process's memory: a 1080p GOP is megabytes).
        self._gop_bytes = 0
        self._gop_start = 0
        self._next_fragment = 0
        self._next_segment = 0
        self._fragments: deque[Published] = deque()
        self._segments: deque[tuple[int, float, int]] = deque()  # (n, duration s, size)
        self._sizes: dict[str, int] = {}
        self._segment_wait = True  # the next segment must start on a keyframe
        self._waiting = True  # nothing is published before a keyframe
        self._rebase = False  # after a gap: the next keyframe follows on without a hole
        self._next_dts = 0
        self._gop_frames = 0  # packets since the last keyframe
        self._gop_length = 0  # packets in the last whole GOP: the next keyframe's distance
        self._clear()

    # -- input ------------------------------------------------------------------------

    def start(self, info: StreamInfo) -> None:
        """The stream the next packets belong to (the encoder's output)."""
        if info == self._info:
            return
        self._flush()
        self._info = info
        self._units = AccessUnits(info.extradata)
        if self._units.params is not None and self._units.params != self._params:
            self._new_generation(self._units.params)
        self._need_keyframe()

    def gap(self) -> None:
        """Packets were lost after the last one added: what came before goes out as it is,
        and nothing more until a keyframe."""
        self._flush()
        self._rebase = self._origin is not None
        self._need_keyframe()

    def add(self, packet: Packet, wall: float) -> None:
        if self._units is None or self._info is None:
            raise RuntimeError("LivePublisher.start() first")
        data, found = self._units.sample(packet.data)
        if not data and not packet.keyframe:
            self.skipped += 1  # parameter sets or delimiters alone: nothing to show
            return
        if packet.keyframe:
            if found is not None and found != self._params:
                self._flush()
                self._new_generation(found)
            self._flush()
            self._close_gop()
            if self._gop_frames:
                self._gop_length = self._gop_frames
            self._gop_frames = 0
        self._gop_frames += 1
        if self._params is None or self._waiting:
            if not packet.keyframe or self._params is None:
                self.skipped += 1
                return
            self._waiting = False
        dts_s = packet.pts if packet.dts is None else packet.dts
        if self._origin is None or self._rebase:
            # A player's timeline has no holes: after lost packets the stream goes on where
            # the last fragment ended.
            self._origin = dts_s - self._next_dts / TIMESCALE
            self._rebase = False
        dts = round((dts_s - self._origin) * TIMESCALE)
        floor = self._pending[-1][0].dts + 1 if self._pending else self._next_dts
        dts = max(dts, floor)
        cts = max(0, round((packet.pts - dts_s) * TIMESCALE))
        duration = max(1, round(packet.duration * TIMESCALE))
        if self._pending:  # the previous sample lasts until this one
            prev, pwall = self._pending[-1]
            fixed = Sample(prev.data, prev.dts, prev.cts, max(1, dts - prev.dts), prev.keyframe)
            self._pending[-1] = (fixed, pwall)
            self._pending_ticks += fixed.duration - prev.duration
        self._pending.append((Sample(data, dts, cts, duration, packet.keyframe), wall))
        self._pending_ticks += duration
        if self._fragment_full(duration):
            self._flush()

    def _fragment_full(self, duration: int) -> bool:
        """Cut now: the GOP ends with this packet (as long as the last one), or the fragment
        has its share of the GOP (GOPs split evenly: 13 + 12 frames, not 12 + 12 + 1)."""
        gop = self._gop_length
        if gop and self._gop_frames >= gop:
            return True
        if not gop:  # the first GOP: its end shows only when the next keyframe comes
            return self._pending_ticks >= self.fragment_ticks + duration // 2
        pieces = max(1, -(-(gop * duration) // max(1, self.fragment_ticks)))
        share = -(-gop // pieces)
        return len(self._pending) >= share

    def snapshot(self, picture: MainImage) -> None:
        """The current picture as a JPEG, at most `snapshot_width` wide. It is scaled as it
        is converted: a 1080p picture is never whole in BGR for it."""
        w, h = bgr_size(picture)
        width = self.cfg.snapshot_width
        if width and w > width:
            w, h = width, max(1, round(h * width / w))
        ok, buf = cv2.imencode(".jpg", bgr_scaled(picture, (w, h)),
                               [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            self._write(SNAPSHOT, buf.tobytes())

    def close(self) -> None:
        """Stop publishing: the files go (a viewer then sees the camera has stopped), and
        the directory if nothing else is in it."""
        self._clear()
        with contextlib.suppress(OSError):
            self.dir.rmdir()

    # -- state ------------------------------------------------------------------------

    @property
    def fragments(self) -> list[Published]:
        return list(self._fragments)

    @property
    def nbytes(self) -> int:
        """Bytes the directory holds now."""
        return sum(self._sizes.values()) + self._gop_bytes

    # -- inside -----------------------------------------------------------------------

    def _need_keyframe(self) -> None:
        self._waiting = True
        self._segment_wait = True
        self._drop_gop()

    def _new_generation(self, params: ParameterSets) -> None:
        assert self._info is not None
        self.generation += 1
        self._params = params
        self._origin = None
        self._next_dts = 0
        for p in list(self._fragments):
            self._remove(fragment_name(p.n))
        self._fragments.clear()
        for n, _, _ in list(self._segments):
            self._remove(segment_name(n))
        self._segments.clear()
        self._drop_gop()
        self._segment_wait = True
        for name in list(self._sizes):
            if name.startswith("init-"):
                self._remove(name)
        self._write(init_name(self.generation),
                    init_segment(params, self._info.width, self._info.height))
        self._write_index()

    def _flush(self) -> None:
        if not self._pending:
            return
        samples = [s for s, _ in self._pending]
        wall = self._pending[0][1]
        self._pending.clear()
        self._pending_ticks = 0
        n = self._next_fragment
        self._next_fragment += 1
        data = fragment(n + 1, samples)
        end = samples[-1].dts + samples[-1].duration
        self._next_dts = end
        self._write(fragment_name(n), data)
        start = samples[0].dts
        self._fragments.append(Published(n, samples[0].keyframe, start / TIMESCALE,
                                         (end - start) / TIMESCALE, wall, len(data)))
        if samples[0].keyframe:
            self._gop_start = start
            self._segment_wait = False
            self._drop_gop()
        if not self._segment_wait:
            with open(self.dir / GOP_TMP, "ab") as f:
                f.write(data)
            self._gop_bytes += len(data)
            self.written += len(data)
        self._trim()
        self._write_index()

    def _close_gop(self) -> None:
        """A keyframe arrived: the GOP before it becomes one HLS segment."""
        if not self._gop_bytes or self._segment_wait:
            self._drop_gop()
            return
        last = self._fragments[-1]
        end = last.start + last.duration
        n = self._next_segment
        self._next_segment += 1
        os.replace(self.dir / GOP_TMP, self.dir / segment_name(n))
        self._sizes[segment_name(n)] = self._gop_bytes
        self._segments.append((n, end - self._gop_start / TIMESCALE, self._gop_bytes))
        self._gop_bytes = 0
        while len(self._segments) > SEGMENTS_KEPT:
            self._remove(segment_name(self._segments.popleft()[0]))
        self._write_playlist()

    def _drop_gop(self) -> None:
        self._gop_bytes = 0
        with contextlib.suppress(FileNotFoundError):
            (self.dir / GOP_TMP).unlink()

    def _trim(self) -> None:
        """Keep `window_seconds` of fragments and the directory's byte bound."""
        newest = self._fragments[-1]
        horizon = newest.start + newest.duration - self.window
        while len(self._fragments) > 1 and (
                self._fragments[0].start + self._fragments[0].duration <= horizon
                or self.nbytes > MAX_BYTES):
            self._remove(fragment_name(self._fragments.popleft().n))
        while self.nbytes > MAX_BYTES and self._segments:
            self._remove(segment_name(self._segments.popleft()[0]))

    def _write_index(self) -> None:
        params = self._params
        index = {
            "generation": self.generation,
            "init": init_name(self.generation) if params else None,
            "codec": params.codec if params else None,
            "width": self._info.width if self._info else 0,
            "height": self._info.height if self._info else 0,
            "fragment_seconds": self.cfg.fragment_seconds,
            "fragments": [{"n": p.n, "independent": p.independent, "start": round(p.start, 4),
                           "duration": round(p.duration, 4), "wall": round(p.wall, 3)}
                          for p in self._fragments],
        }
        self._write(INDEX, json.dumps(index, separators=(",", ":")).encode())

    def _write_playlist(self) -> None:
        if not self._segments:
            return
        target = max(1, round(max(d for _, d, _ in self._segments) + 0.4999))
        lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{target}",
                 f"#EXT-X-MEDIA-SEQUENCE:{self._segments[0][0]}", "#EXT-X-INDEPENDENT-SEGMENTS",
                 f'#EXT-X-MAP:URI="{init_name(self.generation)}"']
        for n, duration, _ in self._segments:
            lines += [f"#EXTINF:{duration:.3f},", segment_name(n)]
        self._write(PLAYLIST, ("\n".join(lines) + "\n").encode())

    def _write(self, name: str, data: bytes) -> None:
        tmp = self.dir / f".{name}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, self.dir / name)
        self._sizes[name] = len(data)
        self.written += len(data)

    def _remove(self, name: str) -> None:
        self._sizes.pop(name, None)
        with contextlib.suppress(FileNotFoundError):
            (self.dir / name).unlink()

    def _clear(self) -> None:
        """Remove what a publisher (this one, or one before a restart) left."""
        try:
            names = os.listdir(self.dir)
        except OSError as e:
            raise LiveDirError(f"{self.dir}: {e.strerror or e}") from e
        for name in names:
            if is_live_file(name) or (name.startswith(".") and name.endswith(".tmp")):
                (self.dir / name).unlink(missing_ok=True)
        self._sizes.clear()
