"""What an agency wrote, as the owner sees it in Chromium at 390x844: a request whose fields
pass the protocol's checks yet would mislead (right-to-left fields that swap places with
their neighbours, invisible characters, stacked combining marks, one 1500-letter word)
shows each field whole, in its place, on the page's width."""

from __future__ import annotations

from typing import Any

from device.web.outside import MAX_MARKS, plain
from tests.web.helpers import login, try_login
from tests.web.test_browser import browser, console_errors, log_in, request_rows, wait_for
from tests.web.world import World

__all__ = ["browser"]  # the fixture

CASE = "\u05ea\u05d9\u05e7\u200f 12"  # Hebrew "case", a right-to-left mark, 12
INCIDENT = "\u05d2\u05e0\u05d9\u05d1\u05d4"  # Hebrew "theft"
INVESTIGATOR = "Det.\u200b Ada\u2060"  # a zero-width space and a word joiner
LONG = "y" * 1500
DESCRIPTION = "Z" + "\u0301" * 200 + " " + LONG

# Where each text sits on the screen: the left edge of the first text node holding it.
LEFT_OF = """
const walker = document.createTreeWalker(arguments[0], NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const at = node.data.indexOf(arguments[1]);
  if (at >= 0) {
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + arguments[1].length);
    return range.getBoundingClientRect().left;
  }
}
return null;
"""


def misleading_request(world: World) -> str:
    return world.import_request(case_number=CASE, incident_type=INCIDENT,
                                description=DESCRIPTION,
                                investigator={"name": INVESTIGATOR, "contact": "+1 555 0100"})


def check_facts(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    case_row = driver.find_element(By.XPATH, "//dt[.='Case']/following-sibling::dd[1]")
    case_left = driver.execute_script(LEFT_OF, case_row, CASE[:3])  # its Hebrew word
    incident_left = driver.execute_script(LEFT_OF, case_row, INCIDENT)
    assert case_left is not None and incident_left is not None, case_row.text
    assert case_left < incident_left, "the case is shown first, as on every other request"
    assert driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"), "page too wide"
    main = driver.find_element(By.TAG_NAME, "main").text
    assert "Det. Ada" in main and "\u200b" not in main and "\u2060" not in main


def test_an_agencys_fields_cannot_swap_hide_or_overflow(world: World, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    rid = misleading_request(world)
    world.add_user()
    url = world.start()
    log_in(browser, url)
    wait_for(lambda: browser.current_url.rstrip("/") == url, "the timeline")
    browser.get(url + "/requests")
    card = wait_for(lambda: browser.find_elements(By.ID, f"request-{rid}"), "the request")[0]
    check_facts(browser)
    why = card.find_element(By.CSS_SELECTOR, "dd.why").text
    assert why.startswith("Z" + "\u0301" * MAX_MARKS + " ") and LONG in why
    clip = request_rows(world)[rid]["clips"][0]["id"]
    browser.get(f"{url}/requests/{rid}/share?clip={clip}")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[data-confirm-share]"),
             "the confirmation page")
    check_facts(browser)
    assert console_errors(browser) == []


def test_the_pages_and_the_activity_log_drop_invisible_characters(world: World) -> None:
    misleading_request(world)
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    page = s.get(url + "/requests").text
    assert "\u200f" not in page and "\u200b" not in page and "\u2060" not in page
    assert f'<bdi class="outside">{plain(CASE)}</bdi>' in page
    assert "data-lookalike" not in page  # "Test Police": one alphabet
    # A stranger's typed account name is in the household log too.
    assert try_login(world.session(), url, "\u202eeno wen a dedda", "x" * 8).status_code == 401
    activity = s.get(url + "/activity").text
    assert "Request received from" in activity and plain(CASE) in activity
    assert "\u200f" not in activity and "\u202e" not in activity
    assert '<strong><bdi class="outside">eno wen a dedda</bdi></strong>' in activity


def test_plain_keeps_text_and_newlines() -> None:
    assert plain("A parcel was taken.\nAround 3 pm.") == "A parcel was taken.\nAround 3 pm."
    assert plain("Nguy\u1ec5n \u0e01\u0e34\u0e4a") == "Nguy\u1ec5n \u0e01\u0e34\u0e4a"
    assert plain("a\u2028b\u2029c\ufeffd\U000e0041") == "a\nb\ncd"
    assert plain("e" + "\u0301" * 9) == "e" + "\u0301" * MAX_MARKS
    assert plain("Why:" + "\n" * 500 + "the rest") == "Why:\n\nthe rest"
    assert plain("a\n \n\t\n  \nb") == "a\n \nb"  # blank however made


def test_an_agency_name_mixing_look_alike_alphabets_is_pointed_out(world: World) -> None:
    """A registry may list a name whose Cyrillic letters pass for Latin ones ("Тest Police"
    beside "Test Police"): the request and its confirmation say so and show the agency's
    registry id, which is plain ASCII."""
    import json

    from uplink.protocol import sign_document

    lookalike = "\u0422\u0435st Police"  # a Cyrillic Te and ie
    path = world.store / "registry.json"
    registry = {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items()
                if k != "sig"}
    registry["agencies"][0]["name"] = lookalike
    path.write_text(json.dumps(sign_document(registry, world.registry_key, "reg-1")),
                    encoding="utf-8")
    rid = world.import_request(agency={"id": "pd-1", "name": lookalike})
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    page = s.get(url + "/requests").text
    warning = "mixes Cyrillic and Latin letters"
    assert warning in page and "(its registry id is pd-1)" in page and "(pd-1)" in page
    clip = request_rows(world)[rid]["clips"][0]["id"]
    confirm = s.get(f"{url}/requests/{rid}/share?clip={clip}").text
    assert warning in confirm and "(pd-1)" in confirm
