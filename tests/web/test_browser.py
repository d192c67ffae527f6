"""The owner's app in a real browser: Debian's chromium, headless, driven by Selenium through
Debian's chromedriver (nothing is downloaded). Skips where chromium is absent; CI fails.
Saves a 390x844 screenshot of each page (into docs/screenshots/ with DOORCAM_SCREENSHOTS=1)."""

from __future__ import annotations

import http.server
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_consent_e2e import REPO, doorcam
from tests.web.world import PASSWORD, World

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
DOCS_SHOTS = REPO / "docs" / "screenshots"
# The README's pictures are re-taken on purpose (DOORCAM_SCREENSHOTS=1); an ordinary run
# writes its screenshots outside the checkout, so the suite leaves the tree clean.
SHOTS = (DOCS_SHOTS if os.environ.get("DOORCAM_SCREENSHOTS")
         else Path(tempfile.gettempdir()) / "doorcam-screenshots")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=390,844", "--ignore-certificate-errors", "--autoplay-policy="
         "no-user-gesture-required", "--disable-dev-shm-usage", "--hide-scrollbars")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    missing = [p for p in (CHROMIUM, DRIVER) if not os.access(p, os.X_OK)]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        why = f"needs {', '.join(missing)} (apt install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(why + "; CI requires the browser tests")
        pytest.skip(why)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_window_size(390, 844)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def shot(driver: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def log_in(driver: Any, url: str, name: str = "alex", password: str = PASSWORD) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    driver.get(url + "/login")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    button = driver.find_element(By.CSS_SELECTOR, "button[type=submit].primary")
    button.click()

    def replaced() -> bool:  # the next page has loaded in place of the form
        try:
            button.is_enabled()
        except StaleElementReferenceException:
            return driver.execute_script("return document.readyState") == "complete"
        return False

    wait_for(replaced, "the page after logging in")


def request_rows(world: World) -> dict[str, dict[str, Any]]:
    done = doorcam("requests", "list", "--all", "--json", "--config", str(world.config))
    assert done.returncode == 0, done.stderr
    return {r["request_id"]: r for r in json.loads(done.stdout)}


def test_owner_shares_one_clip_declines_another_request_and_plays_video(
        world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    first = world.import_request()
    world.add_user()
    url = world.start()
    browser.get(url + "/clips")
    wait_for(lambda: "/login" in browser.current_url, "the redirect to the login page")
    shot(browser, "login")
    log_in(browser, url)
    wait_for(lambda: browser.current_url.rstrip("/") == url, "the timeline")
    browser.get(url + "/requests")
    matched = request_rows(world)[first]["clips"]
    assert len(matched) >= 3
    card = browser.find_element(By.ID, f"request-{first}")
    assert "Test Police" in card.text and "not told" in card.text
    shot(browser, "requests")

    # A <video> of a matched clip plays in the page: its currentTime advances.
    video = card.find_element(By.TAG_NAME, "video")
    browser.execute_script("arguments[0].muted = true; arguments[0].play();", video)
    wait_for(lambda: browser.execute_script("return arguments[0].currentTime", video) > 0.3,
             "the video to play")
    browser.execute_script("arguments[0].pause();", video)

    button = card.find_element(By.CSS_SELECTOR, "[data-share-button]")
    assert not button.is_enabled(), "nothing ticked yet"
    chosen = matched[1]["id"]
    box = card.find_element(By.CSS_SELECTOR, f"input[value='{chosen}']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
    box.click()
    assert button.text == "Review sharing 1 clip with this agency"
    shot(browser, "requests-share")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    go = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[data-confirm-share]"),
                  "the confirmation page")[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", go)
    go.click()
    wait_for(lambda: "done=shared" in browser.current_url, "the share to be recorded")
    decision = request_rows(world)[first]["decision"]
    assert decision["clips"] == [chosen] and decision["channel"] == "web"

    second = world.import_request()
    browser.get(url + "/requests")
    card = browser.find_element(By.ID, f"request-{second}")
    decline = card.find_element(By.CSS_SELECTOR, "form.decline button")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", decline)
    decline.click()
    wait_for(lambda: "done=declined" in browser.current_url, "the decline to be recorded")
    assert request_rows(world)[second]["status"] == "declined"
    assert "Declined. Nothing was shared" in browser.page_source
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "requests-decided")

    for path, name in (("/clips", "clips"), ("/live", "live-off"), ("/activity", "activity"),
                       ("/device", "device"), (f"/clips/{matched[0]['id']}/delete", "delete")):
        browser.get(url + path)
        assert browser.find_element(By.CSS_SELECTOR, "nav.tabs").is_displayed()
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is wider than a phone ({width}px)"
        shot(browser, name)
    assert console_errors(browser) == []
    browser.get(url + "/activity")
    assert f"alex shared 1 clip with request {first}" in browser.find_element(
        By.TAG_NAME, "body").text


def test_wrong_passwords_lock_out_in_the_browser(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    world.add_user()
    url = world.start()
    for _ in range(3):
        log_in(browser, url, "alex", "not the password")
    error = browser.find_element(By.CSS_SELECTOR, ".error").text
    assert "Too many failed logins" in error
    log_in(browser, url)
    assert "/login" in browser.current_url
    assert "Too many failed logins" in browser.find_element(By.CSS_SELECTOR, ".error").text
    shot(browser, "locked-out")
    assert console_errors(browser) == [] or all("429" in m for m in console_errors(browser))


class _EvilSite(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_form_posted_from_another_origin_is_refused(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    rid = world.import_request()
    world.add_user()
    url = world.start()
    log_in(browser, url)
    wait_for(lambda: browser.current_url.rstrip("/") == url, "the login")
    clip = request_rows(world)[rid]["clips"][0]["id"]
    _EvilSite.page = (
        f'<html><body><form method="post" action="{url}/requests/{rid}/share">'
        f'<input name="clip" value="{clip}"><input name="csrf" value="guess">'
        '<input name="confirm" value="yes">'
        '<button id="go">Win a prize</button></form></body></html>').encode()
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EvilSite)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{evil.server_address[1]}/")
        browser.find_element(By.ID, "go").click()
        wait_for(lambda: "/share" in browser.current_url, "the cross-site post")
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "another site" in body and "refuses it" in body
        shot(browser, "cross-origin-refused")
    finally:
        evil.shutdown()
    assert request_rows(world)[rid]["status"] == "pending"


# The browser's push service stands in for Google's, which this machine cannot reach: the
# page's PushManager answers with subscriptions made at the loopback push service instead.
FAKE_PUSH_MANAGER = """
const fake = (json) => ({ endpoint: json.endpoint, options: {}, toJSON: () => json });
window.fakePush = { current: null, next: fake(arguments[0]) };
PushManager.prototype.getSubscription = async () => window.fakePush.current;
PushManager.prototype.subscribe = async () => {
  window.fakePush.current = window.fakePush.next;
  return window.fakePush.current;
};
window.fakePush.rotate = (json) => { window.fakePush.current = fake(json); };
"""


def test_notifications_turn_on_and_a_rotated_subscription_is_renewed(
        make_world: Callable[..., World], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    from tests.web.push.pushservice import PushService
    from tests.web.test_push_app import push_on

    service = PushService().start()
    try:
        world = make_world(web=push_on(service))
        world.add_user()
        url = world.start()
        log_in(browser, url)
        browser.get(url + "/device")
        browser.execute_cdp_cmd("Browser.grantPermissions",
                                {"origin": url, "permissions": ["notifications"]})
        _, first = service.subscribe()
        _, second = service.subscribe()
        browser.execute_script(FAKE_PUSH_MANAGER, first)
        button = browser.find_element(By.CSS_SELECTOR, "[data-push-subscribe]")
        button.click()
        state = wait_for(lambda: button.get_attribute("data-push-state"), "subscribing")
        assert state == "subscribed", browser.page_source
        worker = browser.execute_async_script(
            "navigator.serviceWorker.ready.then((r) => arguments[0](r.active.scriptURL))")
        assert worker == url + "/sw.js", "the worker (and the renew.js it imports) runs"
        saved = browser.execute_async_script(
            "self.doorcamPush.load().then(arguments[0])")
        assert saved["endpoint"] == first["endpoint"] and saved["token"]

        # What the worker does on pushsubscriptionchange (which nothing here can fire): the
        # same function, in the page, where the fake push manager can hand out a new one.
        renew = ("navigator.serviceWorker.ready.then((r) => self.doorcamPush.renew("
                 "r.pushManager, null, null)).then(arguments[0], (e) => arguments[0](`${e}`))")
        browser.execute_script("window.fakePush.rotate(arguments[0])", second)
        assert browser.execute_async_script(renew) == "renewed"
        renewed = browser.execute_async_script("self.doorcamPush.load().then(arguments[0])")
        assert renewed["endpoint"] == second["endpoint"]
        assert renewed["token"] not in ("", saved["token"])
        assert browser.execute_async_script(renew) == "unchanged"

        rid = world.import_request()
        assert service.wait_for(1, timeout=10), "".join(world.log)
        assert [m["tag"] for m in service.delivered_to(second)] == [f"request-{rid}"]
        assert service.delivered_to(first) == [] and service.problems == []
        assert console_errors(browser) == []
    finally:
        service.stop()


def test_the_readme_has_a_screenshot_of_every_page() -> None:
    for name in ("login", "home", "requests", "share-confirm", "clips", "live", "activity",
                 "device", "notifications"):
        assert (DOCS_SHOTS / f"{name}.png").exists(), name


def test_owner_adds_a_passkey_logs_out_and_signs_in_with_it(
        make_world: Callable[..., World], browser: Any) -> None:
    """Chromium's virtual authenticator (a platform passkey with user verification) at
    http://localhost:PORT, the address public_url names."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.virtual_authenticator import (
        Protocol,
        Transport,
        VirtualAuthenticatorOptions,
    )

    from tests.web.test_http import access_log
    from tests.web.test_passkeys import passkey_world

    world, url = passkey_world(make_world)
    browser.add_virtual_authenticator(VirtualAuthenticatorOptions(
        protocol=Protocol.CTAP2, transport=Transport.INTERNAL, has_resident_key=True,
        has_user_verification=True, is_user_verified=True))
    log_in(browser, url)
    browser.get(url + "/device#passkeys")
    form = browser.find_element(By.CSS_SELECTOR, "form[data-passkey-add]")
    form.find_element(By.NAME, "label").send_keys("Alex's laptop")
    form.find_element(By.NAME, "password").send_keys(PASSWORD)
    button = form.find_element(By.CSS_SELECTOR, "[data-passkey-start]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    wait_for(lambda: "done=passkey_added" in browser.current_url, "the passkey to be added")
    section = browser.find_element(By.ID, "passkeys").text
    assert "Passkey added." in browser.page_source and "Alex's laptop" in section
    shot(browser, "passkeys")
    [credential] = browser.get_credentials()
    assert credential.is_resident_credential

    logout = browser.find_element(By.CSS_SELECTOR, "form.logout button")
    logout.click()
    wait_for(lambda: browser.current_url.endswith("/login"), "the login page")
    start = browser.find_element(By.CSS_SELECTOR, "[data-passkey-login] [data-passkey-start]")
    assert start.is_displayed() and start.text == "Sign in with a passkey"
    shot(browser, "login-passkey")
    start.click()
    wait_for(lambda: browser.current_url.rstrip("/") == url, "the timeline")
    assert browser.find_element(By.CSS_SELECTOR, "nav.tabs").is_displayed()
    assert [e.get("with") for e in access_log(world) if e["kind"] == "login"] == \
        [None, "passkey"]
    browser.get(url + "/device#passkeys")
    assert "last used" in browser.find_element(By.ID, "passkeys").text
    assert console_errors(browser) == []
    browser.get(url + "/activity")
    assert "alex logged in from 127.0.0.1" in browser.find_element(By.TAG_NAME, "body").text

    # A link to the login page whose next page is elsewhere once the browser drops its tab
    # ("/<tab>/127.0.0.2:PORT/" is "//127.0.0.2:PORT/", another site): the timeline instead.
    browser.find_element(By.CSS_SELECTOR, "form.logout button").click()
    wait_for(lambda: browser.current_url.endswith("/login"), "the login page")
    elsewhere = "127.0.0.2:" + url.rsplit(":", 1)[1]
    browser.get(f"{url}/login?next=/%09/{elsewhere}/")
    browser.find_element(By.CSS_SELECTOR, "[data-passkey-login] [data-passkey-start]").click()
    wait_for(lambda: "/login" not in browser.current_url, "the page after signing in")
    assert browser.current_url == url + "/", browser.current_url


def test_the_day_box_and_every_tab_show_whole_on_narrow_phones(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    world.add_user()
    url = world.start()
    log_in(browser, url)
    for width in (320, 360, 390, 1024):
        browser.set_window_size(width, 844)
        browser.get(url + "/")
        box = browser.find_element(By.CSS_SELECTOR, ".jump input[type=date]")
        assert box.is_displayed()
        # Its width against a copy of it laid out at its own size: what the date needs.
        shown, needed = browser.execute_script("""
            const box = arguments[0], copy = box.cloneNode();
            copy.style.cssText = "position:absolute;width:auto;min-width:auto;flex:none";
            box.parentNode.appendChild(copy);
            const needed = copy.offsetWidth;
            copy.remove();
            return [box.offsetWidth, needed];""", box)
        assert needed > 60, "the precondition: the copy was laid out"
        assert shown >= needed, f"at {width}px the day box is {shown}px of {needed}px"
        go = browser.find_element(By.CSS_SELECTOR, ".jump button[type=submit]")
        right = browser.execute_script("return arguments[0].getBoundingClientRect().right", go)
        assert right <= width, f"at {width}px Go is off the screen"
        tabs = browser.execute_script(
            "const t = document.querySelector('nav.tabs'); return [t.scrollWidth, t.clientWidth]")
        assert tabs[0] <= tabs[1], f"at {width}px a tab is scrolled off the edge: {tabs}"
        shot(browser, f"timeline-day-box-{width}")


def test_a_requests_clips_sit_side_by_side_on_a_wide_screen(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    world.import_request()
    world.add_user()
    url = world.start()
    log_in(browser, url)
    for width, columns in ((390, 1), (1024, 2)):
        browser.set_window_size(width, 844)
        browser.get(url + "/requests")
        clips = browser.find_elements(By.CSS_SELECTOR, ".cliplist li.clip")
        assert len(clips) >= 2, "the precondition: a request with several clips"
        tops = [c.rect["y"] for c in clips[:columns + 1]]
        assert len(set(tops[:columns])) == 1 and tops[columns] > tops[0], (width, tops)
        shot(browser, f"request-clips-{width}")


def test_a_wide_cameras_clips_play_at_their_own_shape(world: World, browser: Any) -> None:
    """A 16:9 camera (the Pi's default 1920x1080) fills the player, not a 4:3 box with black
    bars; the porch's 4:3 clips keep theirs."""
    from selenium.webdriver.common.by import By

    before = {c["id"] for c in world.clips()}
    done = doorcam("simulate", "synthetic:porch?seconds=12&size=320x180", "--store",
                   str(world.store), "--quiet")
    assert done.returncode == 0, done.stderr
    wide = [c["id"] for c in world.clips() if c["id"] not in before]
    assert wide and before, "the precondition: 16:9 clips beside the 4:3 ones"
    world.add_user()
    url = world.start()
    log_in(browser, url)
    for clip, shape in ((wide[0], 16 / 9), (sorted(before)[0], 4 / 3)):
        browser.get(f"{url}/clips/{clip}")
        video = browser.find_element(By.CSS_SELECTOR, ".player-card video")
        wait_for(lambda v=video: browser.execute_script("return arguments[0].readyState", v)
                 >= 1, "the clip's metadata")
        box = video.rect
        assert abs(box["width"] / box["height"] - shape) < 0.05, (clip, box)
        shot(browser, f"clip-{'16x9' if shape > 1.5 else '4x3'}")


def test_cards_start_at_their_padding(world: World, browser: Any) -> None:
    """No blank band above a card's first line (the Notifications card began with one)."""
    world.add_user()
    url = world.start()
    for path in ("/login", "/notifications", "/device", "/live"):
        if path != "/login" and "/login" in browser.current_url:
            log_in(browser, url)
        browser.get(url + path)
        gaps = browser.execute_script("""
            return [...document.querySelectorAll("main .card")].map(card => {
              const first = card.firstElementChild;
              if (!first) return 0;
              const pad = parseFloat(getComputedStyle(card).paddingTop);
              return first.getBoundingClientRect().top - card.getBoundingClientRect().top
                - card.clientTop - pad;
            });""")
        assert gaps, f"the precondition: {path} has cards"
        assert all(abs(g) < 1 for g in gaps), (path, gaps)
