"""Start-up recovery: each kind of crash leftover, staged with real files and SQLite."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from device.store import ClipStore
from tests.store.helpers import commit_bytes, meta, store_config


def reopen(root: Path) -> ClipStore:
    return ClipStore(store_config(root))


def test_a_consistent_store_reports_nothing(store: ClipStore, root: Path) -> None:
    commit_bytes(store)
    store.close()
    with reopen(root) as again:
        assert not again.recovery.changed and not again.recovery.skipped
        assert again.recovery.summary() == "recovery: store consistent"
        assert again.totals()[0] == 1


def test_temp_files_are_removed(store: ClipStore, root: Path) -> None:
    handle = store.begin()
    handle.tmp_path.write_bytes(b"half a clip")
    (root / "tmp" / "stray").write_bytes(b"")
    store.close()
    with reopen(root) as again:
        assert again.recovery.temp_removed == 2
        assert list((root / "tmp").iterdir()) == []


def test_a_row_without_its_file_is_dropped_with_a_warning(
        store: ClipStore, root: Path, caplog: pytest.LogCaptureFixture) -> None:
    lost, kept = commit_bytes(store), commit_bytes(store)
    store.clip_path(lost).unlink()
    store.close()
    with caplog.at_level(logging.WARNING), reopen(root) as again:
        assert again.recovery.rows_dropped == 1
        assert [r.id for r in again.list()] == [kept]
        assert not again.thumbnail_path(lost).exists()
    assert any(lost in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_an_interrupted_delete_is_finished_quietly(
        store: ClipStore, root: Path, caplog: pytest.LogCaptureFixture) -> None:
    clip_id = commit_bytes(store)
    # The state a crash leaves after delete's first step (file moved aside, row still there).
    os.replace(store.clip_path(clip_id), root / "tmp" / f"{clip_id}.mp4.deleted")
    store.close()
    with caplog.at_level(logging.WARNING), reopen(root) as again:
        assert (again.recovery.deletes_finished, again.recovery.rows_dropped) == (1, 0)
        assert again.list() == [] and not (root / "orphans").exists()
        assert list((root / "tmp").iterdir()) == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_delete_interrupted_after_the_row_is_not_resurrected(
        store: ClipStore, root: Path) -> None:
    clip_id = commit_bytes(store)
    os.replace(store.clip_path(clip_id), root / "tmp" / f"{clip_id}.mp4.deleted")
    store._conn.execute("DELETE FROM clips WHERE id = ?", (clip_id,))
    store.close()
    with reopen(root) as again:
        assert again.list() == [] and not (root / "orphans").exists()
        assert again.recovery.temp_removed == 1 and again.recovery.thumbs_removed == 1


def _uncommitted_row(store: ClipStore, clip_id: str) -> None:
    """Undo only the index insert: the state of a crash between rename and insert."""
    store._conn.execute("DELETE FROM clips WHERE id = ?", (clip_id,))


def test_a_journaled_clip_without_a_row_is_reindexed_in_full(
        store: ClipStore, root: Path) -> None:
    clip_id = commit_bytes(store, os.urandom(20_000), start_wall=1_700_000_500.0)
    before = store.get(clip_id)
    journal = store.layout.journal(clip_id)
    journal.write_text(json.dumps(before.to_json()))
    _uncommitted_row(store, clip_id)
    store.close()
    with reopen(root) as again:
        assert again.recovery.reindexed == 1 and again.recovery.orphans_moved == 0
        assert again.get(clip_id) == before
        assert not journal.exists()


def test_a_clip_without_a_row_or_journal_goes_to_orphans(store: ClipStore, root: Path) -> None:
    data = os.urandom(5_000)
    clip_id = commit_bytes(store, data)
    _uncommitted_row(store, clip_id)
    (root / "clips" / "notes.txt").write_text("the owner's file")
    store.close()
    with reopen(root) as again:
        assert again.recovery.orphans_moved == 2 and again.list() == []
    assert (root / "orphans" / f"{clip_id}.mp4").read_bytes() == data
    assert (root / "orphans" / f"{clip_id}.jpg").exists()
    assert (root / "orphans" / "notes.txt").read_text() == "the owner's file"
    assert list((root / "clips").iterdir()) == []


def test_a_journal_that_does_not_match_the_file_is_not_trusted(
        store: ClipStore, root: Path) -> None:
    clip_id = commit_bytes(store, b"a" * 4000)
    rec = store.get(clip_id).to_json()
    store.layout.journal(clip_id).write_text(json.dumps(rec))
    store.clip_path(clip_id).write_bytes(b"b" * 4000)
    _uncommitted_row(store, clip_id)
    store.close()
    with reopen(root) as again:
        assert again.recovery.orphans_moved == 1 and again.list() == []
    assert (root / "orphans" / f"{clip_id}.mp4").read_bytes() == b"b" * 4000


def test_a_synced_commit_that_was_not_renamed_is_completed(
        store: ClipStore, root: Path) -> None:
    data = os.urandom(8_000)
    clip_id = commit_bytes(store, data)
    rec = store.get(clip_id)
    lay = store.layout
    # Back to the state just before the renames: part, thumbnail part and journal in tmp/.
    os.replace(lay.clip(clip_id), lay.tmp_clip(clip_id))
    os.replace(lay.thumb(clip_id), lay.tmp_thumb(clip_id))
    lay.journal(clip_id).write_text(json.dumps(rec.to_json()))
    _uncommitted_row(store, clip_id)
    store.close()
    with reopen(root) as again:
        assert again.recovery.reindexed == 1 and again.get(clip_id) == rec
        assert again.clip_path(clip_id).read_bytes() == data
        assert again.thumbnail_path(clip_id).read_bytes() == meta().thumbnail_jpeg
        assert list((root / "tmp").iterdir()) == []


def test_thumbnails_without_clips_are_removed(store: ClipStore, root: Path) -> None:
    kept = commit_bytes(store)
    stray = root / "thumbs" / "20240301T120000Z-0123abcd.jpg"
    stray.write_bytes(b"jpeg")
    store.close()
    with reopen(root) as again:
        assert again.recovery.thumbs_removed == 1
        assert not stray.exists() and again.thumbnail_path(kept).exists()
        assert "1 thumbs removed" in again.recovery.summary()


def test_an_empty_clips_folder_under_a_full_index_changes_nothing(
        store: ClipStore, root: Path, tmp_path: Path) -> None:
    """Every clip missing at once, clips/ empty: a disk not mounted (or an index restored
    without its clips), not footage lost clip by clip; dropping every row would forget
    footage that is still somewhere. The store refuses to open and says so."""
    from device.store import ClipsMissing

    ids = {commit_bytes(store) for _ in range(3)}
    store.close()
    away = tmp_path / "unmounted"
    away.mkdir()
    for clip in (root / "clips").iterdir():
        os.replace(clip, away / clip.name)
    assert not any((root / "clips").iterdir())  # the precondition: as an empty mount point
    with pytest.raises(ClipsMissing, match=r"lists 3 clips .* is empty.*mount it"):
        reopen(root)
    for clip in away.iterdir():  # mounted again
        os.replace(clip, root / "clips" / clip.name)
    with reopen(root) as again:
        assert {r.id for r in again.list()} == ids and not again.recovery.changed
