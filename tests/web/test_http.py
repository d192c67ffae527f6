"""The owner's web app over real HTTP(S): `python3 -m device.web` as a subprocess, a real
store with simulated clips and real signed requests in a real request book."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tests.e2e.test_consent_e2e import REPO, doorcam
from tests.web.helpers import login, post, try_login
from tests.web.world import PASSWORD, World

PAGES = ("/", "/requests", "/clips", "/live", "/activity", "/device")


def requests_json(world: World) -> list[dict[str, object]]:
    done = doorcam("requests", "list", "--all", "--json", "--config", str(world.config))
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def access_log(world: World) -> list[dict[str, object]]:
    from device.web.access import open_access_log

    with open_access_log(world.store / "web" / "access.sqlite3") as log:
        assert log.verify().ok
        return [{"kind": e.kind, "request": e.request_id, **json.loads(e.detail)}
                for e in log.entries()]


def test_every_page_needs_a_login_and_carries_security_headers(world: World) -> None:
    world.add_user()
    url = world.start()
    s = world.session()
    for path in (*PAGES, "/clips/20260101T000000Z-00000000/video"):
        r = s.get(url + path, allow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    assert s.get(url + "/static/app.css").status_code == 200
    page = s.get(url + "/login")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "<script>" not in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    r = try_login(s, url, "alex", PASSWORD)
    cookie = r.headers["set-cookie"]
    assert "__Host-doorcam=" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    for path in PAGES:
        r = s.get(url + path)
        assert r.status_code == 200 and "Log out" in r.text, path
    assert PASSWORD not in "".join(world.log)
    entries = access_log(world)
    assert [e["kind"] for e in entries] == ["account_added", "login"]


def test_wrong_passwords_pause_new_browsers_even_across_restarts(world: World) -> None:
    world.add_user()
    url = world.start()
    s = world.session()
    for _ in range(3):  # lockout_failures = 3 in the test config
        r = try_login(s, url, "alex", "wrong password")
    assert r.status_code == 429 and "Too many failed logins" in r.text
    r = try_login(s, url, "alex", PASSWORD)
    assert r.status_code == 429, "the right password does not open a locked account"
    assert s.get(url + "/", allow_redirects=False).status_code == 303
    world.server.terminate()  # type: ignore[union-attr]
    world.server.wait(timeout=30)  # type: ignore[union-attr]
    url = world.start()
    assert try_login(world.session(), url, "alex", PASSWORD).status_code == 429
    kinds = [e["kind"] for e in access_log(world)]
    assert kinds.count("login_failed") == 3 and "login" not in kinds
    assert kinds.count("guessing") == 2 and "locked_out" in kinds  # the address, the account


def test_cross_origin_posts_and_missing_tokens_are_refused(world: World) -> None:
    rid = world.import_request()
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    clip = world.clips()[0]["id"]
    form = {"csrf": token, "clip": clip, "confirm": "yes"}
    r = post(s, url, f"/requests/{rid}/share", form, origin="https://evil.example")
    assert r.status_code == 403 and "another site" in r.text
    r = s.post(f"{url}/requests/{rid}/share", data=form, allow_redirects=False,
               headers={"Origin": "https://evil.example"})  # an old browser: no Sec-Fetch
    assert r.status_code == 403 and "evil.example" in r.text
    r = s.post(f"{url}/requests/{rid}/share", data=form, allow_redirects=False)
    assert r.status_code == 403 and "does not say where it comes from" in r.text
    # Our own host and port, but another scheme or port: another origin.
    http_origin = url.replace("https://", "http://")
    port = int(url.rsplit(":", 1)[1])
    for origin in (http_origin, url.replace(f":{port}", f":{port + 1}")):
        r = s.post(f"{url}/requests/{rid}/share", data=form, allow_redirects=False,
                   headers={"Origin": origin})
        assert r.status_code == 403 and "not from this doorcam" in r.text, origin
        r = s.post(f"{url}/requests/{rid}/share", data=form, allow_redirects=False,
                   headers={"Referer": origin + "/"})
        assert r.status_code == 403, origin
    r = post(s, url, f"/requests/{rid}/share", {"csrf": "forged", "clip": clip,
                                               "confirm": "yes"})
    assert r.status_code == 403 and "security token" in r.text
    r = post(s, url, f"/requests/{rid}/decline", {"clip": clip})
    assert r.status_code == 403
    assert [r["status"] for r in requests_json(world)] == ["pending"]


def test_video_is_served_with_byte_ranges(world: World) -> None:
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    clip = world.clips()[0]
    data = (world.store / "clips" / f"{clip['id']}.mp4").read_bytes()
    size = len(data)
    base = f"{url}/clips/{clip['id']}/video"
    whole = s.get(base)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["content-type"] == \
        "video/mp4"
    r = s.get(base, headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    assert r.headers["content-range"] == f"bytes 100-199/{size}"
    r = s.get(base, headers={"Range": "bytes=-50"})
    assert r.status_code == 206 and r.content == data[-50:]
    r = s.get(base, headers={"Range": f"bytes={size - 10}-"})
    assert r.status_code == 206 and r.content == data[-10:]
    r = s.get(base, headers={"Range": f"bytes={size}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    r = s.get(base, headers={"Range": "bytes=abc"})
    assert r.status_code == 416 and "one byte range" in r.text
    huge = "9" * 5000  # more digits than Python parses by default
    r = s.get(base, headers={"Range": f"bytes={huge}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    r = s.get(base, headers={"Range": f"bytes=10-{huge}"})
    assert r.status_code == 206 and r.content == data[10:]
    r = s.get(base, headers={"Range": f"bytes=-{huge}"})
    assert r.status_code == 206 and r.content == data
    r = s.get(base, headers={"Range": f"bytes={'0' * 5000}1-1"})
    assert r.status_code == 206 and r.content == data[1:2]
    # Nothing a clip or page was is kept by the browser once it is deleted or logged out.
    for path in (base, f"{url}/clips/{clip['id']}/thumb", f"{url}/clips/{clip['id']}/download",
                 f"{url}/clips", url + "/"):
        assert s.get(path).headers["cache-control"] == "no-store", path
    r = s.get(f"{url}/clips/../../etc/passwd/video")
    assert r.status_code in (400, 404)
    r = s.get(f"{url}/clips/not-a-clip/video")
    assert r.status_code == 400 and "invalid clip id" in r.text
    r = s.get(f"{url}/clips/20200101T000000Z-00000000/video")
    assert r.status_code == 404 and "no clip" in r.text
    dl = s.get(f"{url}/clips/{clip['id']}/download")
    assert dl.status_code == 200 and dl.content == data
    assert "attachment" in dl.headers["content-disposition"]
    kinds = [e["kind"] for e in access_log(world)]
    assert "viewed" in kinds and "downloaded" in kinds


def test_sharing_one_of_three_clips_records_exactly_that_decision(world: World) -> None:
    rid = world.import_request()
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    pending = requests_json(world)[0]
    matched = [c["id"] for c in pending["clips"]]  # type: ignore[union-attr, index]
    assert len(matched) >= 3
    page = s.get(url + "/requests").text
    assert "Test Police" in page and "2026-001" in page and "Det. Ada" in page
    assert "not told" in page and "<svg" in page
    for cid in matched:
        assert f"/clips/{cid}/video" in page
    r = post(s, url, f"/requests/{rid}/share", {"csrf": token, "clip": matched[1],
                                               "confirm": "yes"})
    assert r.status_code == 303, r.text
    [row] = requests_json(world)
    decision = row["decision"]
    assert row["status"] == "accepted" and isinstance(decision, dict)
    assert decision["clips"] == [matched[1]] and decision["channel"] == "web"
    assert decision["destination"] == world.receiver.url
    again = post(s, url, f"/requests/{rid}/share", {"csrf": token, "clip": matched[0],
                                                   "confirm": "yes"})
    assert again.status_code == 409 and "already decided" in again.text
    assert requests_json(world)[0]["decision"] == decision
    verify = doorcam("audit", "verify", "--config", str(world.config))
    assert verify.returncode == 0 and "intact" in verify.stdout
    shown = doorcam("audit", "show", "--json", "--config", str(world.config)).stdout
    accepted = [json.loads(x) for x in shown.splitlines() if '"accepted"' in x]
    assert accepted[0]["detail"]["channel"] == "web"
    shared = [e for e in access_log(world) if e["kind"] == "shared"]
    assert shared == [{"kind": "shared", "request": rid, "account": "alex",
                       "clips": [matched[1]]}]
    page = s.get(url + "/requests").text
    assert "Shared 1 of" in page and world.receiver.connections == 0  # no daemon: no upload


def test_decline_shares_nothing(world: World) -> None:
    rid = world.import_request()
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    r = post(s, url, f"/requests/{rid}/decline", {"csrf": token})
    assert r.status_code == 303
    [row] = requests_json(world)
    assert row["status"] == "declined" and row["decision"]["clips"] == []  # type: ignore[index]
    page = s.get(url + "/requests").text
    assert "Declined: nothing shared" in page and "Nothing awaits your decision" in page
    assert not any(c["held"] for c in world.clips())


def test_a_clip_held_by_a_pending_request_cannot_be_deleted(world: World) -> None:
    rid = world.import_request()
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    clip = requests_json(world)[0]["clips"][0]["id"]  # type: ignore[index]
    confirm = s.get(f"{url}/clips/{clip}/delete")
    assert confirm.status_code == 200 and "cannot be deleted" in confirm.text
    r = post(s, url, f"/clips/{clip}/delete", {"csrf": token, "confirm": "yes"})
    assert r.status_code == 409 and "awaits your decision" in r.text
    assert (world.store / "clips" / f"{clip}.mp4").exists()
    r = post(s, url, f"/clips/{clip}/release", {"csrf": token})
    assert r.status_code == 409
    assert post(s, url, f"/requests/{rid}/decline", {"csrf": token}).status_code == 303
    r = post(s, url, f"/clips/{clip}/delete", {"csrf": token})
    assert r.status_code == 400 and "confirmation" in r.text
    r = post(s, url, f"/clips/{clip}/delete", {"csrf": token, "confirm": "yes"})
    assert r.status_code == 303
    assert not (world.store / "clips" / f"{clip}.mp4").exists()
    assert clip not in [c["id"] for c in world.clips()]
    assert {"kind": "deleted", "request": None, "account": "alex", "clip": clip} in \
        access_log(world)


def test_hold_and_release_a_clip(world: World) -> None:
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    clip = world.clips()[0]["id"]
    assert post(s, url, f"/clips/{clip}/hold", {"csrf": token}).status_code == 303
    assert next(c for c in world.clips() if c["id"] == clip)["held"] is True
    assert post(s, url, f"/clips/{clip}/release", {"csrf": token}).status_code == 303
    assert next(c for c in world.clips() if c["id"] == clip)["held"] is False


def test_clips_page_marks_simulated_clips(world: World) -> None:
    clips = world.clips()
    assert clips and all(c["simulated"] for c in clips), "the world's clips are synthetic"
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    page = s.get(url + "/clips").text
    assert page.count('class="badge simulated"') == len(clips)
    unsynced = sum(not c["clock_synced"] for c in clips)
    assert page.count('class="badge unsynced"') == unsynced


def test_bad_input_gets_a_clear_4xx(world: World) -> None:
    rid = world.import_request()
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    r = post(s, url, f"/requests/{rid}/share", {"csrf": token})
    assert r.status_code == 400 and "Tick at least one clip" in r.text
    r = post(s, url, f"/requests/{rid}/share", {"csrf": token, "clip": "../../etc/passwd",
                                               "confirm": "yes"})
    assert r.status_code == 409 and "not one of the request" in r.text
    r = post(s, url, "/requests/no-such-request/decline", {"csrf": token})
    assert r.status_code == 404
    r = post(s, url, "/requests/%3Cscript%3E/decline", {"csrf": token})
    assert r.status_code == 400 and "<script>" not in r.text
    r = s.post(f"{url}/requests/{rid}/decline", data=json.dumps({"csrf": token}),
               headers={"Origin": url, "Content-Type": "application/json"},
               allow_redirects=False)
    assert r.status_code == 415
    r = post(s, url, f"/requests/{rid}/decline", {"csrf": token, "x": "y" * 70_000})
    assert r.status_code == 413
    assert s.get(url + "/nowhere").status_code == 404
    assert s.delete(url + "/clips").status_code == 405
    assert [r["status"] for r in requests_json(world)] == ["pending"]
    assert "Traceback" not in "".join(world.log)


def test_tls_certificate_is_made_once_and_its_fingerprint_is_shown(world: World) -> None:
    world.add_user()
    url = world.start("web", module="device.cli")  # `doorcam web` itself
    key = world.store / "web" / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(world.cert.read_bytes())
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    shown = world.web("url")
    assert shown.returncode == 0, shown.stderr
    fingerprint = shown.stdout.split("fingerprint: ")[1].split()[0]
    assert fingerprint in "".join(world.log), "the fingerprint is logged at start"
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding
    assert fingerprint.replace(":", "").lower() == hashlib.sha256(
        cert.public_bytes(Encoding.DER)).hexdigest()
    assert world.session().get(url + "/login").status_code == 200  # verified against it
    try:
        requests.get(url + "/login", timeout=10)  # the system CAs do not know it
        raise AssertionError("a self-signed certificate passed system verification")
    except requests.exceptions.SSLError:
        pass


def test_plain_http_only_on_loopback(make_world: object) -> None:
    world = make_world(tls=False)  # type: ignore[operator]
    world.add_user()
    url = world.start()
    assert url.startswith("http://127.0.0.1:")
    s = world.session()
    r = try_login(s, url, "alex", PASSWORD)
    assert r.status_code == 303 and "Secure" not in r.headers["set-cookie"]
    done = subprocess.run([sys.executable, "-m", "device.web", "--config", str(world.config),
                           "--listen", "0.0.0.0:0"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "loopback" in done.stderr


def test_behind_an_https_proxy_cookies_are_secure_and_https_is_kept(make_world: object
                                                                    ) -> None:
    """Plain HTTP on loopback behind a proxy whose public address is https: the browser
    holds the cookies of an HTTPS site (never sent over plain HTTP) and is told to keep to
    HTTPS, as when the app serves TLS itself."""
    world = make_world(tls=False, web='public_url = "https://door.example.org"')  # type: ignore[operator]
    world.add_user()
    url = world.start()
    s = world.session()
    page = s.get(url + "/login")
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    assert "__Host-doorcam-login=" in page.headers["set-cookie"]
    assert "Secure" in page.headers["set-cookie"]
    # The proxy passes on the cookies the browser sends it over HTTPS.
    form = {"login_token": s.cookies["__Host-doorcam-login"], "name": "alex",
            "password": PASSWORD}
    r = world.session().post(url + "/login", data=form, allow_redirects=False, headers={
        "Origin": url, "Cookie": f"__Host-doorcam-login={form['login_token']}"})
    assert r.status_code == 303, r.text
    cookies = r.headers["set-cookie"]
    assert "__Host-doorcam=" in cookies and "__Host-doorcam-device-alex=" in cookies
    assert cookies.count("Secure") == 3  # the session, the device cookie, the spent form's


def test_an_unexpected_errors_page_has_the_security_headers_too(world: World) -> None:
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    (world.store / "web" / "access.sqlite3").write_bytes(b"not a database " * 100)
    r = s.get(url + "/activity")
    assert r.status_code == 500 and "Something went wrong" in r.text
    assert "Traceback" not in r.text and "not a database" not in r.text
    assert r.headers["content-security-policy"].endswith("frame-ancestors 'none'")
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert r.headers["strict-transport-security"] == "max-age=31536000"


def test_accounts_on_the_command_line(world: World) -> None:
    assert world.web("adduser", "Bad Name", "--password-stdin", stdin="x" * 12).returncode == 2
    assert world.web("adduser", "sam", "--password-stdin", stdin="short\n").returncode == 2
    world.add_user("sam")
    again = world.web("adduser", "sam", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    url = world.start()
    s = world.session()
    login(s, url, "sam")
    changed = world.web("passwd", "sam", "--password-stdin", stdin="another good one\n")
    assert changed.returncode == 0, changed.stderr
    assert s.get(url + "/", allow_redirects=False).status_code == 303, "sessions ended"
    login(world.session(), url, "sam", "another good one")
    assert world.web("deluser", "sam").returncode == 0
    assert try_login(world.session(), url, "sam", "another good one").status_code == 401
    db = (world.store / "web" / "accounts.sqlite3").read_bytes()
    assert b"another good one" not in db and stat.S_IMODE(
        (world.store / "web" / "accounts.sqlite3").stat().st_mode) == 0o600


def test_peak_memory_stays_under_60_mb(world: World) -> None:
    world.import_request()
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    for path in (*PAGES, "/"):
        assert s.get(url + path).status_code == 200
    clip = world.clips()[0]["id"]
    assert s.get(f"{url}/clips/{clip}/video").status_code == 200
    assert world.server is not None
    status = Path(f"/proc/{world.server.pid}/status").read_text()
    peak_kb = int(status.split("VmHWM:")[1].split()[0])
    assert peak_kb <= 60 * 1024, f"peak RSS {peak_kb / 1024:.1f} MB"
    if os.environ.get("DOORCAM_WEB_SHOW_RSS"):
        print(f"peak RSS {peak_kb / 1024:.1f} MB")


def test_peak_memory_stays_under_60_mb_with_push_on(make_world: object) -> None:
    from tests.web.push.pushservice import PushService
    from tests.web.test_push_app import post_json, push_on

    service = PushService().start()
    try:
        world = make_world(web=push_on(service))  # type: ignore[operator]
        world.add_user()
        url = world.start()
        s = world.session()
        token = login(s, url)
        _, sub = service.subscribe()
        assert post_json(s, url, "/push/subscribe", sub, token).status_code == 200
        world.import_request()
        assert service.wait_for(1), "".join(world.log)  # the push thread sent one
        for path in (*PAGES, "/"):
            assert s.get(url + path).status_code == 200
        assert world.server is not None
        status = Path(f"/proc/{world.server.pid}/status").read_text()
    finally:
        service.stop()
    steady_kb = int(status.split("VmRSS:")[1].split()[0])
    assert steady_kb <= 60 * 1024, f"RSS {steady_kb / 1024:.1f} MB after the push"
    peak_kb = int(status.split("VmHWM:")[1].split()[0])
    assert peak_kb <= 60 * 1024, f"peak RSS {peak_kb / 1024:.1f} MB"


def test_url_names_the_lan_addresses_and_the_fingerprint(world: World) -> None:
    import socket

    shown = world.web("url", "--listen", "0.0.0.0:8443")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("open https://") and lines[0].endswith(":8443/")
    assert f"  or https://{socket.gethostname()}.local:8443/" in lines
    assert any(line.startswith("certificate SHA-256 fingerprint: ") for line in lines)
    world.add_user()
    world.start()
    assert any("on your phone or computer" in line for line in world.log)


def test_many_clips_come_in_pages_and_links_land_on_the_clip(world: World) -> None:
    from device.web.pages.clips import PAGE

    total = world.fill_store(2 * PAGE + 5)
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    ids = [c["id"] for c in world.clips()]
    assert len(ids) == total
    first = s.get(url + "/clips").text
    assert first.count('class="card clipcard"') == PAGE and "Newer</a>" not in first
    assert f'id="c-{ids[0]}"' in first and f'id="c-{ids[PAGE]}"' not in first
    seen, page = [], first
    while True:  # Older, Older, ...: every clip once, newest first
        seen += re.findall(r'class="card clipcard" id="c-([^"]+)"', page)
        older = re.search(r'href="/clips\?(before=[^"]+)">Older', page)
        if older is None:
            break
        page = s.get(f"{url}/clips?{older.group(1)}").text
    assert seen == ids
    assert page.count('class="card clipcard"') == 5 and f'id="c-{ids[-1]}"' in page
    newer = re.search(r'href="/clips\?(after=[^"]+)">Newer', page)
    assert newer is not None
    back = s.get(f"{url}/clips?{newer.group(1)}").text
    assert re.findall(r'class="card clipcard" id="c-([^"]+)"', back) == ids[PAGE:2 * PAGE]
    assert s.get(url + "/clips?before=x").status_code == 400
    landed = s.get(f"{url}/clips?clip={ids[PAGE + 3]}").text
    assert re.findall(r'class="card clipcard" id="c-([^"]+)"', landed)[0] == ids[PAGE + 3]
    r = post(s, url, f"/clips/{ids[-1]}/hold", {"csrf": token})
    assert r.status_code == 303 and r.headers["location"] == f"/clips/{ids[-1]}?done=held"
    landed = s.get(url + r.headers["location"]).text
    assert "Clip held" in landed and 'class="badge held"' in landed


# Routes anyone may reach: the login page and its posts (their own token and origin
# checks), the passkey sign-in, and the static files and scripts (no data in them).
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/passkeys/login/begin"),
          ("POST", "/passkeys/login/finish"), ("GET", "/sw.js"),
          ("GET", "/push/subscribe.js"), ("GET", "/push/renew.js"),
          ("GET", "/push/settings.js"), ("GET", "/static")}


def test_every_route_the_app_has_needs_a_login_but_the_public_ones(world: World) -> None:
    """Enumerated from the app itself, so that a route added without a login is caught."""
    from starlette.routing import Mount, Route

    from config import load_config
    from device.web.app import create_app
    from device.web.context import WebContext

    rid = world.import_request()
    world.add_user()
    url = world.start()
    app = create_app(WebContext(load_config(world.config)), tls=True)
    samples = {"rid": rid, "cid": world.clips()[0]["id"], "name": "snapshot.jpg"}
    s = world.session()
    checked = set()
    for route in app.routes:
        assert isinstance(route, Route | Mount), route
        methods = sorted((route.methods or set()) - {"HEAD"}) if isinstance(route, Route) \
            else ["GET"]
        path = route.path.format(**samples)
        for method in methods:
            checked.add((method, route.path))
            if (method, route.path) in PUBLIC:
                continue
            headers = {"Origin": url, "Sec-Fetch-Site": "same-origin"}
            r = s.request(method, url + path, data={"csrf": "x"} if method == "POST" else None,
                          headers=headers, allow_redirects=False)
            refused = r.status_code in (401, 403) or (
                r.status_code == 303 and r.headers["location"].startswith("/login"))
            assert refused, (method, path, r.status_code, r.text[:200])
    assert {(m, p) for m, p in PUBLIC} <= checked, "the public list names routes that exist"
    assert s.get(url + "/static/app.css").status_code == 200
