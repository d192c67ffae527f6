"""The GOP hash chain: how each picture slice is hashed and what a GOP's SEI records.

A GOP starts at the first slice of an IDR picture. That slice's SHA-256 is the GOP's
anchor; every other slice of the GOP is hashed as SHA-256(anchor || SHA-256(slice)), so a
slice moved into another GOP no longer matches. The GOP hash is the SHA-256 of the
concatenated slice hashes. The linked hash of each signed part is the first entry of the
part before it (zeros for the first): the anchor of the GOP before, or, after a GOP signed
in parts (`seal`), the entry of the first slice after the seal, as the reference signer
links them. Only picture slices are hashed (parameter sets, AUDs
and other SEIs are not), as in the reference implementation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from common.mediasign.nal import IDR, SLICE, hashable, nal_type, starts_gop
from common.mediasign.sei import HASH_SIZE, GopRecord

ZERO = bytes(HASH_SIZE)
# The reference validator holds at most this many hashes of a (partial) GOP (its default
# MAX_NUM_HASHES) and refuses a longer list; its signer then leaves the list out and the GOP
# is checked by its GOP hash alone. doorcam signs such GOPs the same way.
MAX_HASH_LIST = 300


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@dataclass
class SliceHasher:
    """Hashes slices in decode order with the anchor rule (shared by signer and verifier)."""

    anchor: bytes = ZERO
    has_anchor: bool = False

    def new_gop(self) -> None:
        self.has_anchor = False

    def hash(self, nal: bytes) -> tuple[bytes, bool] | None:
        """(the slice's hash-list entry, whether it became the anchor), or None for units
        that are not hashed."""
        if nal_type(nal) not in (SLICE, IDR):
            return None
        h = sha256(hashable(nal))
        if starts_gop(nal) and not self.has_anchor:
            self.anchor, self.has_anchor = h, True
            return h, True
        return sha256(self.anchor + h), False


@dataclass
class GopChain:
    """The signing side's state: feed NAL units in decode order with `add`; at each GOP
    start (from the second on) `add` returns the record of the GOP just ended (or of its
    part since the last `seal`), which the caller signs and places in the stream after it.
    `seal` ends a partial GOP where a clip ends: the GOP goes on, with the anchor it has."""

    hasher: SliceHasher = field(default_factory=SliceHasher)
    hashes: list[bytes] = field(default_factory=list)
    counter: int = -1  # the reference's partial GOP counter: the first signed GOP is 1
    linked: list[bytes] = field(default_factory=lambda: [ZERO, ZERO])  # [previous, pending]
    start_ts: int = 0
    end_ts: int = 0
    started: bool = False
    link_next: bool = False  # after a seal: the next slice's entry is the link to the part

    def add(self, nal: bytes, timestamp: int) -> GopRecord | None:
        record = None
        if starts_gop(nal):
            self.start_ts, self.end_ts = self.end_ts, timestamp
            if self.hashes and self.counter > 0:
                record = GopRecord(self.counter, self.start_ts, self.end_ts, len(self.hashes),
                                   sha256(b"".join(self.hashes)), self.linked[0],
                                   _listed(self.hashes))
                self.hashes = []
                self.counter += 1
            elif self.counter <= 0:
                self.counter = 1
            # else: a seal signed the whole GOP just ended; an empty record would follow it,
            # which the reference signer never writes and its validator refuses.
            self.hasher.new_gop()
        hashed = self.hasher.hash(nal)
        if hashed is not None:
            h, is_anchor = hashed
            if is_anchor or self.link_next:
                self.linked = [self.linked[1], h]
            self.link_next = False
            self.hashes.append(h)
        self.started = True
        return record

    def seal(self, timestamp: int) -> GopRecord | None:
        """The record of the slices hashed since the last record, as a partial GOP; None
        when there are none (or no GOP has started yet)."""
        if self.counter <= 0 or not self.hashes:
            return None
        self.start_ts, self.end_ts = self.end_ts, timestamp
        record = GopRecord(self.counter, self.start_ts, self.end_ts, len(self.hashes),
                           sha256(b"".join(self.hashes)), self.linked[0],
                           _listed(self.hashes), triggered_partial=True)
        self.hashes = []
        self.counter += 1
        self.link_next = True
        return record


def _listed(hashes: list[bytes]) -> tuple[bytes, ...]:
    """The hash list a record carries: all of them, or none past the validator's limit."""
    return tuple(hashes) if len(hashes) <= MAX_HASH_LIST else ()
