"""Property: a request matches exactly the clips whose time overlaps its window."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.uplink.desk.conftest import NOW, Device, FileCatalog
from tests.uplink.protocol.world import World
from uplink.agency.receiver import TusReceiver
from uplink.protocol.keys import generate_keypair

H = 3600
WINDOW = (NOW - 2 * H, NOW - H)  # the test request's window
clip = st.tuples(st.integers(NOW - 4 * H, NOW), st.integers(1, 900))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(clip, min_size=0, max_size=6))
def test_matched_clips_are_exactly_the_overlapping_ones(clips: list[tuple[int, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "clips").mkdir()
        (root / "keys").mkdir()
        receiver = TusReceiver(root / "rx")  # never started: nothing may be sent here
        dev = Device(root, World(root / "keys", generate_keypair()[0], generate_keypair()[0]),
                     receiver, FileCatalog(root / "clips"), generate_keypair()[0])
        try:
            ids = {dev.catalog.add(i, start, seconds, 64): (start, start + seconds)
                   for i, (start, seconds) in enumerate(clips)}
            desk = dev.desk()
            outcome = desk.receive(dev.request(), NOW)
            expected = {cid for cid, (a, b) in ids.items() if a <= WINDOW[1] and b >= WINDOW[0]}
            matched = {c.clip_id for c in desk.get(outcome.request_id).clips}
            assert matched == expected
            assert outcome.kind == ("pending" if expected else "no_clips")
            assert {c for c, held in dev.catalog.held.items() if held} == expected
        finally:
            dev.close()
            receiver._server.server_close()
