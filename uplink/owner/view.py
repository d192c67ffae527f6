"""Reading the device's view on the home broker: sealed to this owner, signed by the pinned
device key, no older than the anchor, and not behind the device's own audit head read in
the same session (an old genuine view re-published as the retained one would otherwise
hide every request that arrived since)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from uplink.errors import UplinkError
from uplink.mqtt import MessageSource
from uplink.owner.anchor import Anchor
from uplink.owner.errors import ViewProblem, ViewRefused
from uplink.protocol.canonical import JsonObject
from uplink.protocol.envelope import open_sealed
from uplink.protocol.owner import HEAD_TYPE, VIEW_TYPE, OwnerTopics, verify_device_document


@dataclass(frozen=True)
class Reader:
    """Who reads (the owner's key id and encryption key) and whose view (the device)."""

    device_id: str
    device_key: Ed25519PublicKey  # pinned
    kid: str
    enc_key: X25519PrivateKey
    topics: OwnerTopics


@dataclass(frozen=True)
class DeviceView:
    view: JsonObject  # verified: sealed to this owner, signed by the device
    head: JsonObject | None  # the newest verified audit head, if one arrived

    @property
    def behind(self) -> bool:
        """The view predates an audit entry the device has signed since."""
        return self.head is not None and int(self.view["audit_seq"]) < int(self.head["seq"])

    def check_current(self) -> None:
        if self.behind:
            assert self.head is not None
            raise ViewRefused(ViewProblem.BEHIND, (
                f"the device's view is behind its own audit log (the view is as of entry "
                f"{self.view['audit_seq']}, the device has signed entry {self.head['seq']} "
                f"since): an old view re-published, or the device is not publishing its "
                f"view; requests that arrived since may be missing, so none is shown"))


def read_view(link: MessageSource, reader: Reader, wait_s: float, *,
              clock: Callable[[], float] = time.monotonic) -> DeviceView:
    """The newest verified view and head that arrive within `wait_s` seconds on a link
    subscribed to `reader.topics` (it returns early once the view is as new as the head).
    ViewRefused when no genuine view arrived."""
    wanted = {reader.topics.view: VIEW_TYPE, reader.topics.head: HEAD_TYPE}
    found: dict[str, JsonObject] = {}
    problems: dict[str, str] = {}
    deadline = clock() + wait_s
    while clock() < deadline:
        if len(found) == len(wanted) and not DeviceView(found[reader.topics.view],
                                                        found[reader.topics.head]).behind:
            break
        msg = link.get(timeout=0.25)
        if msg is None:
            continue
        link.ack(msg)
        kind = wanted.get(msg.topic)
        if kind is None:
            continue
        try:
            plain = open_sealed(msg.payload, reader.kid, reader.enc_key,
                                device_id=reader.device_id, topic=msg.topic)
            doc = verify_device_document(plain, reader.device_key, kind=kind,
                                         device_id=reader.device_id)
        except UplinkError as exc:
            problems[msg.topic] = str(exc)[:200]
            continue
        if msg.topic not in found or doc["at"] >= found[msg.topic]["at"]:
            found[msg.topic] = doc
    view = found.get(reader.topics.view)
    if view is None:
        if reader.topics.view in problems:
            raise ViewRefused(ViewProblem.NOT_GENUINE, (
                f"the view on {reader.topics.view} is NOT a view signed by device "
                f"{reader.device_id}'s key and sealed to {reader.kid}; not shown "
                f"({problems[reader.topics.view]})"))
        raise ViewRefused(ViewProblem.NONE_SEEN,
                          f"no view of device {reader.device_id!r} within {wait_s:g} s")
    return DeviceView(view, found.get(reader.topics.head))


def current_view(link: MessageSource, reader: Reader, anchor: Anchor, wait_s: float,
                 save: Callable[[Anchor], None]) -> DeviceView:
    """The device's view, refused (ViewRefused) when it is older than the `anchor` or behind
    the audit head read with it; a verified head newer than the anchor is saved first, so a
    view refused now stays refused on the next run."""
    seen = read_view(link, reader, wait_s)
    anchor.check(seen.view, seen.head)
    save(anchor.advanced(seen.head))
    seen.check_current()
    return seen
