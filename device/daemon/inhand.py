"""A message taken from a broker link and not yet handled.

A QoS 1 message is acknowledged only once it is handled; the broker sends an unacknowledged
one again only after its next connection, which may be hours away. So when handling fails
(a locked or full disk) the thread's next run handles the same message first, as long as it
came on the link's current connection, and at most `TRIES` times: a message that keeps
failing is left to the broker rather than holding up every message behind it.
"""

from __future__ import annotations

import logging
from typing import Protocol

from uplink.mqtt import Incoming

log = logging.getLogger("doorcam")
TRIES = 3  # runs that handle one message before it is left to the broker


class Link(Protocol):
    def get(self, timeout: float | None = None) -> Incoming | None: ...

    def current(self, incoming: Incoming) -> bool: ...

    def ack(self, incoming: Incoming) -> bool: ...


class InHand:
    """`take` the next message (the one whose handling failed first), `done` once handled."""

    def __init__(self, link: Link, what: str) -> None:
        self.link = link
        self.what = what
        self._held: Incoming | None = None
        self._tries = 0

    def take(self, timeout: float) -> Incoming | None:
        held = self._held
        if held is not None:
            if not self.link.current(held):
                log.info("%s taken before a reconnect: the broker sends it again", self.what)
            elif self._tries >= TRIES:
                log.warning("%s on %s failed %d times: left for the broker to send again "
                            "after its next connection", self.what, held.topic[:80], TRIES)
            else:
                self._tries += 1
                return held
            self._held = None
        msg = self.link.get(timeout=timeout)
        if msg is not None:
            self._held, self._tries = msg, 1
        return msg

    def done(self, msg: Incoming) -> None:
        """Handled (stored, or refused and logged): acknowledged and forgotten."""
        self._held = None
        self.link.ack(msg)
