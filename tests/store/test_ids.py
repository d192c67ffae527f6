"""Clip ids: the format, and that no id passing validation can name a path outside clips/."""

from __future__ import annotations

import calendar
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device.store import ClipStore, InvalidClipId, new_clip_id, validate_clip_id
from device.store.files import Layout

VALID = "20240301T120000Z-0123abcd"
BAD = [
    "", "../20240301T120000Z-0123abcd", "20240301T120000Z-0123abcd/..", "../../etc/passwd",
    "20240301T120000Z-0123abc/", "/20240301T120000Z-0123abcd", "20240301T120000Z-0123abcd\0",
    "20240301T120000Z-0123abcd\n", " 20240301T120000Z-0123abcd", "20240301T120000Z-0123ABCD",
    "20240301T120000Z-0123abcde", "20240301T120000Z-0123abc", "20240301T120000Z_0123abcd",
    "2024030lT120000Z-0123abcd", "٢٠٢٤٠٣٠١T120000Z-0123abcd",  # Arabic-Indic digits
    "２0240301T120000Z-0123abcd",  # fullwidth two
    "20240301T120000Z‐0123abcd",  # U+2010 hyphen
    "20240301Т120000Z-0123abcd",  # Cyrillic Te
    "20240301T120000Z-0123abcd.mp4", VALID * 2, VALID + "a" * 10_000, "..", ".", "\\..\\x",
]


def test_new_ids_encode_utc_time_and_validate() -> None:
    now = calendar.timegm((2024, 3, 1, 12, 0, 5)) + 0.9
    ids = {new_clip_id(now) for _ in range(50)}
    assert len(ids) == 50, "the random suffix must differ between calls"
    for clip_id in ids:
        assert clip_id.startswith("20240301T120005Z-")
        assert validate_clip_id(clip_id) == clip_id


@pytest.mark.parametrize("bad", BAD)
def test_malformed_ids_are_rejected_with_one_line(bad: str) -> None:
    with pytest.raises(InvalidClipId) as err:
        validate_clip_id(bad)
    message = str(err.value)
    assert "\n" not in message and "\0" not in message
    assert len(message) < 200


def test_non_strings_are_rejected() -> None:
    for bad in (None, 20240301, b"20240301T120000Z-0123abcd", [VALID]):
        with pytest.raises(InvalidClipId):
            validate_clip_id(bad)


@settings(max_examples=400, deadline=None)
@given(st.one_of(
    st.from_regex(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}", fullmatch=True),  # valid: path checked
    st.from_regex(r"[0-9]{0,8}T?[0-9.]{0,6}Z?-?[0-9a-f./\\\x00]{0,10}", fullmatch=True),
    st.text(max_size=40)))
def test_nothing_that_validates_escapes_the_clips_dir(text: str) -> None:
    layout = Layout(Path("/srv/store"))
    try:
        clip_id = validate_clip_id(text)
    except InvalidClipId:
        return
    for path in (layout.clip(clip_id), layout.thumb(clip_id), layout.tmp_clip(clip_id)):
        assert os.path.normpath(path) == str(path)
        assert path.parent in (layout.clips, layout.thumbs, layout.tmp)
        assert path.name.startswith(clip_id) and "/" not in clip_id and "\0" not in clip_id


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(VALID)), st.sampled_from(["/", "..", "\0", "\n", "A", "٣", "x", "-"]))
def test_any_insertion_into_a_valid_id_is_rejected(pos: int, extra: str) -> None:
    with pytest.raises(InvalidClipId):
        validate_clip_id(VALID[:pos] + extra + VALID[pos:])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 4_102_444_799))
def test_every_well_formed_id_is_accepted(suffix: int, when: int) -> None:
    clip_id = f"{new_clip_id(when)[:16]}-{suffix:08x}"
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", clip_id)
    assert validate_clip_id(clip_id) == clip_id


@pytest.mark.parametrize("bad", ["../../escape", "20240301T120000Z-0123abcd/../../x", VALID + "\0"])
def test_every_store_entry_point_validates(store: ClipStore, tmp_path: Path, bad: str) -> None:
    calls = [store.get, store.delete, store.verify, store.exists, store.clip_path,
             store.thumbnail_path, lambda i: store.set_held(i, True),
             lambda i: store.export(i, tmp_path / "out.mp4")]
    for call in calls:
        with pytest.raises(InvalidClipId):
            call(bad)
    assert not (tmp_path / "out.mp4").exists()
