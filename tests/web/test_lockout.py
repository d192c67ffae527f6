"""Failed logins pause guessers, never the owner: over HTTP against the running app, with
clients at different loopback addresses (127.0.0.x; Linux routes all of 127/8 to lo) and,
behind a trusted proxy, different X-Forwarded-For addresses (documentation ranges, never
connected to)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from device.web import words
from device.web.accounts import Pause
from device.web.guessing import AlertGate, RecordQuota
from tests.web.helpers import LOGIN_TOKEN, csrf, login, post, try_login
from tests.web.push.browser import Browser
from tests.web.push.pushservice import PushService
from tests.web.test_http import access_log
from tests.web.test_push_app import device_button, post_json, push_on
from tests.web.world import PASSWORD, World

LOCKOUT = 3  # the test worlds' lockout_failures


class _FromAddress(HTTPAdapter):
    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def browser(world: World, source: str = "127.0.0.1", **headers: str) -> requests.Session:
    """A new browser (no cookies) connecting from `source`, sending `headers` each time."""
    s = world.session()
    s.mount("http://", _FromAddress(source))
    s.mount("https://", _FromAddress(source))
    s.headers.update(headers)
    return s


def test_the_owner_signs_in_from_a_known_browser_while_a_stranger_keeps_guessing(
        world: World) -> None:
    world.add_user("alex")
    world.add_user("bob")
    url = world.start()
    owner = browser(world, "127.0.0.1")
    token = login(owner, url, "alex")
    assert "doorcam-device-alex" in str(owner.cookies.keys())
    assert post(owner, url, "/logout", {"csrf": token}).status_code == 303
    assert owner.get(url + "/", allow_redirects=False).status_code == 303

    stranger = browser(world, "127.0.0.2")
    for n in range(1, LOCKOUT * 3):
        r = try_login(stranger, url, "alex", f"guess {n}")
        assert r.status_code == (401 if n < LOCKOUT else 429), (n, r.text)
    assert "Too many failed logins" in r.text
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60
    # The stranger's guesses pause password logins to alex from browsers alex never
    # used, wherever they are, and every login from the stranger's address...
    assert try_login(browser(world, "127.0.0.3"), url, "alex", PASSWORD).status_code == 429
    assert try_login(stranger, url, "bob", PASSWORD).status_code == 429
    # ...but not the owner's own browser, nor bob from elsewhere.
    assert try_login(owner, url, "alex", PASSWORD).status_code == 303
    assert owner.get(url + "/").status_code == 200
    assert try_login(browser(world, "127.0.0.3"), url, "bob", PASSWORD).status_code == 303

    # The owner's browser has its own count: its own mistakes pause only itself.
    mistaken = browser(world, "127.0.0.4")
    login(mistaken, url, "bob")
    for _ in range(LOCKOUT):
        r = try_login(mistaken, url, "bob", "typo typo")
    assert r.status_code == 429 and "from this browser" in r.text
    assert try_login(mistaken, url, "bob", PASSWORD).status_code == 429
    assert try_login(browser(world, "127.0.0.5"), url, "bob", PASSWORD).status_code == 303

    # A device cookie is bound to its account and signed: not another's, not forged.
    forged = browser(world, "127.0.0.6")
    cookie = owner.cookies.get("__Host-doorcam-device-alex")
    assert cookie
    nonce, mac = cookie.split(".")
    forged.cookies.set("__Host-doorcam-device-alex", f"{nonce}.{mac[::-1]}")
    assert try_login(forged, url, "alex", PASSWORD).status_code == 429

    log = access_log(world)
    # The stranger's many refused tries are one entry per pause, not one each.
    refused = [(e["paused"], e["addr"]) for e in log if e["kind"] == "locked_out"]
    assert sorted(refused) == [("account", "127.0.0.3"), ("device", "127.0.0.4"),
                               ("source", "127.0.0.2")]
    guessing = [e for e in log if e["kind"] == "guessing"]
    assert {(e["paused"], e["addr"]) for e in guessing} == {
        ("account", "127.0.0.2"), ("source", "127.0.0.2"), ("device", "127.0.0.4")}
    assert all(e["failures"] == LOCKOUT for e in guessing)
    known = [e for e in log if e["kind"] == "login" and e["browser"] == "known"]
    assert [(e["account"], e["addr"]) for e in known] == [("alex", "127.0.0.1")]
    owner_page = owner.get(url + "/activity").text
    assert "someone is guessing passwords" in owner_page
    assert "to account alex from browsers that never signed in to it" in owner_page


def test_behind_a_trusted_proxy_one_clients_pause_does_not_pause_the_others(
        make_world: Any) -> None:
    world = make_world(web='trusted_proxies = ["127.0.0.1", "::1"]')
    world.add_user("alex")
    url = world.start()
    guesser = {"X-Forwarded-For": "198.51.100.7"}
    for _ in range(LOCKOUT):  # guesses at an account that does not exist
        r = try_login(browser(world, **guesser), url, "nobody", "guess")
    assert r.status_code == 429 and "from your network" in r.text
    assert try_login(browser(world, **guesser), url, "alex", PASSWORD).status_code == 429
    # Whatever the guesser claims on the left, the proxy's own hop on the right decides.
    claims = {"X-Forwarded-For": "198.51.100.8, 198.51.100.7"}
    assert try_login(browser(world, **claims), url, "alex", PASSWORD).status_code == 429
    chained = {"X-Forwarded-For": "198.51.100.7, 127.0.0.1"}  # through two trusted hops
    assert try_login(browser(world, **chained), url, "alex", PASSWORD).status_code == 429
    other = browser(world, **{"X-Forwarded-For": "198.51.100.8"})
    assert try_login(other, url, "alex", PASSWORD).status_code == 303
    # A connection from elsewhere than the proxy is never attributed by its header.
    direct = browser(world, "127.0.0.2", **{"X-Forwarded-For": "198.51.100.8"})
    r = try_login(direct, url, "somebody", "guess")
    assert r.status_code == 401
    addrs = [e["addr"] for e in access_log(world) if e["kind"] == "login_failed"]
    assert addrs == ["198.51.100.7"] * LOCKOUT + ["127.0.0.2"]


def test_without_a_proxy_setting_forwarded_addresses_are_ignored(world: World) -> None:
    world.add_user("alex")
    url = world.start()
    for n in range(LOCKOUT):  # each guess claims another address
        forged = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
        r = try_login(browser(world, **forged), url, "nobody", "guess")
    assert r.status_code == 429
    forged = {"X-Forwarded-For": "198.51.100.99"}
    assert try_login(browser(world, **forged), url, "alex", PASSWORD).status_code == 429
    log = access_log(world)
    assert {e["addr"] for e in log if e["kind"].startswith("login")} == {"127.0.0.1"}
    # Another loopback address is another source: it signs in.
    assert try_login(browser(world, "127.0.0.2"), url, "alex", PASSWORD).status_code == 303


def test_the_owner_is_pushed_that_someone_is_guessing(make_world: Any) -> None:
    service = PushService().start()
    try:
        world = make_world(web=push_on(service))
        world.add_user("alex")
        url = world.start()
        owner = world.session()
        login(owner, url, "alex")
        _, subscription = service.subscribe(Browser.new())
        r = post_json(owner, url, "/push/subscribe", subscription,
                      device_button(owner, url)["csrf-token"])
        assert r.status_code == 200, r.text
        stranger = browser(world, "127.0.0.2")
        for n in range(LOCKOUT * 2):
            try_login(stranger, url, "alex", f"guess {n}")
        assert service.wait_for(1, timeout=30), "".join(world.log)
    finally:
        service.stop()
    [delivery] = service.deliveries  # two pauses began (address, account): one push
    assert delivery.message["url"] == "/activity" and delivery.message["tag"] == "alert"
    assert delivery.message["body"] == words.GUESSING_PUSH
    assert "127.0.0.2" not in delivery.message["body"]
    assert delivery.headers["topic"] == "alert"
    assert service.problems == []


def test_every_pause_has_its_words() -> None:
    assert set(words.PAUSED) == set(Pause) == set(words.GUESSING_PAUSED)
    assert words.paused(Pause.DEVICE, 60).endswith("try again in 1 minute, or use a passkey.")


def test_a_trusted_proxys_scheme_is_the_origin_checks_scheme(make_world: Any) -> None:
    """Behind a TLS-terminating proxy the browser's origin is https while the app serves
    http: X-Forwarded-Proto says so, believed from the proxy only."""
    world = make_world(tls=False, web='trusted_proxies = ["127.0.0.1"]')
    world.add_user("alex")
    url = world.start()
    https = url.replace("http://", "https://")

    def sign_in(s: requests.Session) -> requests.Response:
        """The login form posted with the session's own headers (its Origin)."""
        token = LOGIN_TOKEN.search(s.get(url + "/login").text)
        assert token
        return s.post(url + "/login", data={"login_token": token.group(1), "name": "alex",
                                            "password": PASSWORD, "next": "/"},
                      allow_redirects=False)

    r = sign_in(browser(world, Origin=url, **{"X-Forwarded-Proto": "https"}))
    assert r.status_code == 403 and "not from this doorcam" in r.text
    r = sign_in(browser(world, "127.0.0.2", Origin=https, **{"X-Forwarded-Proto": "https"}))
    assert r.status_code == 403, "only the proxy's X-Forwarded-Proto counts"
    r = sign_in(browser(world, Origin=https, **{"X-Forwarded-Proto": "https"}))
    assert r.status_code == 303, r.text


def test_a_new_password_makes_every_browser_a_stranger_again(tmp_path: Path) -> None:
    from device.web.accounts import Accounts, Attempt

    with Accounts(tmp_path / "accounts.sqlite3") as acc:
        acc.add("alex", PASSWORD, now=1000.0)
        cookie = acc.device_cookie("alex")
        known = Attempt("alex", "192.0.2.1", cookie)
        outcome = acc.login(known, PASSWORD, 1001.0, limit=3, lockout_s=60)
        assert outcome.ok and outcome.known_device
        other = acc.login(Attempt("bob", "192.0.2.1", cookie), "x" * 8, 1001.0, limit=3,
                          lockout_s=60)
        assert not other.known_device, "a device cookie is for its own account only"
        acc.set_password("alex", "another password", now=2000.0)
        outcome = acc.login(known, "another password", 2001.0, limit=3, lockout_s=60)
        assert outcome.ok and not outcome.known_device
        # Failures older than a pause are forgotten: three slow guesses pause nothing.
        stranger = Attempt("alex", "192.0.2.9")
        for at in (3000.0, 3061.0, 3122.0):
            assert acc.login(stranger, "guess guess", at, limit=3, lockout_s=60).paused == ()
        paused = [acc.login(stranger, "guess guess", 3123.0 + n, limit=3, lockout_s=60).paused
                  for n in range(2)]
        assert paused == [(), (Pause.SOURCE, Pause.ACCOUNT)]


def test_a_burst_of_guesses_gets_no_more_tries_than_the_limit_nor_the_memory(
        world: World) -> None:
    """Guesses sent all at once, each on its own connection: the pause still comes after
    exactly `lockout_failures` password checks, and the checks (8 MiB each) do not pile up
    in memory."""
    world.add_user("alex")
    url = world.start()
    burst = 24  # under the 32 connections one client may open
    forms = []
    for n in range(burst):
        s = browser(world, "127.0.0.3")
        m = LOGIN_TOKEN.search(s.get(url + "/login").text)
        assert m
        forms.append((s, {"login_token": m.group(1), "name": "alex",
                          "password": f"guess {n}"}))
    assert world.server is not None
    status = Path(f"/proc/{world.server.pid}/status")
    before_kb = int(status.read_text().split("VmHWM:")[1].split()[0])
    ready = threading.Barrier(burst)

    def guess(n: int) -> int:
        s, form = forms[n]
        ready.wait(timeout=30)
        return s.post(url + "/login", data=form, headers={"Origin": url},
                      allow_redirects=False).status_code

    with ThreadPoolExecutor(burst) as pool:
        codes = list(pool.map(guess, range(burst)))
    assert sorted(codes) == [401] * (LOCKOUT - 1) + [429] * (burst - LOCKOUT + 1), codes
    assert [e["kind"] for e in access_log(world)].count("login_failed") == LOCKOUT
    grown_kb = int(status.read_text().split("VmHWM:")[1].split()[0]) - before_kb
    assert grown_kb <= 16 * 1024, f"the peak grew {grown_kb / 1024:.1f} MB (two checks: 16)"
    owner = browser(world, "127.0.0.1")
    assert try_login(owner, url, "alex", PASSWORD).status_code == 429, "the account paused"


def test_guessers_at_many_addresses_cannot_fill_the_access_log(world: World) -> None:
    """Each address's guesses are written down until it is paused (then once more); guesses
    from many addresses fill at most `RecordQuota.in_all` entries in a pause's time. The
    owner's own login is always written down."""
    world.add_user("alex")
    url = world.start()
    owner = browser(world, "127.0.0.1")
    login(owner, url, "alex")
    sources = 30
    for n in range(sources):
        guesser = browser(world, f"127.0.1.{n + 1}")
        codes = [try_login(guesser, url, f"name{n}x{k}", "guess guess").status_code
                 for k in range(LOCKOUT + 1)]
        assert codes == [401] * (LOCKOUT - 1) + [429, 429], (n, codes)
    kinds = [e["kind"] for e in access_log(world)]
    assert kinds[:2] == ["account_added", "login"]
    written = len(kinds) - 2
    assert written == RecordQuota().in_all, kinds
    assert kinds[2:2 + LOCKOUT + 2] == ["login_failed"] * LOCKOUT + ["guessing", "locked_out"]
    warned = [line for line in world.log if "web login refused" in line]
    assert len(warned) <= RecordQuota().in_all
    owner.post(url + "/logout", data={"csrf": csrf(owner, url)},
               headers={"Origin": url, "Sec-Fetch-Site": "same-origin"})
    assert try_login(owner, url, "alex", PASSWORD).status_code == 303
    assert [e["kind"] for e in access_log(world)][-2:] == ["logout", "login"]


def test_one_alert_per_account_in_a_while() -> None:
    now = [1000.0]
    gate = AlertGate(600, clock=lambda: now[0])
    assert gate.open("alex") and not gate.open("alex") and gate.open("bob")
    now[0] += 599
    assert not gate.open("alex")
    now[0] += 1
    assert gate.open("alex")
