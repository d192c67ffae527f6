"""The ONVIF Media Signing SEI: an H.264 "user data unregistered" SEI with the
specification's UUID, a reserved byte and TLV tags. See docs/media-signing.md."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from common.mediasign.nal import SEI, add_emulation_prevention, remove_emulation_prevention

UUID = bytes.fromhex("005bc93f2d715e95ada4796f90877a6f")
USER_DATA_UNREGISTERED = 5
# The specification's version the format follows ("r25.12.3").
CODE_VERSION = (25, 12, 3)
# Reserved byte: bit 7 certificate SEI, bit 6 hashed with emulation prevention bytes.
RESERVED_EPB = 0x40

TAG_GENERAL = 1
TAG_HASH_LIST = 2
TAG_SIGNATURE = 3
TAG_CRYPTO_INFO = 4
TAG_VENDOR_INFO = 5
TAG_CERTIFICATES = 6
TAG_ARBITRARY = 7
# DER-encoded OID of SHA-256 (2.16.840.1.101.3.4.2.1).
SHA256_OID = bytes.fromhex("0609608648016503040201")
HASH_SIZE = 32
TIMESTAMP_EPOCH_OFFSET_S = 11644473600  # 1601-01-01 to 1970-01-01
STOP_BYTE = 0x80


class SeiError(ValueError):
    """A Media Signing SEI that cannot be decoded."""


def timestamp_from_unix(seconds: float) -> int:
    """The format's time: 100-nanosecond intervals since 1601-01-01 UTC."""
    return round((seconds + TIMESTAMP_EPOCH_OFFSET_S) * 10_000_000)


def unix_from_timestamp(ts: int) -> float:
    return ts / 10_000_000 - TIMESTAMP_EPOCH_OFFSET_S


@dataclass(frozen=True)
class GopRecord:
    """What one signed SEI says about the (partial) GOP before it."""

    gop_counter: int
    start_ts: int
    end_ts: int
    num_nalus: int
    gop_hash: bytes
    linked_hash: bytes
    hash_list: tuple[bytes, ...]
    triggered_partial: bool = False


@dataclass(frozen=True)
class VendorInfo:
    firmware_version: str = ""
    serial_number: str = ""
    manufacturer: str = ""


@dataclass
class ParsedSei:
    record: GopRecord | None = None
    vendor: VendorInfo | None = None
    certificates: bytes = b""  # PEM: leaf first, the trust anchor left out
    hash_oid: bytes = b""
    signature: bytes = b""
    signed_part: bytes = b""  # the bytes whose SHA-256 the signature covers
    code_version: tuple[int, int, int] = (0, 0, 0)
    is_certificate_sei: bool = False
    tags: list[int] = field(default_factory=list)


def _tlv(tag: int, value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise SeiError(f"tag {tag} value of {len(value)} bytes does not fit")
    return bytes([tag]) + struct.pack(">H", len(value)) + value


def encode_general(r: GopRecord) -> bytes:
    v = bytes([2, *CODE_VERSION, int(r.triggered_partial)])
    v += struct.pack(">qqIH", r.start_ts, r.end_ts, r.gop_counter & 0xFFFFFFFF,
                     min(r.num_nalus, 0xFFFF))
    return _tlv(TAG_GENERAL, v + r.gop_hash + r.linked_hash)


def encode_unsigned_part(record: GopRecord, vendor: VendorInfo, certificates: bytes) -> bytes:
    """TLVs before the signature, in the order the reference signer writes them: the
    optional tags (crypto, vendor, certificates), then the general tag and hash list."""
    parts = [_tlv(TAG_CRYPTO_INFO, bytes([1, len(SHA256_OID)]) + SHA256_OID + b"\x00\x00\x00")]
    vi = [s.encode()[:255] for s in (vendor.firmware_version, vendor.serial_number,
                                      vendor.manufacturer)]
    parts.append(_tlv(TAG_VENDOR_INFO, bytes([1]) + b"".join(bytes([len(s)]) + s for s in vi)))
    if certificates:
        parts.append(_tlv(TAG_CERTIFICATES, b"\x01\x00" + certificates))
    parts.append(encode_general(record))
    if record.hash_list:
        parts.append(_tlv(TAG_HASH_LIST, b"\x01" + b"".join(record.hash_list)))
    return b"".join(parts)


def signature_tlv(signature: bytes, max_size: int) -> bytes:
    if len(signature) > max_size:
        raise SeiError(f"signature of {len(signature)} bytes exceeds {max_size}")
    # Unused bytes are 0x01: they never call for emulation prevention.
    return _tlv(TAG_SIGNATURE, b"\x01" + struct.pack(">H", len(signature)) + signature
                + b"\x01" * (max_size - len(signature)))


def build_sei(tlvs: bytes, sig_tlv_size: int) -> tuple[bytes, int]:
    """(SEI NAL unit without the signature TLV and stop byte, payload size to declare).

    The payload size counts the signature TLV still to come (`sig_tlv_size` bytes)."""
    payload_size = len(UUID) + 1 + len(tlvs) + sig_tlv_size
    size_bytes = b"\xff" * (payload_size // 255) + bytes([payload_size % 255])
    body = bytes([USER_DATA_UNREGISTERED]) + size_bytes + UUID + bytes([RESERVED_EPB]) + tlvs
    return bytes([SEI]) + add_emulation_prevention(body), payload_size


def finish_sei(unsigned_nal: bytes, sig_tlv: bytes) -> bytes:
    """Append the signature TLV with emulation prevention continuing across the join."""
    return (unsigned_nal + add_emulation_prevention(sig_tlv, after=unsigned_nal)
            + bytes([STOP_BYTE]))


def is_media_signing_sei(nal: bytes) -> bool:
    if not nal or nal[0] & 0x1F != SEI or len(nal) < 3 or nal[1] != USER_DATA_UNREGISTERED:
        return False
    pos = 2
    while pos < len(nal) and nal[pos] == 0xFF:
        pos += 1
    return nal[pos + 1:pos + 1 + len(UUID)] == UUID


def parse_sei(nal: bytes) -> ParsedSei:
    """Decode a Media Signing SEI NAL unit (header byte first, no start code)."""
    if not is_media_signing_sei(nal):
        raise SeiError("not an ONVIF Media Signing SEI")
    pos, size = 2, 0
    while nal[pos] == 0xFF:
        size += 255
        pos += 1
    size += nal[pos]
    pos += 1
    rbsp, where = remove_emulation_prevention(nal[pos:])
    if len(rbsp) < size or size < len(UUID) + 1:
        raise SeiError("SEI payload is shorter than its declared size")
    reserved = rbsp[len(UUID)]
    out = ParsedSei(is_certificate_sei=bool(reserved & 0x80))
    tlv = rbsp[len(UUID) + 1:size]
    base = len(UUID) + 1
    i = 0
    while i + 3 <= len(tlv):
        tag = tlv[i]
        n = struct.unpack(">H", tlv[i + 1:i + 3])[0]
        value = tlv[i + 3:i + 3 + n]
        if len(value) != n:
            raise SeiError(f"tag {tag} runs past the payload")
        out.tags.append(tag)
        if tag == TAG_SIGNATURE:
            # Hashed with emulation prevention (reserved bit 6): the raw bytes up to the tag.
            # The signer hashed what it had written before the tag: an emulation prevention
            # byte in front of the tag is not part of it.
            raw_end = pos + where[base + i - 1] + 1
            out.signed_part = nal[:raw_end] if reserved & RESERVED_EPB else \
                nal[:pos] + rbsp[:base + i]
            out.signature = _decode_signature(value)
        else:
            _decode_tag(out, tag, value)
        i += 3 + n
    if i != len(tlv):
        raise SeiError("trailing bytes after the last tag")
    return out


def _decode_signature(v: bytes) -> bytes:
    if len(v) < 3 or v[0] != 1:
        raise SeiError("unknown signature tag version")
    n = struct.unpack(">H", v[1:3])[0]
    if 3 + n > len(v):
        raise SeiError("signature longer than its tag")
    return v[3:3 + n]


def _decode_tag(out: ParsedSei, tag: int, v: bytes) -> None:
    if not v:
        raise SeiError(f"tag {tag} is empty")
    if tag == TAG_GENERAL:
        if v[0] not in (1, 2):
            raise SeiError(f"unknown general tag version {v[0]}")
        out.code_version = (v[1], v[2], v[3])
        partial = bool(v[4])
        pos = 5
        start = struct.unpack(">q", v[pos:pos + 8])[0]
        pos += 8
        end = start
        if v[0] >= 2:
            end = struct.unpack(">q", v[pos:pos + 8])[0]
            pos += 8
        counter, nalus = struct.unpack(">IH", v[pos:pos + 6])
        pos += 6
        rest = v[pos:]
        if len(rest) % 2:
            raise SeiError("general tag hashes have odd length")
        h = len(rest) // 2
        prev = out.record.hash_list if out.record else ()
        out.record = GopRecord(counter, start, end, nalus, rest[:h], rest[h:], prev, partial)
    elif tag == TAG_HASH_LIST:
        if v[0] != 1:
            raise SeiError("unknown hash list version")
        body = v[1:]
        if len(body) % HASH_SIZE:
            raise SeiError("hash list is not a whole number of SHA-256 hashes")
        hashes = tuple(body[i:i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE))
        if out.record is None:
            raise SeiError("hash list before the general tag")
        out.record = GopRecord(out.record.gop_counter, out.record.start_ts, out.record.end_ts,
                               out.record.num_nalus, out.record.gop_hash,
                               out.record.linked_hash, hashes, out.record.triggered_partial)
    elif tag == TAG_CRYPTO_INFO:
        n = v[1]
        out.hash_oid = v[2:2 + n]
    elif tag == TAG_VENDOR_INFO:
        fields: list[str] = []
        pos = 1
        for _ in range(3):
            n = v[pos]
            fields.append(v[pos + 1:pos + 1 + n].decode(errors="replace"))
            pos += 1 + n
        out.vendor = VendorInfo(*fields)
    elif tag == TAG_CERTIFICATES:
        out.certificates = v[2:]
    elif tag not in (TAG_ARBITRARY,):
        raise SeiError(f"unknown tag {tag}")
