"""Accepted uploads that keep failing are given up for good after a bounded time or number of
failed rounds: marked failed, audited once as such, clips released, never tried again. The
count lives in the request book, so restarts neither reset it nor re-audit the streak."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import parse_config
from config.upload import UploadConfig
from device.wiring.uplink import open_worker
from tests.uplink.desk.conftest import NOW, Device
from tests.uplink.protocol.world import agency_entry
from tests.uplink.upload.netfaults import RawRequest, ScriptedServer, http_response
from uplink.audit import AuditLog

H = 3600


def _always_busy(req: RawRequest, conn: socket.socket) -> bool:
    conn.sendall(http_response(503))
    return True


@pytest.fixture
def busy(device: Device) -> Iterator[ScriptedServer]:
    """An agency endpoint that answers every call 503, allowed by the registry."""
    server = ScriptedServer(_always_busy)
    hosts = [device.receiver.url.split("/")[2], f"127.0.0.1:{server.port}"]
    device.registry = device.world.registry(  # a newer registry version lists both hosts
        version=4, agencies=[agency_entry(device.world.agency_public, upload_hosts=hosts)])
    yield server
    server.stop()


def _accepted(device: Device, server: ScriptedServer) -> tuple[str, list[str]]:
    ids = [device.catalog.add(i, NOW - 2 * H + 600 * (i + 1)) for i in range(2)]
    desk = device.desk()
    rid = desk.receive(device.request(upload_url=server.url), NOW).request_id
    assert rid is not None
    desk.accept(rid, None, NOW)
    assert all(device.catalog.held[i] for i in ids)
    return rid, ids


def _failed_entries(device: Device, rid: str) -> list[dict[str, object]]:
    with AuditLog(device.tmp / "audit.sqlite3") as audit:
        assert audit.verify().ok
        return [json.loads(e.detail) for e in audit.entries()
                if e.request_id == rid and e.kind == "failed"]


def test_gives_up_after_n_failed_rounds_across_restarts_and_never_calls_again(
        device: Device, busy: ScriptedServer) -> None:
    rid, ids = _accepted(device, busy)
    for round_no in (1, 2):
        worker = device.worker(NOW + round_no, give_up_after_failures=3)
        [report] = worker.run_once()
        assert not report.done and "503" in (report.error or "")
        worker.close()  # the daemon restarts between rounds
        decision = device.desk().decision(rid)
        assert decision is not None and decision.failure is None
        assert all(device.catalog.held[i] for i in ids), "held while it may still be sent"
    assert busy.connections > 0 and set(busy.methods()) == {"OPTIONS"}
    assert [e["permanent"] for e in _failed_entries(device, rid)] == [False], \
        "one entry for the streak, not one per round or restart"

    [report] = device.worker(NOW + 3, give_up_after_failures=3).run_once()
    assert not report.done and (report.error or "").startswith("gave up after 3 failed round")
    desk = device.desk()
    decision = desk.decision(rid)
    assert decision is not None and decision.failure == report.error
    assert decision.completed_at == NOW + 3 and desk.get(rid).status == "failed"
    assert not any(device.catalog.held[i] for i in ids), "holds released as for a refusal"
    first, last = _failed_entries(device, rid)
    assert last["permanent"] is True and last["gave_up"] is True and last["failures"] == 3
    assert last["failing_since"] == NOW + 1 and first["permanent"] is False

    calls = busy.connections, len(busy.requests)
    for later in (NOW + 4, NOW + 30 * 86400):
        assert device.worker(later, give_up_after_failures=3).run_once() == []
    assert (busy.connections, len(busy.requests)) == calls, "nothing is tried after giving up"
    assert len(_failed_entries(device, rid)) == 2


def test_gives_up_once_the_streak_is_older_than_the_hours(
        device: Device, busy: ScriptedServer) -> None:
    rid, ids = _accepted(device, busy)
    for at in (NOW + 10, NOW + 10 + 0.5 * H):
        [report] = device.worker(at, give_up_after_s=1.0 * H).run_once()
        assert not report.done and not (report.error or "").startswith("gave up")
    [report] = device.worker(NOW + 10 + H, give_up_after_s=1.0 * H).run_once()
    assert (report.error or "").startswith("gave up after 3 failed round(s) in 1.0 h")
    assert device.desk().get(rid).status == "failed"
    assert not any(device.catalog.held[i] for i in ids)
    assert [e["permanent"] for e in _failed_entries(device, rid)] == [False, True]
    calls = busy.connections
    assert device.worker(NOW + 2 * H).run_once() == []
    assert busy.connections == calls


def test_the_daemons_worker_takes_the_limits_from_the_upload_config(tmp_path: Path) -> None:
    cfg = parse_config(f"""
[store]
path = "{tmp_path / 'store'}"
[upload]
give_up_after_hours = 0.5
give_up_after_failures = 7
""")
    with open_worker(cfg) as worker:
        assert (worker.give_up_after_s, worker.give_up_after_failures) == (1800.0, 7)
    assert (UploadConfig().give_up_after_hours, UploadConfig().give_up_after_failures) == (72, 0)
