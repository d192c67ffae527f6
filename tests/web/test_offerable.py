"""The web app decides through the same desk half as the daemon and `doorcam requests`, so
the same clips are offerable: a simulated clip matched while demos were allowed cannot be
shared once `[uplink] match_simulated` is off, in the web app as on the command line."""

from __future__ import annotations

import html

from device.web import words
from tests.e2e.test_consent_e2e import doorcam
from tests.web.helpers import login, post
from tests.web.test_http import requests_json
from tests.web.world import World
from uplink.errors import Refusal


def _match_simulated(world: World, on: bool) -> None:
    text = world.config.read_text("utf-8")
    old, new = ("false", "true") if on else ("true", "false")
    assert f"match_simulated = {old}" in text
    world.config.write_text(text.replace(f"match_simulated = {old}",
                                         f"match_simulated = {new}"), "utf-8")


def test_a_simulated_clip_is_shared_only_while_simulated_clips_may_be(world: World) -> None:
    rid = world.import_request()  # matched while match_simulated = true (the scene's clips)
    [row] = requests_json(world)
    assert row["status"] == "pending" and row["clips"]
    clip = row["clips"][0]["id"]
    [record] = [c for c in world.clips() if c["id"] == clip]
    assert record["simulated"], record
    _match_simulated(world, False)
    world.add_user()
    url = world.start()
    s = world.session()
    token = login(s, url)
    r = post(s, url, f"/requests/{rid}/share", {"csrf": token, "clip": clip, "confirm": "yes"})
    assert r.status_code == 409, r.text
    assert words.REFUSAL[Refusal.CLIP_NOT_OFFERABLE] in html.unescape(r.text)
    done = doorcam("requests", "accept", rid, "--clip", clip, "--config", str(world.config))
    assert done.returncode != 0 and "clip_not_offerable" in done.stderr, done.stderr
    assert [r["status"] for r in requests_json(world)] == ["pending"], "nothing recorded"

    world.stop()
    _match_simulated(world, True)
    url = world.start()
    s = world.session()
    token = login(s, url)
    r = post(s, url, f"/requests/{rid}/share", {"csrf": token, "clip": clip, "confirm": "yes"})
    assert r.status_code == 303, r.text
    assert [r["status"] for r in requests_json(world)] == ["accepted"]
