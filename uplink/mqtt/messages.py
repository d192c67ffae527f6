"""What the MQTT link hands to other threads, and the small interfaces they use it through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Incoming:
    """One message as received: the link carries bytes and never parses them.

    `mid`, `qos` and `session` identify the delivery for `ack()`; a QoS 1 message is
    acknowledged to the broker only when the consumer calls `ack()`, after storing it.
    """

    topic: str
    payload: bytes = field(repr=False)
    retained: bool
    received_at: float
    qos: int = 0
    mid: int = 0
    session: int = 0

    def preview(self, limit: int = 80) -> str:
        """At most `limit` characters of the payload, for log lines."""
        text = self.payload[:limit].decode("utf-8", errors="replace")
        return text if len(self.payload) <= limit else text + "…"


@dataclass(frozen=True)
class LinkStatus:
    """A snapshot of the link's health, safe to read from any thread."""

    connected: bool
    ready: bool  # every subscription confirmed by the broker and `online` announced
    received: int
    dropped_full: int
    dropped_oversized: int
    dropped_invalid: int
    dropped_publish: int
    reconnects: int
    last_error: str
    # Topics the broker refused to subscribe this connection to, with its reason code: the
    # link is connected but deaf to them (and never `ready`).
    refused: Mapping[str, str] = field(default_factory=dict)


class MessageSource(Protocol):
    """The consumer's view: take messages, acknowledge the ones stored durably."""

    def get(self, timeout: float | None = None) -> Incoming | None: ...

    def ack(self, incoming: Incoming) -> bool: ...


class Publisher(Protocol):
    """The producer's view: hand bytes over without blocking."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        ...


class Link(MessageSource, Publisher, Protocol):
    """Everything the device needs from a broker connection."""

    @property
    def connected(self) -> bool: ...

    def wait_ready(self, timeout: float | None = None) -> bool: ...

    def subscribe(self, topics: list[str], qos: int = 1) -> None: ...

    def status(self) -> LinkStatus: ...

    def close(self, timeout: float = 5.0) -> None: ...
