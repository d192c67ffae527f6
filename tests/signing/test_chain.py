"""The GOP chain's linked hashes follow the reference signer's rule (read from
`oms_signer.c`/`oms_common.c` of onvif/media-signing-framework): each signed part of the
stream links to the first entry of the part before it, so after a partial GOP the remainder
links to the GOP's anchor and the next GOP to the remainder's first slice."""

from __future__ import annotations

import hashlib

from common.mediasign.chain import ZERO, GopChain


def idr(n: int) -> bytes:
    return bytes([0x65, 0x88]) + n.to_bytes(4, "big")  # IDR, first_mb_in_slice = 0


def p(n: int) -> bytes:
    return bytes([0x41, 0x9A]) + n.to_bytes(4, "big")  # non-IDR slice


def h(nal: bytes) -> bytes:
    return hashlib.sha256(nal).digest()


def test_a_whole_gop_links_to_the_anchor_of_the_gop_before() -> None:
    chain = GopChain()
    assert chain.add(idr(1), 0) is None
    chain.add(p(2), 1)
    first = chain.add(idr(3), 2)
    assert first is not None and first.linked_hash == ZERO and first.gop_counter == 1
    chain.add(p(4), 3)
    second = chain.add(idr(5), 4)
    assert second is not None and second.linked_hash == h(idr(1))


def test_after_a_seal_each_part_links_to_the_first_entry_of_the_part_before() -> None:
    chain = GopChain()
    chain.add(idr(1), 0)
    chain.add(p(2), 1)
    chain.add(idr(3), 2)  # signs GOP 1
    chain.add(p(4), 3)
    part1 = chain.seal(4)  # a clip ends inside GOP 2
    assert part1 is not None and part1.triggered_partial
    assert part1.linked_hash == h(idr(1))
    chain.add(p(5), 5)
    chain.add(p(6), 6)
    part2 = chain.add(idr(7), 7)
    assert part2 is not None and part2.linked_hash == h(idr(3))
    assert part2.gop_counter == part1.gop_counter + 1
    first_of_part2 = hashlib.sha256(h(idr(3)) + h(p(5))).digest()  # anchored entry
    assert part2.hash_list[0] == first_of_part2
    chain.add(p(8), 8)
    gop3 = chain.add(idr(9), 9)
    assert gop3 is not None and gop3.linked_hash == first_of_part2


def test_a_seal_at_the_end_of_a_gop_is_not_followed_by_an_empty_signature() -> None:
    chain = GopChain()
    chain.add(idr(1), 0)
    chain.add(p(2), 1)
    sealed = chain.seal(2)  # the clip ends with the GOP's last frame
    assert sealed is not None and sealed.gop_counter == 1 and sealed.num_nalus == 2
    assert chain.add(idr(3), 3) is None  # nothing left to sign: no empty record
    chain.add(p(4), 4)
    nxt = chain.add(idr(5), 5)
    assert nxt is not None and nxt.gop_counter == 2 and nxt.linked_hash == h(idr(1))
