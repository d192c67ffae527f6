"""The clip store with real files and real SQLite: commit, queries, export, schema."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
from pathlib import Path

import pytest

from capture.recording.sink import ClipHandle, ClipSink
from device.store import (
    ClipNotFound,
    ClipStore,
    ExportExists,
    IntegrityError,
    NotAStore,
    SchemaTooNew,
    StoreError,
    StoreIOError,
)
from device.store import index as store_index
from tests.store.helpers import commit_bytes, meta, store_config


def test_commit_moves_the_clip_into_place_and_indexes_it(store: ClipStore, root: Path) -> None:
    sink: ClipSink = store
    data = os.urandom(300_000)
    handle = sink.begin()
    assert handle.tmp_path.parent == root / "tmp" and handle.tmp_path.name.endswith(".mp4.part")
    handle.tmp_path.write_bytes(data)
    m = meta(start_wall=1_700_000_123.5, duration=7.25, frames=181, thumb=b"\xff\xd8JPEG")
    sink.commit(handle, m)
    rec = store.get(handle.id)
    assert store.clip_path(rec.id) == root / "clips" / f"{rec.id}.mp4"
    assert store.clip_path(rec.id).read_bytes() == data
    assert store.thumbnail_path(rec.id).read_bytes() == m.thumbnail_jpeg
    assert rec.sha256 == hashlib.sha256(data).hexdigest() and rec.size == len(data)
    assert (rec.start_wall, rec.end_wall, rec.duration, rec.frames) == (
        m.start_wall, m.end_wall, m.duration, m.frames)
    assert (rec.first_seq, rec.last_seq, rec.width, rec.height, rec.held) == (
        m.first_seq, m.last_seq, m.width, m.height, False)
    assert list((root / "tmp").iterdir()) == []
    assert json.loads(json.dumps(rec.to_json()))["sha256"] == rec.sha256


@pytest.mark.parametrize("umask", [0o077, 0o022, 0o007])
def test_store_is_never_readable_by_others_and_tilde_expands(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask: int) -> None:
    """Owner only, or owner and group where the umask allows it (the services' UMask=0007
    lets the web app's own user, in the service's group, read and delete clips)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    old = os.umask(umask)
    try:
        with ClipStore(store_config(Path("~/doorcam-store"))) as s:
            assert s.root == tmp_path / "doorcam-store"
            for d in (s.root, s.root / "clips", s.root / "thumbs", s.root / "tmp"):
                assert stat.S_IMODE(d.stat().st_mode) == 0o770 & ~umask, d
            assert stat.S_IMODE((s.root / "lock").stat().st_mode) == 0o660 & ~umask
    finally:
        os.umask(old)


def test_abort_removes_the_temp_file(store: ClipStore) -> None:
    handle = store.begin()
    handle.tmp_path.write_bytes(b"partial")
    store.abort(handle)
    assert not handle.tmp_path.exists() and store.list() == []


def test_abort_after_commit_or_failed_commit_touches_nothing(store: ClipStore) -> None:
    committed = store.begin()
    committed.tmp_path.write_bytes(b"kept")
    store.commit(committed, meta())
    store.abort(committed)
    assert store.verify(committed.id) and store.thumbnail_path(committed.id).exists()
    failed = store.begin()
    with pytest.raises(StoreIOError) as err:
        store.commit(failed, meta())
    assert isinstance(err.value, OSError), "the recorder handles commit failures as OSError"
    store.abort(failed)
    assert [r.id for r in store.list()] == [committed.id]


def test_a_handle_commits_once_and_foreign_handles_are_refused(store: ClipStore) -> None:
    handle = store.begin()
    handle.tmp_path.write_bytes(b"clip")
    store.commit(handle, meta())
    with pytest.raises(StoreError, match="not in progress"):
        store.commit(handle, meta())
    forged = ClipHandle("20240301T120000Z-0123abcd", store.root / "tmp" / "x.mp4.part")
    with pytest.raises(StoreError, match="not in progress"):
        store.commit(forged, meta())
    assert [r.id for r in store.list()] == [handle.id]


def test_commit_without_a_file_fails_cleanly(store: ClipStore) -> None:
    handle = store.begin()
    with pytest.raises(StoreError, match="wrote no file"):
        store.commit(handle, meta())
    assert store.list() == [] and list((store.root / "thumbs").iterdir()) == []


def test_list_is_newest_first_with_limit_and_since(store: ClipStore) -> None:
    starts = [1_700_000_300.0, 1_700_000_100.0, 1_700_000_200.0]
    ids = {start: commit_bytes(store, start_wall=start) for start in starts}
    listed = store.list()
    assert [r.start_wall for r in listed] == sorted(starts, reverse=True)
    assert [r.id for r in store.list(limit=2)] == [ids[1_700_000_300.0], ids[1_700_000_200.0]]
    assert {r.id for r in store.list(since=1_700_000_150.0)} == {
        ids[1_700_000_300.0], ids[1_700_000_200.0]}
    assert store.totals() == (3, sum(r.size for r in listed))


def test_missing_clips_raise_clip_not_found(store: ClipStore, tmp_path: Path) -> None:
    absent = "20240301T120000Z-0123abcd"
    for call in (store.get, store.delete, store.verify,
                 lambda i: store.set_held(i, True), lambda i: store.export(i, tmp_path / "o")):
        with pytest.raises(ClipNotFound, match=absent):
            call(absent)
    assert not store.exists(absent)


def test_delete_removes_file_thumbnail_and_row(store: ClipStore) -> None:
    keep, gone = commit_bytes(store), commit_bytes(store)
    store.delete(gone)
    assert not store.clip_path(gone).exists() and not store.thumbnail_path(gone).exists()
    assert [r.id for r in store.list()] == [keep]
    assert list((store.root / "tmp").iterdir()) == []


def test_set_held_round_trips(store: ClipStore) -> None:
    clip_id = commit_bytes(store)
    store.set_held(clip_id, True)
    assert store.get(clip_id).held is True
    store.set_held(clip_id, False)
    assert store.get(clip_id).held is False


def test_verify_detects_a_changed_or_missing_file(store: ClipStore) -> None:
    clip_id = commit_bytes(store, b"A" * 10_000)
    assert store.verify(clip_id)
    with open(store.clip_path(clip_id), "r+b") as f:
        f.seek(5_000)
        f.write(b"B")
    assert not store.verify(clip_id)
    store.clip_path(clip_id).unlink()
    assert not store.verify(clip_id)


def test_export_copies_and_verifies(store: ClipStore, tmp_path: Path) -> None:
    data = os.urandom(50_000)
    clip_id = commit_bytes(store, data)
    dest = tmp_path / "out.mp4"
    assert store.export(clip_id, dest) == dest
    assert dest.read_bytes() == data
    with pytest.raises(ExportExists, match="already exists"):
        store.export(clip_id, dest)
    dest.write_bytes(b"old")
    store.export(clip_id, dest, overwrite=True)
    assert dest.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "store") == ["out.mp4"]


def test_export_of_a_damaged_clip_leaves_nothing(store: ClipStore, tmp_path: Path) -> None:
    clip_id = commit_bytes(store, b"x" * 1000)
    store.clip_path(clip_id).write_bytes(b"y" * 1000)
    with pytest.raises(IntegrityError, match="SHA-256"):
        store.export(clip_id, tmp_path / "out.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_export_into_the_store_itself_is_refused_even_with_overwrite(
        store: ClipStore, root: Path) -> None:
    first, second = commit_bytes(store, b"a" * 4000), commit_bytes(store, b"b" * 4000)
    index_bytes = (root / "index.sqlite3").read_bytes()
    for dest in (root / "index.sqlite3", store.clip_path(second), root / "thumbs" / ".." / "x",
                 root / "new.mp4"):
        with pytest.raises(StoreError, match=f"is inside the clip store {re.escape(str(root))}"):
            store.export(first, dest, overwrite=True)
    assert (root / "index.sqlite3").read_bytes() == index_bytes
    assert store.clip_path(second).read_bytes() == b"b" * 4000
    assert not (root / "x").exists() and not (root / "new.mp4").exists()
    assert {r.id for r in store.list()} == {first, second}


def test_export_into_a_missing_directory_is_a_one_line_error(
        store: ClipStore, tmp_path: Path) -> None:
    clip_id = commit_bytes(store)
    with pytest.raises(StoreError, match="No such file or directory") as err:
        store.export(clip_id, tmp_path / "nowhere" / "out.mp4")
    assert "\n" not in str(err.value)


def test_index_is_wal_with_a_schema_version(store: ClipStore, root: Path) -> None:
    conn = sqlite3.connect(root / "index.sqlite3")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == store_index.SCHEMA_VERSION
    finally:
        conn.close()


def test_a_newer_schema_is_refused(root: Path) -> None:
    ClipStore(store_config(root)).close()
    conn = sqlite3.connect(root / "index.sqlite3")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(SchemaTooNew, match="version 99"):
        ClipStore(store_config(root))


def test_migrations_append_and_run_once(tmp_path: Path) -> None:
    calls = []

    def v2(conn: sqlite3.Connection) -> None:
        calls.append(2)
        conn.execute("CREATE TABLE requests (id TEXT PRIMARY KEY)")

    conn = store_index.connect(tmp_path / "i.sqlite3")
    try:
        latest = len(store_index.MIGRATIONS) + 1
        assert store_index.migrate(conn, (*store_index.MIGRATIONS, v2)) == latest
        assert store_index.migrate(conn, (*store_index.MIGRATIONS, v2)) == latest
        assert calls == [2]
        conn.execute("INSERT INTO requests VALUES ('r1')")
    finally:
        conn.close()


def test_clock_bounds_are_kept_and_clips_indexed_before_read_as_unknown(
        store: ClipStore, root: Path, tmp_path: Path) -> None:
    new = commit_bytes(store, clock_max_error_ms=12, clock_est_error_ms=3)
    got = store.get(new)
    assert (got.clock_max_error_ms, got.clock_est_error_ms) == (12, 3)
    assert store_index.ClipRecord.from_json(json.loads(json.dumps(got.to_json()))) == got
    store.close()
    with ClipStore(store_config(root)) as again:
        assert again.get(new) == got

    path = tmp_path / "index.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    store_index.migrate(conn, store_index.MIGRATIONS[:3])  # the schema before the bounds
    conn.execute("INSERT INTO clips (id, start_wall, end_wall, duration, start_pts, "
                 "first_seq, last_seq, frames, width, height, size, sha256, peak_score, "
                 "held, created, clock_synced) VALUES ('old', 1, 2, 1, 0, 0, 24, 25, 320, "
                 "240, 9, 'ab', 0.5, 0, 3, 1)")
    conn.close()
    conn = store_index.connect(path)
    try:
        old = store_index.get(conn, "old")
    finally:
        conn.close()
    assert old is not None and old.clock_synced
    assert (old.clock_max_error_ms, old.clock_est_error_ms) == (None, None)


def test_a_second_instance_reads_while_the_first_records(store: ClipStore, root: Path) -> None:
    first = commit_bytes(store)
    handle = store.begin()
    handle.tmp_path.write_bytes(b"being recorded")
    with ClipStore(store_config(root)) as reader:
        assert reader.recovery.skipped, "recovery must not run while the store is in use"
        assert [r.id for r in reader.list()] == [first]
    assert handle.tmp_path.exists()
    store.commit(handle, meta())
    with ClipStore(store_config(root)) as reader:
        assert {r.id for r in reader.list()} == {first, handle.id}


def test_unwritable_store_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="opening the clip store"):
        ClipStore(store_config(blocker / "store"))


def test_a_directory_of_other_files_does_not_become_a_store(tmp_path: Path) -> None:
    """A mistyped store path (a home directory with a tmp/) is refused, its files untouched:
    recovery would have moved or removed everything in clips/, thumbs/ and tmp/."""
    home = tmp_path / "home"
    mine = {home / "tmp" / "draft.txt": b"notes", home / "tmp" / "work" / "a.c": b"int x;",
            home / "thumbs" / "holiday.jpg": b"jpeg", home / "clips" / "cat.mp4": b"mp4"}
    for path, data in mine.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    refused = f"^{re.escape(str(home))} is not a clip store .*its clips/ holds"
    with pytest.raises(NotAStore, match=refused):
        ClipStore(store_config(home))
    assert {p: p.read_bytes() for p in mine} == mine
    assert not (home / "index.sqlite3").exists() and not (home / "lock").exists()
    a_file = tmp_path / "notes.txt"
    a_file.write_bytes(b"x")
    with pytest.raises(NotAStore, match=f"^{re.escape(str(a_file))} is not a directory but a file"):
        ClipStore(store_config(a_file))
    # A store that lost its index (its lock file is there) still opens: recovery keeps
    # its clips, in orphans/.
    lost = tmp_path / "lost"
    with ClipStore(store_config(lost)) as s:
        kept = commit_bytes(s, b"clip")
    (lost / "index.sqlite3").unlink()
    with ClipStore(store_config(lost)) as s:
        assert s.list() == []
    assert (lost / "orphans" / f"{kept}.mp4").read_bytes() == b"clip"
    # A new store where the directory holds only other things (keys, a registry) is fine,
    # and so is reopening it once it has files of its own.
    other = tmp_path / "fresh"
    other.mkdir()
    (other / "registry.json").write_text("{}")
    with ClipStore(store_config(other)) as s:
        commit_bytes(s, b"clip")
    with ClipStore(store_config(other)) as s:
        assert len(s.list()) == 1
