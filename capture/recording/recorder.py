"""The recorder: pre-roll, post-roll, merging and splitting of motion clips."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from capture.frame import Frame, Packet, StreamInfo
from capture.media.encode import EncodeError, Encoder
from capture.media.mux import MuxError
from capture.media.signing import MediaSigner, StreamSigner, length_size_of
from capture.recording.clip import CommittedClip, OpenClip, RecordingError
from capture.recording.prebuffer import Entry, PreBuffer
from capture.recording.sink import ClipClock, ClipSink
from config.schema import RecordingConfig

log = logging.getLogger(__name__)
_FAILURES = (EncodeError, MuxError, OSError)
# After a failure, the next clip is tried this much later (stream time): a read-only or full
# disk then costs one error every RETRY_S, not one per frame of the event.
RETRY_S = 2.0


class PacketTap(Protocol):
    """Sees every frame's packets as the clips get them (the live view); it must return at
    once (it runs on the recording thread)."""

    def packets(self, info: StreamInfo, frame: Frame, packets: list[Packet]) -> None: ...


class Recorder:
    """Turns frames plus the motion state into committed clips.

    Every frame's packets enter the pre-roll. Motion opens a clip that starts with the
    pre-roll (on a keyframe); it closes `post_roll_seconds` after the last motion frame,
    and motion resuming before then extends it. A clip reaching `max_clip_seconds` is cut
    at the next keyframe and, while still recording, the next clip starts on that very
    keyframe. A failure aborts only the open clip; the recorder carries on, and opens the
    next clip no sooner than RETRY_S later. `force` (a doorbell ring) records from the next
    frame for at least the given seconds without motion, and marks the clip holding it.

    `simulated` marks every clip (a synthetic scene or a file); `clock` is asked once per
    clip, when it opens: a clip begun before the system clock was synchronised keeps wrong
    wall times even if the clock is set while it records.

    With `signer`, every packet is signed (ONVIF Media Signing) before it enters the
    pre-roll, and each clip is sealed as it is finished: its last packet carries the
    signature of every frame since the last one, so no frame of a clip is left unsigned.

    With `tap`, each frame's packets (the source's own, or the encoder's) are also handed
    to it, unsigned, before anything else happens to them.
    """

    def __init__(self, cfg: RecordingConfig, info: StreamInfo, sink: ClipSink,
                 encoder: Encoder, *, simulated: bool = False,
                 clock: Callable[[], ClipClock] = ClipClock,
                 signer: MediaSigner | None = None, tap: PacketTap | None = None) -> None:
        self._cfg = cfg
        self._tap = tap
        self._simulated = simulated
        self._clock = clock
        self._sink = sink
        self._encoder = encoder
        try:
            self._info = encoder.output_info if encoder.running else encoder.start(info)
        except EncodeError as e:
            raise RecordingError(f"cannot start recording: {e}") from e
        self.signing = (StreamSigner(signer, length_size_of(self._info.extradata))
                        if signer is not None else None)
        self._pre = PreBuffer(cfg.pre_roll_seconds, cfg.preroll_max_mb * 1024 * 1024)
        self._clip: OpenClip | None = None
        self._last_motion = float("-inf")
        self._split_due = False
        self._retry_at = float("-inf")
        self._forced: tuple[str, float] | None = None  # asked for, applied at the next frame
        self._forced_until = float("-inf")
        # Frame times are sums of floats; a hair of slack keeps the exact post-roll frame.
        self._post_roll = cfg.post_roll_seconds + 1e-6

    @property
    def current_clip_id(self) -> str | None:
        """The id of the clip being written now (it holds the current frame), else None."""
        return self._clip.handle.id if self._clip else None

    def force(self, trigger: str, seconds: float) -> None:
        """Record at least `seconds` from the next frame, motion or not; the clip holding
        that frame gets `trigger` (e.g. "ring") in its meta."""
        self._forced = (trigger, seconds)

    def push(self, frame: Frame, motion: bool, score: float) -> list[CommittedClip]:
        """Feed one frame; returns the clips finished by it. RecordingError on failure."""
        done: list[CommittedClip] = []
        try:
            packets = self._encoder.encode(frame)
            if self._tap is not None:
                self._tap.packets(self._info, frame, packets)
            forced, self._forced = self._forced, None
            if forced is not None:
                self._forced_until = max(self._forced_until, frame.pts + forced[1])
            if motion:
                self._last_motion = frame.pts
            elif (self._clip and frame.pts - self._last_motion > self._post_roll
                  and frame.pts > self._forced_until):
                self._finish(done)
            extending = self._clip is not None
            for p in packets:
                if extending and self._split_due and p.keyframe:
                    self._finish(done)
                    self._open([])  # no gap, no overlap: the next clip starts on this keyframe
                # A packet's capture time: its frame's, shifted by the pts difference.
                e = Entry(self._sign(p, frame.wall + (p.pts - frame.pts)), frame.seq,
                          frame.pts, frame.wall)
                self._pre.add(e)
                if extending:
                    self._write(e)
            if self._clip is None and (motion or forced) and frame.pts >= self._retry_at:
                self._open(list(self._pre))
            if self._clip:
                if forced:
                    self._clip.trigger = forced[0]
                self._clip.offer(frame, score)
        except _FAILURES as e:
            self._retry_at = frame.pts + RETRY_S
            self._fail(e, done)
        return done

    def close(self) -> list[CommittedClip]:
        """Flush the encoder and finish any open clip (shutdown path)."""
        done: list[CommittedClip] = []
        try:
            tail: list[Packet] = self._encoder.stop()
            clip = self._clip
            if clip:
                last = clip.last
                for p in tail:
                    seq, pts, wall = (last.seq, last.pts, last.wall) if last else (0, p.pts, 0.0)
                    clip.write(Entry(self._sign(p, wall), seq, pts, wall))
                self._finish(done)
        except _FAILURES as e:
            self._fail(e, done)
        return done

    def _sign(self, packet: Packet, wall: float) -> Packet:
        return packet if self.signing is None else self.signing.sign(packet, wall)

    def _open(self, entries: list[Entry]) -> None:
        handle = self._sink.begin()
        try:
            self._clip = OpenClip(handle, self._info, self._cfg.thumbnail_width,
                                  simulated=self._simulated, clock=self._clock())
        except MuxError:
            self._sink.abort(handle)
            raise
        for e in entries:
            self._clip.write(e)

    def _write(self, e: Entry) -> None:
        assert self._clip is not None
        self._clip.write(e)
        if self._clip.length >= self._cfg.max_clip_seconds:
            self._split_due = True

    def _finish(self, done: list[CommittedClip]) -> None:
        clip = self._clip
        assert clip is not None
        if clip.empty:  # motion ended before any keyframe: nothing to keep
            log.warning("clip %s had no keyframe; discarded", clip.handle.id)
            self._drop()
            return
        last = clip.last
        seal = b"" if self.signing is None or last is None else \
            self.signing.seal(last.wall + (last.packet.pts - last.pts))
        meta = clip.finish(seal)
        self._sink.commit(clip.handle, meta)
        self._clip, self._split_due = None, False
        done.append(CommittedClip(clip.handle.id, meta))

    def _drop(self) -> None:
        clip, self._clip, self._split_due = self._clip, None, False
        if clip is None:
            return
        clip.discard()
        try:
            self._sink.abort(clip.handle)
        except OSError as e:
            log.error("clip %s: abort failed: %s", clip.handle.id, e)

    def _fail(self, exc: Exception, done: list[CommittedClip]) -> None:
        clip_id = self.current_clip_id
        self._drop()
        what = f"clip {clip_id} aborted" if clip_id else "recording failed"
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise RecordingError(f"{what}: {reason}", done) from exc
