"""What the owner's tool remembers of a device between runs: the device key pinned on first
use and the newest audit head it verified (docs/protocol.md, "Owner channel"). A later view
or head older than the anchor is a replay, a roll-back or a cut log."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import write_atomic
from uplink.owner.errors import ViewProblem, ViewRefused
from uplink.protocol.canonical import JsonObject


@dataclass(frozen=True)
class Anchor:
    device_key: str | None = None  # the device's public signing key, as text
    seq: int = 0  # the newest audit head verified: its entry number,
    hash: str | None = None  # its hash
    at: str | None = None  # and when the device signed it
    extra: dict[str, Any] = field(default_factory=dict)  # keys of other versions, kept

    @classmethod
    def load(cls, path: Path) -> Anchor:
        """The anchor in `path`; an empty one if there is none. ValueError if unreadable."""
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: unreadable ({exc}); fix or remove it") from None
        if not isinstance(data, dict):
            return cls()
        known = {k: data.pop(k, None) for k in ("device_key", "seq", "hash", "at")}
        try:
            seq = int(known["seq"] or 0)
        except (TypeError, ValueError):
            raise ValueError(f"{path}: seq is not a number; fix or remove it") from None
        return cls(_text(known["device_key"]), seq, _text(known["hash"]), _text(known["at"]),
                   data)

    def save(self, path: Path) -> None:
        data: dict[str, Any] = {**self.extra, "device_key": self.device_key}
        if self.hash is not None:
            data.update(seq=self.seq, hash=self.hash, at=self.at)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(data, indent=1).encode() + b"\n", 0o600)

    def check(self, view: JsonObject, head: JsonObject | None) -> None:
        """ViewRefused unless the view and head are no older than this anchor."""
        if int(view["audit_seq"]) < self.seq:
            raise ViewRefused(ViewProblem.ROLLED_BACK, (
                f"the device's view is older than what you saw before (audit entry "
                f"{view['audit_seq']} < {self.seq}): a replayed or rolled-back view"))
        if head is not None and (int(head["seq"]) < self.seq or (
                int(head["seq"]) == self.seq and head["hash"] != self.hash)):
            raise ViewRefused(ViewProblem.LOG_CUT, (
                f"the device's audit head {head['seq']}:{str(head['hash'])[:12]}… does not "
                f"extend the one you saw before ({self.seq}): its audit log was cut or "
                "rewritten"))

    def advanced(self, head: JsonObject | None) -> Anchor:
        """This anchor moved up to `head` (verified, and checked not to be older)."""
        if head is None:
            return self
        return Anchor(self.device_key, int(head["seq"]), str(head["hash"]), str(head["at"]),
                      self.extra)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
