"""The Activity page anchors the request audit log: entries cut off the end of the log, with
its head file rewritten to match (what an intruder on the device would do), pass the log's
own check but not the head the page saw last time."""

from __future__ import annotations

import json
import sqlite3

from tests.web.helpers import login
from tests.web.world import World
from uplink.audit import AuditLog

WARNING = "Entries were removed from this log since you last looked"


def _cut_tail(world: World, keep: int) -> None:
    """Delete every audit entry after `keep` and point the head file at entry `keep`."""
    path = world.store / "audit.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute("DELETE FROM audit WHERE seq > ?", (keep,))
        digest = db.execute("SELECT hash FROM audit WHERE seq = ?", (keep,)).fetchone()[0]
    head = path.with_name(path.name + ".head")
    head.write_text(json.dumps({"seq": keep, "hash": digest}))


def test_entries_deleted_since_the_last_view_are_shown_loudly(world: World) -> None:
    world.import_request()
    world.import_request()
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    with AuditLog(world.store / "audit.sqlite3") as audit:
        seen_seq = audit.head()[0]
        assert seen_seq >= 3 and audit.verify().ok
    page = s.get(url + "/activity")
    assert page.status_code == 200 and "none changed, removed or reordered" in page.text
    assert WARNING not in page.text

    _cut_tail(world, keep=seen_seq - 2)
    with AuditLog(world.store / "audit.sqlite3") as audit:
        plain = audit.verify()
    assert plain.ok, plain.problems  # the log's own check cannot tell

    for _ in range(2):  # and it stays said: the anchor does not move back to the cut head
        page = s.get(url + "/activity")
        assert page.status_code == 200
        assert WARNING in page.text and "none changed, removed or reordered" not in page.text
        assert f"intact up to entry #{seen_seq}" in page.text
        assert f"--anchor {seen_seq}:" in page.text


def test_the_anchor_moves_forward_with_the_log(world: World) -> None:
    world.import_request()
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    assert WARNING not in s.get(url + "/activity").text
    world.import_request()  # new entries after the last view are not a problem
    page = s.get(url + "/activity")
    assert "none changed, removed or reordered" in page.text and WARNING not in page.text
    with AuditLog(world.store / "audit.sqlite3") as audit:
        head = audit.head()
    with sqlite3.connect(world.store / "web" / "access.sqlite3") as db:
        assert db.execute("SELECT seq, hash FROM seen_audit_head").fetchone() == head
