"""Passkeys over HTTP against the real web app: adding, removing and signing in, with a
test authenticator (tests/web/authenticator.py) whose answers are spoiled on purpose.
The real-browser round trip is in test_browser.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests

from device.web.guessing import RecordQuota
from device.web.passkeys.ceremony import counter_regressed
from device.web.passkeys.site import refusal, site_of
from device.web.passkeys.store import PasskeyStore
from tests.broker import free_port
from tests.support import wait_until
from tests.web.authenticator import UP, TestAuthenticator, b64
from tests.web.helpers import LOGIN_TOKEN, csrf, login, post, try_login
from tests.web.test_http import access_log
from tests.web.world import PASSWORD, World

LOCKOUT = 8


def passkey_world(make_world: Callable[..., World]) -> tuple[World, str]:
    """A web app at http://localhost:PORT with public_url naming exactly that, and two
    accounts (alex, bob); the URL passkeys work at."""
    port = free_port()
    url = f"http://localhost:{port}"
    world = make_world(tls=False, listen=f"127.0.0.1:{port}", lockout=LOCKOUT,
                       web=f'public_url = "{url}"')
    world.add_user("alex")
    world.add_user("bob")
    world.start()
    return world, url


def jpost(s: requests.Session, url: str, path: str, body: dict[str, Any],
          **headers: str) -> requests.Response:
    """A same-origin JSON post, as passkeys.js sends it."""
    return s.post(url + path, json=body, allow_redirects=False,
                  headers={"Origin": url, "Sec-Fetch-Site": "same-origin", **headers})


def begin_adding(s: requests.Session, url: str, csrf: str,
                 label: str = "phone") -> dict[str, Any]:
    r = jpost(s, url, "/passkeys/register/begin", {"label": label, "password": PASSWORD},
              **{"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    return dict(r.json()["publicKey"])


def add_passkey(world: World, url: str, name: str) -> TestAuthenticator:
    s = world.session()
    csrf = login(s, url, name)
    auth = TestAuthenticator(url, "localhost")
    options = begin_adding(s, url, csrf)
    r = jpost(s, url, "/passkeys/register/finish", auth.create(options),
              **{"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    return auth


def login_page(world: World, url: str) -> tuple[requests.Session, str]:
    s = world.session()
    page = s.get(url + "/login").text
    m = LOGIN_TOKEN.search(page)
    assert m and "Sign in with a passkey" in page
    return s, m.group(1)


def sign_in(s: requests.Session, url: str, token: str, auth: TestAuthenticator,
            **spoil: Any) -> requests.Response:
    r = jpost(s, url, "/passkeys/login/begin", {}, **{"X-Login-Token": token})
    assert r.status_code == 200, r.text
    options = r.json()["publicKey"]
    return jpost(s, url, "/passkeys/login/finish", {**auth.get(options, **spoil), "next": "/"},
                 **{"X-Login-Token": token})


def test_adding_a_passkey_takes_the_password_the_csrf_token_and_a_verified_answer(
        make_world: Callable[..., World]) -> None:
    world, url = passkey_world(make_world)
    s = world.session()
    csrf = login(s, url)
    add = {"X-CSRF-Token": csrf}
    auth = TestAuthenticator(url, "localhost")

    r = jpost(s, url, "/passkeys/register/begin", {"label": "phone", "password": PASSWORD})
    assert r.status_code == 403 and "security token" in r.text
    r = jpost(s, url, "/passkeys/register/begin", {"label": "phone", "password": "guess"},
              **add)
    assert r.status_code == 403 and "Wrong password" in r.text

    options = begin_adding(s, url, csrf)
    assert options["rp"]["id"] == "localhost" and options["attestation"] == "none"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -8]
    assert not options.get("excludeCredentials")
    good = auth.create(options)
    r = jpost(s, url, "/passkeys/register/finish", auth.create(options, origin=url + "0"),
              **add)
    assert r.status_code == 400 and "origin" in r.text.lower()
    r = jpost(s, url, "/passkeys/register/finish", good, **add)  # the challenge is spent
    assert r.status_code == 400 and "already answered" in r.text

    spoiled: list[dict[str, Any]] = [{"rp_id": "evil.example"}, {"flags": UP}]
    for spoil, words in zip(spoiled, ("rp id", "verif"), strict=True):
        r = jpost(s, url, "/passkeys/register/finish",
                  auth.create(begin_adding(s, url, csrf), **spoil), **add)
        assert r.status_code == 400 and words in r.text.lower(), (spoil, r.text)

    other = world.session()  # the challenge is bound to the session that asked for it
    other_csrf = login(other, url, "bob")
    options = begin_adding(s, url, csrf)
    r = jpost(other, url, "/passkeys/register/finish", auth.create(options),
              **{"X-CSRF-Token": other_csrf})
    assert r.status_code == 400 and "already answered" in r.text
    r = jpost(s, url, "/passkeys/register/finish", auth.create(options), **add)
    assert r.status_code == 200 and r.json() == {"added": "phone"}

    assert begin_adding(s, url, csrf)["excludeCredentials"] == [
        {"type": "public-key", "id": b64(auth.credential_id)}]
    page = s.get(url + "/device").text
    assert "<strong>phone</strong>" in page and "not used yet" in page
    ref = re.search(r'name="passkey" value="([0-9a-f]+)"', page)
    assert ref
    assert [e["passkey"] for e in access_log(world) if e["kind"] == "passkey_added"] == \
        ["phone"]

    # At an IP address the same app says in one line where passkeys work.
    ip = world.session()
    login(ip, world.url)
    assert f"Passkeys work only at {url}/" in ip.get(world.url + "/device").text
    assert "data-passkey-add" not in ip.get(world.url + "/device").text
    assert "data-passkey-login" not in ip.get(world.url + "/login").text

    # Removing: another account cannot, the password is needed, then it is gone.
    form = {"csrf": other_csrf, "passkey": ref.group(1), "password": PASSWORD}
    assert post(other, url, "/passkeys/remove", form).status_code == 404
    form["csrf"] = csrf
    assert post(s, url, "/passkeys/remove", {**form, "password": "guess"}).status_code == 403
    r = post(s, url, "/passkeys/remove", form)
    assert r.status_code == 303 and "passkey_removed" in r.headers["location"]
    assert "<strong>phone</strong>" not in s.get(url + "/device").text
    anonymous, token = login_page(world, url)
    r = sign_in(anonymous, url, token, auth)
    assert r.status_code == 401 and "not registered" in r.text


def test_signing_in_with_a_passkey_checks_everything_and_logs_failures(
        make_world: Callable[..., World]) -> None:
    world, url = passkey_world(make_world)
    alex = add_passkey(world, url, "alex")
    bob = add_passkey(world, url, "bob")
    s, token = login_page(world, url)
    sign = {"X-Login-Token": token}

    r = jpost(s, url, "/passkeys/login/begin", {})
    assert r.status_code == 403 and "out of date" in r.text
    r = jpost(s, url, "/passkeys/login/begin", {}, **sign)
    options = r.json()["publicKey"]
    assert options["rpId"] == "localhost" and options["userVerification"] == "required"
    assert not options.get("allowCredentials")
    good = alex.get(options)
    r = jpost(s, url, "/passkeys/login/finish", alex.get(options, origin="http://localhost"),
              **sign)
    assert r.status_code == 401
    r = jpost(s, url, "/passkeys/login/finish", good, **sign)  # the challenge is spent
    assert r.status_code == 400 and "already answered" in r.text

    stranger = TestAuthenticator(url, "localhost")
    stranger.user_handle = alex.user_handle
    for auth, spoil in ((alex, {"rp_id": "evil.example"}), (alex, {"flags": UP}),
                        (stranger, {}), (bob, {"user_handle": alex.user_handle})):
        r = sign_in(s, url, token, auth, **spoil)
        assert r.status_code == 401, (spoil, r.text)
    assert s.get(url + "/", allow_redirects=False).status_code == 303  # still logged out

    r = sign_in(s, url, token, alex, counter=5)
    assert r.status_code == 200 and r.json() == {"next": "/"}, r.text
    assert s.get(url + "/", allow_redirects=False).status_code == 200
    assert "last used" in s.get(url + "/device").text

    s, token = login_page(world, url)
    r = sign_in(s, url, token, alex, counter=5)
    assert r.status_code == 401
    wait_until(lambda: any("sign counter went from 5 to 5" in line for line in world.log),
               10, "the counter warning in the log")
    assert sign_in(s, url, token, alex, counter=0).status_code == 401  # 5 -> 0: backwards
    assert sign_in(s, url, token, bob, counter=0).status_code == 200  # bob's keeps no count

    log = access_log(world)
    logins = [e for e in log if e["kind"] == "login" and e.get("with") == "passkey"]
    assert [e["account"] for e in logins] == ["alex", "bob"]
    assert all(e["addr"] == "127.0.0.1" for e in logins)
    failed = [e for e in log if e["kind"] == "login_failed" and e.get("with") == "passkey"]
    assert len(failed) == 2 + 4 + 2
    assert {"(unknown passkey)", "alex", "bob"} == {str(e["account"]) for e in failed}

    # A refused passkey guessed no password: it pauses nothing.
    s, token = login_page(world, url)
    for _ in range(LOCKOUT + 1):
        assert sign_in(s, url, token, stranger).status_code == 401
    assert sign_in(s, url, token, bob).status_code == 200
    m = LOGIN_TOKEN.search(s.get(url + "/login").text)
    assert m
    r = s.post(url + "/login", data={"login_token": m.group(1), "name": "alex",
                                     "password": PASSWORD, "next": "/"},
               headers={"Origin": url}, allow_redirects=False)
    assert r.status_code == 303, r.text
    kinds = [e["kind"] for e in access_log(world)]
    assert "locked_out" not in kinds and "guessing" not in kinds


def test_a_passkey_signs_in_while_password_logins_are_paused(
        make_world: Callable[..., World]) -> None:
    world, url = passkey_world(make_world)
    alex = add_passkey(world, url, "alex")
    guesser = world.session()
    for n in range(LOCKOUT):
        r = try_login(guesser, url, "alex", f"guess {n}")
    assert r.status_code == 429, r.text
    # A new browser at the same address: its password is refused, its passkey is not.
    s = world.session()
    assert try_login(s, url, "alex", PASSWORD).status_code == 429
    m = LOGIN_TOKEN.search(s.get(url + "/login").text)
    assert m
    r = sign_in(s, url, m.group(1), alex)
    assert r.status_code == 200, r.text
    assert s.get(url + "/", allow_redirects=False).status_code == 200
    # Having signed in, this browser is known: its password works again too.
    s.post(url + "/logout", data={"csrf": csrf(s, url)}, allow_redirects=False,
           headers={"Origin": url, "Sec-Fetch-Site": "same-origin"})
    assert try_login(s, url, "alex", PASSWORD).status_code == 303
    kinds = [e["kind"] for e in access_log(world)]
    assert kinds.count("guessing") == 2 and kinds[-1] == "login"


def test_challenges_are_single_use_and_expire(tmp_path: Any) -> None:
    import sqlite3

    db = tmp_path / "accounts.sqlite3"
    sqlite3.connect(db).executescript("CREATE TABLE users (name TEXT PRIMARY KEY);")
    with PasskeyStore(db) as store:
        store.hold("k", "login", {"state": 1}, now=1000.0, lifetime_s=120.0)
        assert store.take("k", "register", now=1001.0) is None  # another purpose: spent
        store.hold("k", "login", {"state": 2}, now=1000.0, lifetime_s=120.0)
        assert store.take("k", "login", now=1119.0) == {"state": 2}
        assert store.take("k", "login", now=1119.0) is None
        store.hold("k", "login", {"state": 3}, now=1000.0, lifetime_s=120.0)
        assert store.take("k", "login", now=1120.0) is None


@pytest.mark.parametrize(("stored", "new", "regressed"), [
    (0, 0, False), (0, 7, False), (7, 8, False), (7, 7, True), (7, 3, True), (7, 0, True)])
def test_sign_counter(stored: int, new: int, regressed: bool) -> None:
    assert counter_regressed(stored, new) is regressed


def test_where_passkeys_fit() -> None:
    from config.web import public_url

    assert public_url("https://192.168.1.20:8443") and public_url("http://door.local")
    assert public_url("https://door.example.org/app") and public_url("https://[::1]")
    assert public_url("https://door.example.org") is None
    site = site_of("https://door.example.org:443")
    assert site is not None and site.origin == "https://door.example.org"
    assert refusal(site, "door.example.org") is None
    assert "only at https://door.example.org/" in str(refusal(site, "192.168.1.20:8443"))
    assert "public_url" in str(refusal(None, "door.example.org"))



def test_an_account_removed_takes_its_passkeys_along(tmp_path: Any) -> None:
    """A new account under an old name must not inherit the old one's passkeys."""
    from device.web.accounts import Accounts
    from device.web.passkeys.store import Passkey

    db = tmp_path / "accounts.sqlite3"
    with Accounts(db) as acc, PasskeyStore(db) as store:
        acc.add("alex", PASSWORD, 0.0)
        handle = store.user_handle("alex")
        store.add(Passkey(b"id", "alex", "phone", "localhost", b"key", 0, 0.0, None))
        assert [k.label for k in store.of("alex")] == ["phone"]
        acc.remove("alex")
        acc.add("alex", PASSWORD, 1.0)
        assert store.of("alex") == [] and store.get(b"id") is None
        assert store.user_handle("alex") != handle and store.handle_owner(handle) is None


def test_refused_sign_ins_cannot_fill_the_access_log(make_world: Callable[..., World]
                                                     ) -> None:
    """Anyone may answer the login page's passkey prompt with garbage, and a refusal pauses
    nothing; only the first `lockout_failures` of a source's refusals in a pause's time are
    written down, and the owner's passkey still signs in."""
    world, url = passkey_world(make_world)
    alex = add_passkey(world, url, "alex")
    s, token = login_page(world, url)
    sign = {"X-Login-Token": token}
    for n in range(LOCKOUT * 4):
        if n % 2:
            r = jpost(s, url, "/passkeys/login/finish", {"id": "!"}, **sign)  # no challenge
            assert r.status_code == 400, r.text
        else:
            assert jpost(s, url, "/passkeys/login/begin", {}, **sign).status_code == 200
            r = jpost(s, url, "/passkeys/login/finish", {"id": "!"}, **sign)
            assert r.status_code == 401, r.text
    failed = [e for e in access_log(world) if e["kind"] == "login_failed"]
    assert len(failed) == LOCKOUT
    assert sign_in(s, url, token, alex).status_code == 200
    assert [e["kind"] for e in access_log(world)][-1] == "login"


def test_refusals_written_down_are_bounded_per_source_and_in_all() -> None:
    now = [1000.0]
    quota = RecordQuota(in_all=6, all_window_s=600, clock=lambda: now[0])
    assert [quota.take("a", 2, 60) for _ in range(3)] == [True, True, False]
    now[0] += 60  # a's window is over, the day's is not
    assert [quota.take("a", 2, 60) for _ in range(3)] == [True, True, False]
    assert [quota.take(f"s{n}", 2, 60) for n in range(3)] == [True, True, False]
    now[0] += 540
    assert quota.take("a", 2, 60) and quota.take("zz", 2, 60)
