"""/live's files over real HTTP: only for a logged-in owner, only on the app's own pages,
never cached, nothing outside the live directory's own names, the next fragment waited for,
and each live view in the household access log. The files are a real publisher's."""

from __future__ import annotations

import http.client
import os
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from capture.live import LivePublisher
from capture.live.place import filesystem_of
from capture.media import encoder_for
from capture.sources import open_source
from config.live import LiveConfig
from config.schema import CaptureConfig, RecordingConfig
from device.web.liveviews import IDLE_S, LiveViews
from tests.support import require
from tests.web.helpers import CSRF, login, post
from tests.web.test_http import access_log
from tests.web.world import World


class Camera:
    """A real publisher fed from the synthetic porch, one frame at a time on demand."""

    def __init__(self, directory: Path) -> None:
        self.src = open_source("synthetic:porch?seconds=30&size=320x240&fps=25",
                               CaptureConfig(), pace=None)
        self.enc = encoder_for(self.src.info, RecordingConfig())
        self.info = self.enc.start(self.src.info)
        self.pub = LivePublisher(directory, LiveConfig(window_seconds=30))
        self.pub.start(self.info)
        self.frames = iter(self.src.frames())

    def run(self, frames: int) -> None:
        for _ in range(frames):
            f = next(self.frames)
            for p in self.enc.encode(f):
                self.pub.add(p, f.wall)
            if f.seq % 12 == 0:
                self.pub.snapshot(f.main)

    @property
    def newest(self) -> int:
        return self.pub.fragments[-1].n


@pytest.fixture
def live_dir() -> Iterator[Path]:
    require(filesystem_of(Path("/dev/shm")) == "tmpfs", "needs /dev/shm on tmpfs")
    d = Path(tempfile.mkdtemp(prefix="doorcam-test-", dir="/dev/shm"))
    yield d / "live"
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def served(make_world: Callable[..., World], live_dir: Path) -> tuple[World, Camera, str]:
    world = make_world(web=f'[live]\ndir = "{live_dir}"')
    camera = Camera(live_dir)
    camera.run(60)
    world.add_user()
    return world, camera, world.start()


def test_live_files_need_a_login_and_are_never_cached(
        served: tuple[World, Camera, str]) -> None:
    world, camera, url = served
    s = world.session()
    names = ("live.json", "live.m3u8", "init-1.mp4", "f0.m4s", "s0.m4s", "snapshot.jpg")
    for name in names:
        r = s.get(f"{url}/live/{name}", allow_redirects=False)
        assert r.status_code == 401 and b"ftyp" not in r.content and len(r.content) < 200, name
    r = s.get(url + "/live", allow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/live"
    login(s, url)
    types = {"live.json": "application/json", "live.m3u8": "application/vnd.apple.mpegurl",
             "init-1.mp4": "video/mp4", "f0.m4s": "video/iso.segment",
             "s0.m4s": "video/iso.segment", "snapshot.jpg": "image/jpeg"}
    for name in names:
        r = s.get(f"{url}/live/{name}", headers={"Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 200, name
        assert r.headers["cache-control"] == "no-store", name
        assert r.headers["content-type"].split(";")[0] == types[name], name
        assert r.content == (camera.pub.dir / name).read_bytes(), name
    page = s.get(url + "/live")
    assert '<video id="live"' in page.text and 'src="/static/live.js"' in page.text
    assert "blob:" in page.headers["content-security-policy"]  # MSE object URLs
    # Logging out ends the stream at the next request: every one checks the login.
    token = CSRF.search(page.text)
    assert token is not None
    assert post(s, url, "/logout", {"csrf": token.group(1)}).status_code == 303
    assert s.get(f"{url}/live/f1.m4s").status_code == 401


def test_cross_origin_reads_are_refused(served: tuple[World, Camera, str]) -> None:
    world, _, url = served
    s = world.session()
    login(s, url)
    refused = ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
               {"Origin": "https://evil.example"},
               {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
    for name in ("live.json", "f0.m4s", "snapshot.jpg", "live.m3u8"):
        for headers in refused:
            r = s.get(f"{url}/live/{name}", headers=headers)
            assert r.status_code == 403 and "another site" in r.text, (name, headers)
        # Typed into the address bar ("none") or the app's own pages: served.
        for ok in ({"Sec-Fetch-Site": "none"}, {"Sec-Fetch-Site": "same-origin",
                                                "Origin": url}):
            assert s.get(f"{url}/live/{name}", headers=ok).status_code == 200, (name, ok)


def raw_get(url: str, path: str, cookie: str, cert: Path) -> tuple[int, bytes]:
    """A request sent exactly as written (requests would normalise the dots away)."""
    host, port = url.split("//")[1].split(":")
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = False
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.putheader("Cookie", cookie)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_nothing_outside_the_live_files_can_be_named(served: tuple[World, Camera, str]) -> None:
    world, camera, url = served
    s = world.session()
    login(s, url)
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    secret = camera.pub.dir.parent / "secret.txt"
    secret.write_text("not for the web")
    (camera.pub.dir / ".live.json.tmp").write_text("half written")
    for path in ("/live/../secret.txt", "/live/..%2fsecret.txt", "/live/%2e%2e/secret.txt",
                 "/live/.live.json.tmp", "/live/F0.M4S", "/live/f0.m4s%00",
                 "/live/f0.m4s/..", "/live/init-1.mp4.bak", "/live/..%2f..%2fweb%2f"
                 "accounts.sqlite3", "/live/f-1.m4s", "/live/f0000000000000.m4s",
                 "/live/%2fetc%2fpasswd"):
        status, body = raw_get(url, path, cookie, world.cert)
        assert status in (400, 404), (path, status)
        assert b"not for the web" not in body and b"half written" not in body
        assert b"SQLite" not in body and b"root:" not in body


def test_the_next_fragment_is_waited_for_and_far_ones_are_not(
        served: tuple[World, Camera, str]) -> None:
    world, camera, url = served
    s = world.session()
    login(s, url)
    wanted = camera.newest + 1
    assert not (camera.pub.dir / f"f{wanted}.m4s").exists()  # precondition: not yet there
    later = threading.Timer(0.5, camera.run, args=(25,))
    later.start()
    started = time.monotonic()
    r = s.get(f"{url}/live/f{wanted}.m4s?wait=1")
    waited = time.monotonic() - started
    later.join()
    assert r.status_code == 200 and r.content == (camera.pub.dir / f"f{wanted}.m4s").read_bytes()
    assert waited >= 0.4
    started = time.monotonic()
    r = s.get(f"{url}/live/f{camera.newest + 50}.m4s?wait=1")
    assert r.status_code == 404 and time.monotonic() - started < 2  # not coming: no wait
    r = s.get(f"{url}/live/f{camera.newest + 1}.m4s")  # without wait=1: at once
    assert r.status_code == 404


def test_a_live_view_goes_into_the_household_access_log(
        served: tuple[World, Camera, str]) -> None:
    world, _, url = served
    s = world.session()
    login(s, url)
    for _ in range(3):
        assert s.get(f"{url}/live/live.json?view=AAAAAAAAAAAAAAAA").status_code == 200
    s.get(f"{url}/live/snapshot.jpg")  # a snapshot alone is no live view
    started = [e for e in access_log(world) if e["kind"] == "live_started"]
    assert [e["account"] for e in started] == ["alex"]
    activity = s.get(url + "/activity").text
    assert "started watching live video" in activity
    # The app stops (the service restarts it, say): the view ends with its times.
    assert world.server is not None
    world.server.terminate()
    assert world.server.wait(30) in (0, -15)  # uvicorn ends with the signal it stopped for
    ended = [e for e in access_log(world) if e["kind"] == "live_ended"]
    assert [e["account"] for e in ended] == ["alex"]
    assert 0 <= float(ended[0]["to"]) - float(ended[0]["from"]) < 60


def test_live_views_end_after_a_quiet_spell_with_their_times() -> None:
    from device.web.words import describe_access
    from uplink.audit import AuditEntry

    views = LiveViews()
    started, ended = views.touch("alex", "v1", 1000.0)
    assert started is not None and ended == []
    assert views.touch("alex", "v1", 1010.0) == (None, [])
    assert views.touch("sam", "v2", 1011.0)[0] is not None
    gone = views.expire(1010.0 + IDLE_S + 0.1)
    assert [(v.account, v.start, v.last) for v in gone] == [("alex", 1000.0, 1010.0)]
    assert len(views) == 1
    entry = AuditEntry(1, 1010.0, "live_ended", None,
                       '{"account": "alex", "from": 1000.0, "to": 1010.0}', "", "")
    who, what = describe_access(entry)
    assert who == "alex" and what.startswith("watched live video from ") and "(10 s)" in what


def written(pid: int) -> int:
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(io["write_bytes"])


def test_watching_writes_nothing_to_disk_but_the_access_log(
        served: tuple[World, Camera, str]) -> None:
    """Each live request checks the login in SQLite; were its shared-memory index rebuilt
    every time, each request would write 33 kB to the SD card."""
    world, camera, url = served
    s = world.session()
    login(s, url)
    assert world.server is not None
    s.get(f"{url}/live/live.json?view=BBBBBBBBBBBBBBBB")  # the view starts: logged
    os.sync()
    before = written(world.server.pid)
    for _ in range(5):
        for f in camera.pub.fragments:
            r = s.get(f"{url}/live/f{f.n}.m4s?view=BBBBBBBBBBBBBBBB")
            assert r.status_code == 200
    requests = 5 * len(camera.pub.fragments)
    os.sync()
    assert requests >= 20 and written(world.server.pid) - before < 16384
