"""Each account's notification settings, through the real notifier to the loopback push
service: kinds turned off are not sent, a snooze holds events and delays requests, people
are their own kind, and a security alert reaches one account whatever it chose."""

from __future__ import annotations

import dataclasses
from typing import Any

from config.push import PushConfig
from device.web.kinds import DEFAULT_KINDS, clip_kind, format_kinds, parse_kinds
from device.web.push import Kind, PushService
from tests.uplink.desk.conftest import NOW, Device
from tests.web.push.pushservice import PushService as LoopbackPushService
from tests.web.push.test_notifier_e2e import _pending_request

CFG = PushConfig(enabled=True, contact="mailto:owner@example.org", ttl_s=600)


def _service(dev: Device, push: LoopbackPushService, **changes: Any) -> PushService:
    cfg = dataclasses.replace(CFG, other_services=[push.origin], **changes)
    return PushService(dev.tmp / "web", cfg, book_path=dev.tmp / "uplink.sqlite3")


def _kinds(push: LoopbackPushService, sub: dict[str, Any]) -> list[str]:
    return [m["kind"] for m in push.delivered_to(sub)]


def test_the_kind_of_a_clip_comes_from_its_trigger_and_labels() -> None:
    assert clip_kind("ring", ["person"]) is Kind.RING
    assert clip_kind("motion", ["person", "cat"]) is Kind.PERSON
    assert clip_kind("motion", []) is Kind.MOTION
    assert clip_kind("forced") is Kind.MOTION
    assert parse_kinds(format_kinds(DEFAULT_KINDS)) == DEFAULT_KINDS
    assert parse_kinds("ring,bogus,,motion") == {Kind.RING, Kind.MOTION}


def test_defaults_are_rings_requests_and_people_and_each_account_chooses(
        device: Device, push_service: LoopbackPushService) -> None:
    svc = _service(device, push_service)
    _, alex = push_service.subscribe()
    _, sam = push_service.subscribe()
    svc.subscribe("alex", alex, now=NOW)
    svc.subscribe("sam", sam, now=NOW)
    assert svc.preferences("alex").kinds == DEFAULT_KINDS
    assert not svc.preferences("alex").chosen
    svc.set_kinds("sam", frozenset({Kind.MOTION, Kind.REQUEST}))
    notifier = svc.notifier()
    for kind in (Kind.RING, Kind.PERSON, Kind.MOTION):
        notifier.event(kind)
    report = notifier.notify_pending(NOW)
    assert (report.rings, report.people, report.motion, report.unwanted) == (1, 1, 1, 3)
    assert _kinds(push_service, alex) == ["ring", "person"]
    assert _kinds(push_service, sam) == ["motion"]
    notifier.close()
    assert svc.preferences("sam").chosen and svc.preferences("sam").kinds == {
        Kind.MOTION, Kind.REQUEST}


def test_notify_on_motion_is_the_default_for_accounts_that_did_not_choose(
        device: Device, push_service: LoopbackPushService) -> None:
    svc = _service(device, push_service, notify_on_motion=True)
    assert Kind.MOTION in svc.preferences("alex").kinds


def test_a_snooze_holds_events_and_delays_requests_to_its_end(
        device: Device, push_service: LoopbackPushService) -> None:
    svc = _service(device, push_service)
    _, alex = push_service.subscribe()
    _, sam = push_service.subscribe()
    svc.subscribe("alex", alex, now=NOW)
    svc.subscribe("sam", sam, now=NOW)
    svc.snooze("alex", NOW + 3600)
    assert svc.preferences("alex").snoozed(NOW) and not svc.preferences("sam").snoozed(NOW)
    notifier = svc.notifier()
    notifier.ring()
    rid = _pending_request(device)
    report = notifier.notify_pending(NOW + 1)
    assert (report.rings, report.unwanted, report.delivered, report.snoozed) == (1, 1, 1, 1)
    assert _kinds(push_service, alex) == [] and _kinds(push_service, sam) == ["ring",
                                                                              "request"]
    assert notifier.notify_pending(NOW + 1800).delivered == 0, "still snoozed"
    report = notifier.notify_pending(NOW + 3601)
    assert report.delivered == 1
    assert [m["tag"] for m in push_service.delivered_to(alex)] == [f"request-{rid}"]
    notifier.ring()  # the snooze is over: rings again
    assert notifier.notify_pending(NOW + 3602).rings == 2
    svc.snooze("alex", NOW + 7200)
    svc.snooze("alex", None)
    assert not svc.preferences("alex").snoozed(NOW + 3603)
    notifier.close()


def test_requests_turned_off_are_never_sent_to_that_account(
        device: Device, push_service: LoopbackPushService) -> None:
    svc = _service(device, push_service)
    _, alex = push_service.subscribe()
    svc.subscribe("alex", alex, now=NOW)
    svc.set_kinds("alex", frozenset({Kind.RING}))
    notifier = svc.notifier()
    _pending_request(device)
    assert notifier.notify_pending(NOW + 1).delivered == 0
    svc.set_kinds("alex", frozenset({Kind.RING, Kind.REQUEST}))
    assert notifier.notify_pending(NOW + 2).delivered == 0, "decided once, not re-sent"
    notifier.close()
    assert push_service.posts == 0


def test_a_security_alert_reaches_only_its_account_even_snoozed(
        device: Device, push_service: LoopbackPushService) -> None:
    svc = _service(device, push_service)
    _, alex = push_service.subscribe()
    _, sam = push_service.subscribe()
    svc.subscribe("alex", alex, now=NOW)
    svc.subscribe("sam", sam, now=NOW)
    svc.snooze("alex", NOW + 3600)
    svc.set_kinds("alex", frozenset())
    assert svc.alert("alex", "Someone is guessing your password") is False, "no notifier"
    notifier = svc.notifier()
    assert svc.alert("alex", "Someone is guessing\nyour password") is True
    assert notifier.notify_pending(NOW + 1).alerts == 1
    notifier.close()
    assert push_service.delivered_to(alex) == [{
        "title": "doorcam: security", "body": "Someone is guessing your password",
        "url": "/activity", "tag": "alert", "kind": "alert", "actions": []}]
    assert push_service.delivered_to(sam) == []


def test_an_alert_from_a_request_thread_goes_out_at_once_through_the_push_thread(
        device: Device, push_service: LoopbackPushService) -> None:
    from device.web.notify import PushThread

    svc = _service(device, push_service)
    _, alex = push_service.subscribe()
    svc.subscribe("alex", alex, now=NOW)
    thread = PushThread(svc, device.tmp / "uplink.sqlite3", device.tmp / "no-store",
                        device.tmp / "doorbell.ring", interval_s=3600.0)
    thread.start()
    try:
        # The first pass (at start) is done once the thread is idle; the next full pass is
        # an hour away, so only the alert's own wake-up can send it.
        assert svc.alert("alex", "Someone is guessing your password")
        assert push_service.wait_for(1, timeout=10), "sent well before the hourly pass"
    finally:
        thread.stop()
    assert [m["kind"] for m in push_service.delivered_to(alex)] == ["alert"]
