"""Signing one continuous H.264 stream, packet by packet (decode order)."""

from __future__ import annotations

import dataclasses
import time

from capture.frame import Packet
from capture.media.signing.seam import MediaSigner
from common.mediasign.chain import GopChain, sha256
from common.mediasign.nal import iter_units, join_annex_b, join_length_prefixed
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
    if len(extradata) >= 7 and extradata[0] == 1:
        return (extradata[4] & 3) + 1
    return 0


class StreamSigner:
    """Hashes every slice and, at each GOP start after the first, inserts the signed SEI of
    the GOP just ended in front of that GOP's first slice (same access unit)."""

    def __init__(self, signer: MediaSigner, length_size: int) -> None:
        self._signer = signer
        self._length_size = length_size
        self._chain = GopChain()
        self.seis = 0
        self.sei_bytes = 0
        self.sign_seconds = 0.0  # CPU time spent hashing, building and signing

    def sign(self, packet: Packet, wall: float) -> Packet:
        """The packet, with an SEI added when it starts a GOP. `wall` is its capture time."""
        t = time.thread_time()
        ts = timestamp_from_unix(wall)
        units: list[bytes] = []
        changed = False
        for nal in iter_units(packet.data, self._length_size):
            record = self._chain.add(nal, ts)  # only ever returned at a GOP start
            if record is not None:
                units.append(self._sei(record))
                changed = True
            units.append(nal)
        self.sign_seconds += time.thread_time() - t
        if not changed:
            return packet
        data = (join_annex_b(units) if self._length_size == 0
                else join_length_prefixed(units, self._length_size))
        self.sei_bytes += len(data) - len(packet.data)
        return dataclasses.replace(packet, data=data)

    def _sei(self, record: GopRecord) -> bytes:
        s = self._signer
        tlvs = encode_unsigned_part(record, s.vendor, s.certificates)
        sig_size = len(signature_tlv(b"", s.max_signature_size))
        unsigned, _ = build_sei(tlvs, sig_size)
        signature = s.sign_digest(sha256(unsigned))
        self.seis += 1
        return finish_sei(unsigned, signature_tlv(signature, s.max_signature_size))
