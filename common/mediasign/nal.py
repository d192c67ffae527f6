"""H.264 NAL units as ONVIF Media Signing sees them: splitting access units (Annex B or
length-prefixed), the header fields it keys on, and emulation prevention."""

from __future__ import annotations

from collections.abc import Iterator

SLICE = 1  # coded slice of a non-IDR picture
IDR = 5  # coded slice of an IDR picture: starts a GOP
SEI = 6
START_CODE = b"\x00\x00\x00\x01"


def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F if nal else 0


def is_primary_slice(nal: bytes) -> bool:
    """A picture's first slice: first_mb_in_slice == 0, i.e. ue(v) '1' in the first bit."""
    return nal_type(nal) in (SLICE, IDR) and len(nal) > 1 and bool(nal[1] & 0x80)


def starts_gop(nal: bytes) -> bool:
    return nal_type(nal) == IDR and is_primary_slice(nal)


def hashable(nal: bytes) -> bytes:
    """What is hashed of a picture slice: the NAL unit from its header byte, trailing zero
    bytes removed (some muxers pad NAL units with them)."""
    end = len(nal)
    while end > 0 and nal[end - 1] == 0:
        end -= 1
    return nal[:end]


def split_annex_b(data: bytes) -> list[bytes]:
    """NAL units of a byte-stream access unit, start codes removed."""
    out: list[bytes] = []
    start = data.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        nxt = data.find(b"\x00\x00\x01", begin)
        end = len(data) if nxt < 0 else _trim_zero(data, begin, nxt)
        if end > begin:
            out.append(data[begin:end])
        start = nxt
    return out


def _trim_zero(data: bytes, start: int, end: int) -> int:
    # The zero byte of a 4-byte start code belongs to the next unit's prefix.
    while end > start and data[end - 1] == 0:
        end -= 1
    return end


def split_length_prefixed(data: bytes, size: int = 4) -> list[bytes]:
    """NAL units of an MP4 sample (ISO 14496-15: each unit after a big-endian length)."""
    out: list[bytes] = []
    pos = 0
    while pos + size <= len(data):
        n = int.from_bytes(data[pos:pos + size], "big")
        pos += size
        if n == 0 or pos + n > len(data):
            raise ValueError(f"NAL unit length {n} runs past the sample ({len(data)} bytes)")
        out.append(data[pos:pos + n])
        pos += n
    if pos != len(data):
        raise ValueError("trailing bytes after the last NAL unit")
    return out


def join_annex_b(units: list[bytes]) -> bytes:
    return b"".join(START_CODE + u for u in units)


def join_length_prefixed(units: list[bytes], size: int = 4) -> bytes:
    return b"".join(len(u).to_bytes(size, "big") + u for u in units)


def add_emulation_prevention(rbsp: bytes, *, after: bytes = b"") -> bytes:
    """Insert 0x03 after two zero bytes when the next byte is 0..3 (H.264 7.4.1). `after`:
    already escaped bytes this continues (their trailing zeros count); not returned."""
    zeros = 0
    for b in reversed(after[-2:]):
        if b != 0:
            break
        zeros += 1
    if b"\x00\x00" not in bytes(zeros) + rbsp:
        return rbsp
    out = bytearray()
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def remove_emulation_prevention(data: bytes) -> tuple[bytes, list[int]]:
    """(RBSP, for each RBSP byte offset the raw offset it came from)."""
    out = bytearray()
    where: list[int] = []
    zeros = 0
    for i, b in enumerate(data):
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        where.append(i)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out), where


def iter_units(sample: bytes, length_size: int) -> Iterator[bytes]:
    """The NAL units of one access unit; `length_size` 0 means Annex B."""
    yield from (split_annex_b(sample) if length_size == 0
                else split_length_prefixed(sample, length_size))
