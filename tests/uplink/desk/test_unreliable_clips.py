"""Clips whose times cannot be trusted, or that are not from the camera, are never offered:
the real request desk over the real clip store (through the daemon's StoreCatalog)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.recording.sink import ClipMeta
from device.store import ClipStore
from device.wiring.desk import StoreCatalog
from tests.store.helpers import store_config
from tests.uplink.desk.conftest import DEVICE, NOW, OWNER_KID, Device
from uplink.audit import AuditLog
from uplink.desk import RequestDesk
from uplink.protocol.evidence import ClockStatement

IN_WINDOW = NOW - 2 * 3600 + 600.0  # the test request's window is [NOW - 2 h, NOW - 1 h]


def _commit(store: ClipStore, *, simulated: bool = False, clock_synced: bool = True,
            clock_max_error_ms: int | None = None) -> str:
    handle = store.begin()
    handle.tmp_path.write_bytes(os.urandom(4096))
    store.commit(handle, ClipMeta(
        start_wall=IN_WINDOW, end_wall=IN_WINDOW + 4.0, duration=4.0, start_pts=0.0,
        first_seq=0, last_seq=99, peak_score=0.3, thumbnail_jpeg=b"\xff\xd8\xff\xd9",
        width=640, height=480, frames=100, simulated=simulated, clock_synced=clock_synced,
        clock_max_error_ms=clock_max_error_ms))
    return handle.id


def _desk(device: Device, store: ClipStore, *, match_simulated: bool) -> RequestDesk:
    audit = AuditLog(device.tmp / "audit.sqlite3")
    desk = RequestDesk.on_book(device.tmp / "uplink.sqlite3", device.registry,
                               StoreCatalog(store, match_simulated=match_simulated), audit,
                               DEVICE, {OWNER_KID: device.owner_key.public_key()},
                               allow_insecure_loopback=True)
    device.opened += [desk, audit]
    return desk


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ClipStore]:
    s = ClipStore(store_config(tmp_path / "store"))
    yield s
    s.close()


def test_a_clip_recorded_before_the_clock_was_set_is_neither_held_nor_offered(
        device: Device, store: ClipStore) -> None:
    good = _commit(store, clock_max_error_ms=12)
    unsynced = _commit(store, clock_synced=False)
    assert {r.id: r.clock_synced for r in store.list()} == {good: True, unsynced: False}
    # What the evidence manifest will state of the clip's clock.
    info = StoreCatalog(store).get(good)
    assert info is not None and info.clock == ClockStatement(True, 12)
    desk = _desk(device, store, match_simulated=True)  # no setting lets an unsynced clip in
    outcome = desk.receive(device.request(), NOW)
    assert outcome.kind == "pending"
    assert [c.clip_id for c in desk.get(outcome.request_id).clips] == [good]
    assert store.get(good).held and not store.get(unsynced).held


def test_an_unsynced_clip_alone_leaves_the_request_unshown(device: Device,
                                                           store: ClipStore) -> None:
    unsynced = _commit(store, clock_synced=False)
    desk = _desk(device, store, match_simulated=False)
    outcome = desk.receive(device.request(), NOW)
    assert outcome.kind == "no_clips"
    assert desk.pending(NOW) == [] and not store.get(unsynced).held


@pytest.mark.parametrize("match_simulated", [False, True])
def test_simulated_clips_match_only_when_the_demo_setting_says_so(
        device: Device, store: ClipStore, match_simulated: bool) -> None:
    camera = _commit(store)
    # Simulated on a machine without network time: the demo's agency shares its clock.
    simulated = _commit(store, simulated=True, clock_synced=False)
    desk = _desk(device, store, match_simulated=match_simulated)
    outcome = desk.receive(device.request(), NOW)
    offered = {c.clip_id for c in desk.get(outcome.request_id).clips}
    assert offered == ({camera, simulated} if match_simulated else {camera})
    assert store.get(simulated).held is match_simulated
