"""End to end: a real request book with a signed, pending, shown request; the notifier pushes
through real HTTP to a loopback push service that verifies VAPID and decrypts as a browser."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from config.push import PushConfig
from device.web.push import Notifier, PushService
from device.web.push.notifier import PRUNE_EVERY_S, STALE_AFTER_S, STALE_FAILURES
from tests.uplink.desk.conftest import NOW, Device
from tests.web.push.pushservice import PushService as LoopbackPushService

H = 3600
CFG = PushConfig(enabled=True, contact="mailto:owner@example.org", ttl_s=600)


def _pending_request(dev: Device, index: int = 0) -> str:
    """A signed request received by the real desk: matched, pending and shown."""
    dev.catalog.add(index, NOW - 2 * H + 600)
    desk = dev.desk()
    outcome = desk.receive(dev.request(), NOW)
    assert outcome.kind == "pending" and outcome.request_id is not None
    row = desk.get(outcome.request_id)
    assert row.shown_at is not None
    desk.close()
    return outcome.request_id


def _service(dev: Device, push: LoopbackPushService, cfg: PushConfig = CFG,
             deadline_s: float = 5.0) -> PushService:
    """The web app's push service with the loopback push service named in its config."""
    return PushService(dev.tmp / "web", named(cfg, push), book_path=dev.tmp / "uplink.sqlite3",
                       deadline_s=deadline_s)


def named(cfg: PushConfig, push: LoopbackPushService) -> PushConfig:
    return dataclasses.replace(cfg, other_services=[push.origin])


def _expected(request_id: str) -> dict[str, Any]:
    url = f"/#request-{request_id}"
    return {"title": "doorcam", "body": "New request from 84th Precinct", "url": url,
            "tag": f"request-{request_id}", "kind": "request", "image": "/live/snapshot.jpg",
            "actions": [{"action": "requests", "title": "Requests", "url": url},
                        {"action": "live", "title": "Live", "url": "/live"}]}


def test_one_push_per_subscription_and_a_restart_does_not_repeat_it(
        device: Device, push_service: LoopbackPushService) -> None:
    svc = _service(device, push_service)
    _, sub_a = push_service.subscribe()
    _, sub_b = push_service.subscribe()
    svc.subscribe("owner", sub_a, now=NOW)
    svc.subscribe("owner", sub_b, now=NOW)
    notifier = svc.notifier()
    assert notifier.notify_pending(NOW + 1).new_requests == [], "nothing pending yet"

    rid = _pending_request(device)
    report = notifier.notify_pending(NOW + 2)
    assert report.new_requests == [rid] and report.delivered == 2
    assert push_service.problems == []
    assert push_service.delivered_to(sub_a) == [_expected(rid)]
    assert push_service.delivered_to(sub_b) == [_expected(rid)]
    d = push_service.deliveries[0]
    assert d.headers["ttl"] == "600" and d.headers["urgency"] == "normal"
    assert "topic" not in d.headers, "a topic is sent in the clear: requests have none"
    assert d.claims["sub"] == "mailto:owner@example.org"
    assert "k=" + svc.public_key() in d.headers["authorization"]

    assert notifier.notify_pending(NOW + 3).delivered == 0
    notifier.close()
    again = _service(device, push_service).notifier()  # a restart of the web process
    assert again.notify_pending(NOW + 4).new_requests == []
    again.close()
    assert push_service.posts == 2
    assert all(s.last_success == NOW + 2 and s.failures == 0 for s in svc.subscriptions())


def test_410_drops_the_subscription_and_others_still_get_theirs(
        device: Device, push_service: LoopbackPushService) -> None:
    svc = _service(device, push_service)
    _, gone = push_service.subscribe()
    _, kept = push_service.subscribe()
    svc.subscribe("owner", gone, now=NOW)
    svc.subscribe("owner", kept, now=NOW)
    push_service.answer[push_service.token_of(gone)] = "410"
    rid = _pending_request(device)
    notifier = svc.notifier()
    report = notifier.notify_pending(NOW + 1)
    notifier.close()
    assert (report.delivered, report.dropped) == (1, 1)
    assert push_service.delivered_to(kept) == [_expected(rid)]
    assert [s.endpoint for s in svc.subscriptions("owner")] == [kept["endpoint"]]


def test_a_redirect_is_not_followed(device: Device,
                                    push_service: LoopbackPushService) -> None:
    svc = _service(device, push_service)
    _, sub = push_service.subscribe()
    svc.subscribe("owner", sub, now=NOW)
    push_service.answer[push_service.token_of(sub)] = "redirect"
    _pending_request(device)
    notifier = svc.notifier()
    report = notifier.notify_pending(NOW + 1)
    assert (report.delivered, report.failed) == (0, 1)
    assert push_service.elsewhere_hits == 0 and push_service.posts == 1
    assert notifier.notify_pending(NOW + 10 * H).delivered == 0, "refused for good"
    notifier.close()
    (row,) = svc.subscriptions()
    assert row.failures == 1 and "redirect" in (row.last_failure or "")


def test_a_silent_push_service_is_cut_at_the_deadline_and_retried_later(
        device: Device, push_service: LoopbackPushService) -> None:
    svc = _service(device, push_service, deadline_s=1.0)
    _, sub = push_service.subscribe()
    svc.subscribe("owner", sub, now=NOW)
    push_service.answer[push_service.token_of(sub)] = "silent"
    rid = _pending_request(device)
    notifier = svc.notifier()
    started = time.monotonic()
    report = notifier.notify_pending(NOW + 1)
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, f"took {elapsed:.1f} s with a 1 s deadline"
    assert report.retrying == 1 and report.delivered == 0
    assert notifier.notify_pending(NOW + 2).retrying == 0, "waits before retrying"
    push_service.answer.pop(push_service.token_of(sub))
    assert notifier.notify_pending(NOW + 60).delivered == 1
    notifier.close()
    assert push_service.delivered_to(sub) == [_expected(rid)]


def test_retry_after_holds_the_push_service_and_a_500_is_retried_then_given_up(
        device: Device, push_service: LoopbackPushService) -> None:
    other = LoopbackPushService().start()  # a second push service: the hold is per service
    svc = PushService(device.tmp / "web", dataclasses.replace(
        CFG, other_services=[push_service.origin, other.origin]),
        book_path=device.tmp / "uplink.sqlite3")
    try:
        _, limited = push_service.subscribe()
        _, same_service = push_service.subscribe()
        _, broken = other.subscribe()
        for sub in (limited, same_service, broken):
            svc.subscribe("owner", sub, now=NOW)
        push_service.answer[push_service.token_of(limited)] = "503"  # Retry-After: 120
        other.answer[other.token_of(broken)] = "500"
        rid = _pending_request(device)
        notifier = svc.notifier()
        notifier.max_attempts = 3
        report = notifier.notify_pending(NOW + 1)
        assert (report.retrying, report.held) == (2, 1)
        assert push_service.posts == 1, "the rest of the held service waits"
        push_service.answer.clear()
        notifier.ring()
        report = notifier.notify_pending(NOW + 60)  # the 500's 2nd attempt (due at 1 + 30)
        assert (report.retrying, report.held, report.rings) == (1, 2, 0)
        assert push_service.posts == 1, "nothing to the held service before Retry-After"
        report = notifier.notify_pending(NOW + 125)  # the 500's 3rd attempt (due at 60 + 60)
        assert (report.delivered, report.failed) == (2, 1), "the 500 gives up after 3"
        assert push_service.delivered_to(limited) == push_service.delivered_to(
            same_service) == [_expected(rid)]
        report = notifier.notify_pending(NOW + 10 * H)
        assert (report.delivered, report.failed, report.retrying) == (0, 0, 0)
        notifier.close()
        assert (push_service.posts, other.posts) == (3, 4), "3 attempts and the ring"
    finally:
        other.stop()


def test_a_subscription_failing_for_days_is_dropped_and_logged_once(
        device: Device, push_service: LoopbackPushService,
        caplog: pytest.LogCaptureFixture) -> None:
    svc = _service(device, push_service)
    _, dead = push_service.subscribe()
    _, alive = push_service.subscribe()
    svc.subscribe("owner", dead, now=NOW)
    svc.subscribe("owner", alive, now=NOW)
    push_service.answer[push_service.token_of(dead)] = "500"
    notifier = svc.notifier()
    day = 24 * H
    # Many failures in one day are not enough, nor days with few failures.
    at = [NOW + i for i in range(STALE_FAILURES - 1)] + [NOW + STALE_AFTER_S - day]
    for t in at:
        notifier.ring()
        assert notifier.notify_pending(t).rings == 1
    (row,) = [s for s in svc.subscriptions() if s.endpoint == dead["endpoint"]]
    assert (row.failures, row.failing_since) == (STALE_FAILURES, NOW)
    notifier.ring()
    report = notifier.notify_pending(NOW + STALE_AFTER_S)
    assert (report.rings, report.dropped) == (1, 1)
    notifier.ring()
    assert notifier.notify_pending(NOW + STALE_AFTER_S + 1).dropped == 0
    notifier.close()
    assert [s.endpoint for s in svc.subscriptions()] == [alive["endpoint"]]
    assert len(push_service.delivered_to(alive)) == STALE_FAILURES + 2
    dropped = [r for r in caplog.records if "failures in a row" in r.getMessage()]
    assert len(dropped) == 1 and dropped[0].levelname == "WARNING"
    assert dead["endpoint"] not in caplog.text, "endpoints are capabilities: not logged"


def test_requests_no_longer_pending_are_forgotten_in_batches(
        device: Device, push_service: LoopbackPushService) -> None:
    svc = _service(device, push_service)
    _, sub = push_service.subscribe()
    svc.subscribe("owner", sub, now=NOW)
    decided = [_pending_request(device, i) for i in range(3)]
    pending = _pending_request(device, 3)
    notifier = Notifier(device.tmp / "uplink.sqlite3", device.tmp / "web" / "push.sqlite3",
                        svc.sender, named(CFG, push_service),
                        keep_notified_s=2 * PRUNE_EVERY_S - 10, prune_batch=2)
    assert notifier.notify_pending(NOW + 1).delivered == 4
    desk = device.desk()
    for rid in decided:
        desk.decline(rid, NOW + 2)
    desk.close()
    db = notifier.store.db

    def rows() -> tuple[set[str], set[str]]:
        return ({r[0] for r in db.execute("SELECT request_id FROM notified")},
                {r[0] for r in db.execute("SELECT request_id FROM outbox")})

    later = NOW + 1 + PRUNE_EVERY_S  # the next scheduled prune
    assert notifier.notify_pending(later).pruned == 0, "not kept long enough yet"
    assert rows() == ({*decided, pending},) * 2
    later += PRUNE_EVERY_S
    assert notifier.notify_pending(later - 1).pruned == 0, "not due yet"
    first = notifier.notify_pending(later).pruned
    second = notifier.notify_pending(later + 1).pruned
    assert (first, second) == (2, 1), "a full batch is followed at once by the rest"
    assert rows() == ({pending}, {pending}), "a pending request is never forgotten"
    assert notifier.notify_pending(later + 2).pruned == 0
    notifier.close()
    assert push_service.posts == 4, "nothing was pushed twice"


def test_decided_request_is_not_pushed_any_more(
        device: Device, push_service: LoopbackPushService) -> None:
    svc = _service(device, push_service)
    _, sub = push_service.subscribe()
    svc.subscribe("owner", sub, now=NOW)
    push_service.answer[push_service.token_of(sub)] = "500"
    rid = _pending_request(device)
    notifier = svc.notifier()
    assert notifier.notify_pending(NOW + 1).retrying == 1
    desk = device.desk()
    desk.decline(rid, NOW + 2)
    desk.close()
    push_service.answer.clear()
    assert notifier.notify_pending(NOW + 3600).delivered == 0
    notifier.close()


def test_the_book_is_only_read(device: Device, push_service: LoopbackPushService) -> None:
    _pending_request(device)
    book = device.tmp / "uplink.sqlite3"
    before = _dump(book)
    notifier = _service(device, push_service).notifier()
    notifier.notify_pending(NOW + 1)
    notifier.close()
    assert _dump(book) == before


def _dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return list(db.iterdump())


def test_run_loop_sends_motion_when_woken_and_stops(
        device: Device, push_service: LoopbackPushService) -> None:
    cfg = PushConfig(enabled=True, contact="https://example.org/doorcam",
                     notify_on_motion=True, ttl_s=3600)
    svc = _service(device, push_service, cfg)
    _, sub = push_service.subscribe()
    svc.subscribe("owner", sub, now=NOW)
    notifier = svc.notifier()
    stop = threading.Event()
    thread = threading.Thread(target=notifier.run, args=(stop, 3600.0), daemon=True)
    thread.start()
    notifier.motion()
    assert push_service.wait_for(1), "the motion push did not arrive"
    notifier.motion()  # within a minute of the last one: not sent
    stop.set()
    notifier.wake()
    thread.join(10)
    assert not thread.is_alive()
    (d,) = push_service.deliveries
    assert d.message == {"title": "doorcam", "body": "Motion at the door", "url": "/?kind=motion",
                         "tag": "motion", "kind": "motion", "image": "/live/snapshot.jpg",
                         "actions": [{"action": "live", "title": "Live", "url": "/live"}]}
    assert (d.headers["topic"], d.headers["urgency"], d.headers["ttl"]) == (
        "motion", "high", "300")


@pytest.mark.parametrize("cfg", [PushConfig(enabled=False),
                                 PushConfig(enabled=True, contact="mailto:o@example.org")])
def test_motion_is_not_pushed_unless_configured(
        device: Device, push_service: LoopbackPushService, cfg: PushConfig) -> None:
    svc = _service(device, push_service, cfg)
    _, sub = push_service.subscribe()
    svc.subscribe("owner", sub, now=NOW)
    notifier = svc.notifier()
    notifier.motion()
    assert notifier.notify_pending(NOW).motion == 0
    notifier.close()
    assert push_service.posts == 0
