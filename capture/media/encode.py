"""Encoders: turn Frames into H.264 Packets. One small file per variant, as in picamera2."""

from __future__ import annotations

import threading

from capture.frame import Frame, Packet, StreamInfo


class EncodeError(Exception):
    """The encoder cannot start or rejected a frame; the message is one line for the user."""


class Encoder:
    """Base class: owns the lock and the start/encode/stop lifecycle.

    Subclasses implement `_start`, `_encode` and `_stop`; the base guarantees they are
    called one at a time and only in a sensible order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._output: StreamInfo | None = None

    @property
    def running(self) -> bool:
        return self._output is not None

    @property
    def output_info(self) -> StreamInfo:
        """The stream the packets belong to (what an MP4 writer needs); only while running."""
        if self._output is None:
            raise EncodeError(f"{type(self).__name__} is not started")
        return self._output

    def start(self, info: StreamInfo) -> StreamInfo:
        """Start for frames shaped like `info`; returns the info of the packets produced."""
        with self._lock:
            if self._output is not None:
                raise EncodeError(f"{type(self).__name__} is already started")
            self._output = self._start(info)
            return self._output

    def encode(self, frame: Frame) -> list[Packet]:
        """The packets completed by this frame (zero or more, in decode order)."""
        with self._lock:
            if self._output is None:
                raise EncodeError(f"{type(self).__name__} is not started")
            return self._encode(frame)

    def stop(self) -> list[Packet]:
        """Flush and stop; returns any packets still held. Safe to call twice."""
        with self._lock:
            if self._output is None:
                return []
            try:
                return self._stop()
            finally:
                self._output = None

    def _start(self, info: StreamInfo) -> StreamInfo:
        raise NotImplementedError

    def _encode(self, frame: Frame) -> list[Packet]:
        raise NotImplementedError

    def _stop(self) -> list[Packet]:
        raise NotImplementedError
