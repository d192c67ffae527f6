"""The request feed fails at start (its request book cannot be opened: a directory stands in
its place), is restarted after its back-off once the book can be opened, and then receives
a real agency request over a real mosquitto: the device does not stop listening for good."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config import load_config
from device.daemon.notify import Notifier
from device.daemon.supervisor import Supervisor, build_sides
from device.daemon.uplink import UplinkSide
from device.daemon.workers import Backoff
from tests.broker import MosquittoBroker
from tests.daemon_proc import DaemonRun, NotifySocket
from tests.e2e.test_consent_e2e import LAT, LISTENING, LON, Scene
from tests.support import wait_until
from tests.uplink.mqtt.peer import Peer
from uplink.protocol import topics_for


def test_a_request_feed_that_fails_at_start_comes_back_and_takes_requests(
        tmp_path: Path, make_broker: Callable[..., MosquittoBroker]) -> None:
    broker = make_broker()
    broker.start()
    scene = Scene(tmp_path, broker.port)
    book = scene.store / "uplink.sqlite3"
    book.mkdir()  # sqlite cannot open a directory: the feed's first run fails
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = DaemonRun(scene.config, extra=["--no-capture"],
                       env=notify.env(PYTHONUNBUFFERED="1"))
    agency = Peer(broker.port)
    try:
        failed = daemon.wait_for_line("requests failed: ", 60)
        restarting = notify.wait_for(
            lambda m: any(x.startswith("STATUS=requests: restarting in ")
                          and "after BookError" in x for x in m),
            30, "a STATUS line saying the feed restarts")
        down = len(restarting)
        book.rmdir()  # the book can be opened now
        back = daemon.wait_for_line("requests restarting after BookError", 30,
                                    after=failed)
        daemon.wait_for_line(LISTENING, 30, after=back)
        payload = scene.request()
        agency.publish(topics_for(LAT, LON)[0], payload)
        request_id = json.loads(payload)["request_id"]
        # Checked, signed and in the book (the store has no clips: none can be shown).
        daemon.wait_for_line(f"agency request: no_clips {request_id}", 30, after=back)
        notify.wait_for(lambda m: any(x.startswith("STATUS=0 pending request(s)")
                                      for x in m[down:]),
                        30, "a STATUS line without the feed's failure")
        assert daemon.running(), daemon.stderr
        code = daemon.stop()
    finally:
        daemon.kill()
        notify.close()
        agency.close()
        scene.receiver.stop()
    err = daemon.stderr
    assert code == 0, err
    assert "Traceback" not in err
    feed_failures = [ln for ln in err.splitlines() if "requests failed: " in ln]
    assert len(feed_failures) == 1, err  # logged once, with the reason and the wait
    assert "BookError: cannot open the request book" in feed_failures[0]
    assert "restarting in 5 s" in feed_failures[0]
    assert "requests stopped" not in err
    assert request_id in [r["request_id"] for r in scene.requests("--all")]  # in the book


def test_a_feed_that_fails_with_its_desk_open_reopens_it_and_listens_again(
        tmp_path: Path, make_broker: Callable[..., MosquittoBroker],
        caplog: pytest.LogCaptureFixture) -> None:
    """In process: the book fails under an open desk (its one call made to raise), the run
    closes the desk, and the restarted run opens a new one instead of the closed one, and
    handles first the request whose handling failed, on the same connection: the broker
    would send it again only after a reconnect."""
    caplog.set_level(logging.INFO, "doorcam")
    broker = make_broker()
    broker.start()
    scene = Scene(tmp_path, broker.port)
    agency = Peer(broker.port)
    stop, reload = threading.Event(), threading.Event()
    try:
        with contextlib.ExitStack() as stack:
            sides = build_sides(load_config(str(scene.config)), capture=False, pace=None,
                                stack=stack)
            side = sides[0]
            assert isinstance(side, UplinkSide)
            side.feed.backoff = Backoff(first_s=0.0)  # the wait is tested with a clock
            supervisor = Supervisor(sides, Notifier())
            supervisor.start(stack)
            wait_until(lambda: LISTENING in caplog.text, 30, "the feed to listen")
            desk = side._desk
            assert desk is not None

            def failing(*args: Any) -> Any:
                raise sqlite3.OperationalError("disk I/O error")

            desk.receive = failing  # type: ignore[method-assign]
            connects = caplog.text.count("connected to 127.0.0.1")
            first = scene.request()
            agency.publish(topics_for(LAT, LON)[0], first)
            wait_until(lambda: side.feed.failures == 1, 30, "the feed to fail")
            assert side._desk is None  # closed with the run, not kept for the next one
            assert f"agency request: no_clips {json.loads(first)['request_id']}" \
                not in caplog.text
            wait_until(lambda: not supervisor.check(time.monotonic())
                       and side.feed.error is None, 30, "the feed to restart")
            wait_until(lambda: f"agency request: no_clips {json.loads(first)['request_id']}"
                       in caplog.text, 30, "the failed request handled by the new run")
            assert caplog.text.count("connected to 127.0.0.1") == connects  # no reconnect
            payload = scene.request()
            agency.publish(topics_for(LAT, LON)[0], payload)
            request_id = json.loads(payload)["request_id"]
            wait_until(lambda: f"agency request: no_clips {request_id}" in caplog.text, 30,
                       "the request after the restart")
            assert side._desk is not None and side._desk is not desk
            assert caplog.text.count(LISTENING) == 2  # said again by the new run
            stop.set()
            assert supervisor.run(stop, reload) is False
    finally:
        agency.close()
        scene.receiver.stop()
    assert "requests failed: OperationalError: disk I/O error" in caplog.text
