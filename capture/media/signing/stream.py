"""Signing one continuous H.264 stream, packet by packet (decode order)."""

from __future__ import annotations

import dataclasses
import time

from capture.frame import Packet
from capture.media.signing.seam import MediaSigner
from common.mediasign.chain import GopChain, sha256
from common.mediasign.mp4 import is_avcc, read_avcc
from common.mediasign.nal import (
    IDR,
    SLICE,
    iter_units,
    join_annex_b,
    join_length_prefixed,
    nal_type,
    starts_gop,
)
from common.mediasign.sei import (
    GopRecord,
    build_sei,
    encode_unsigned_part,
    finish_sei,
    signature_tlv,
    timestamp_from_unix,
)


def length_size_of(extradata: bytes) -> int:
    """NAL length prefix size from an avcC record; 0 for Annex B (no or raw extradata)."""
    return read_avcc(extradata)[0] if is_avcc(extradata) else 0


class StreamSigner:
    """Hashes every slice and signs each GOP; the SEI of a GOP goes in front of the first
    slice of the next access unit that does not itself start a GOP.

    So an access unit that starts a GOP never carries the signature of the GOP before it,
    and a clip or cut beginning at a keyframe does not begin with a signature for frames it
    does not hold (the framework's validator then reports the clip valid, and its reference
    signer places SEIs the same way). `seal` signs what came since the last signature, for
    the end of a clip."""

    def __init__(self, signer: MediaSigner, length_size: int) -> None:
        self._signer = signer
        self._length_size = length_size
        self._chain = GopChain()
        self._pending: list[bytes] = []  # signed SEIs waiting for an access unit
        self._held = False  # the pending SEIs already let one GOP-starting unit pass
        self.seis = 0
        self.sei_bytes = 0
        self.sign_seconds = 0.0  # CPU time spent hashing, building and signing

    def sign(self, packet: Packet, wall: float) -> Packet:
        """The packet, with the SEIs due placed in it. `wall` is its capture time."""
        t = time.thread_time()
        ts = timestamp_from_unix(wall)
        units = list(iter_units(packet.data, self._length_size))
        place: list[bytes] = []
        if self._pending:
            # All-intra streams start a GOP with every unit: wait for one at most.
            if self._held or not any(starts_gop(n) for n in units):
                place, self._pending, self._held = self._pending, [], False
            else:
                self._held = True
        out: list[bytes] = []
        for nal in units:
            if place and nal_type(nal) in (SLICE, IDR):
                out.extend(place)
                place = []
            record = self._chain.add(nal, ts)  # only ever returned at a GOP start
            if record is not None:
                self._pending.append(self._sei(record))
            out.append(nal)
        out.extend(place)  # a unit without a picture: after what it holds
        self.sign_seconds += time.thread_time() - t
        if len(out) == len(units):
            return packet
        data = self._join(out)
        self.sei_bytes += len(data) - len(packet.data)
        return dataclasses.replace(packet, data=data)

    def seal(self, wall: float) -> bytes:
        """The SEIs that sign every slice given so far (the GOP in progress as a partial
        GOP), framed as the stream is, to append to the last packet of a clip ending here;
        b"" when nothing is left unsigned. They also stay due for the next access unit, so
        a later clip holding the same frames carries them too. `wall`: when the clip ends."""
        t = time.thread_time()
        record = self._chain.seal(timestamp_from_unix(wall))
        if record is not None:
            self._pending.append(self._sei(record))
        self.sign_seconds += time.thread_time() - t
        if not self._pending:
            return b""
        data = self._join(self._pending)
        self.sei_bytes += len(data)
        return data

    def _join(self, units: list[bytes]) -> bytes:
        return (join_annex_b(units) if self._length_size == 0
                else join_length_prefixed(units, self._length_size))

    def _sei(self, record: GopRecord) -> bytes:
        s = self._signer
        tlvs = encode_unsigned_part(record, s.vendor, s.certificates)
        sig_size = len(signature_tlv(b"", s.max_signature_size))
        unsigned, _ = build_sei(tlvs, sig_size)
        signature = s.sign_digest(sha256(unsigned))
        self.seis += 1
        return finish_sei(unsigned, signature_tlv(signature, s.max_signature_size))
