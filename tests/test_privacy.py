"""Privacy masks end to end: `doorcam simulate` on a generated porch and on real H.264
footage, with every frame of every stored clip decoded and its thumbnail checked."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from capture.privacy import PrivacyMask
from capture.sources import open_source
from common.mediasign.nal import join_length_prefixed, split_length_prefixed
from common.mediasign.sei import is_media_signing_sei
from config import ConfigError, parse_config
from device.wiring import build
from motion import MotionError
from tests.recording.helpers import check_clip, check_jpeg, packet_bytes, traffic_packets

REPO = Path(__file__).resolve().parent.parent
SCENE = "synthetic:porch"
RECORDING = "[recording]\npre_roll_seconds = 1.0\npost_roll_seconds = 1.0\n"
# The right half of the porch: the visitor walks in from the right, so the event starts
# only once they reach the left half, and their walk in is recorded black.
RIGHT_HALF = [[[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]]
# Everything below the lintel: every visitor and passer-by walks inside it.
BELOW_LINTEL = [[[0.0, 0.12], [1.0, 0.12], [1.0, 1.0], [0.0, 1.0]]]
# The traffic camera's sky and far lanes (top left); its events happen in ZONE, below.
TRAFFIC_MASK = [[[0.0, 0.0], [0.45, 0.0], [0.45, 0.4], [0.0, 0.4]]]
ZONE = [[631 / 1280, 532 / 720], [841 / 1280, 532 / 720], [841 / 1280, 659 / 720],
        [631 / 1280, 659 / 720]]


@dataclass
class Run:
    store: Path
    events: list[dict]

    @property
    def clips(self) -> list[Path]:
        return sorted((self.store / "clips").glob("*.mp4"))

    def thumbnail(self, clip: Path) -> bytes:
        return (self.store / "thumbs" / f"{clip.stem}.jpg").read_bytes()


def simulate(tmp: Path, source: str, config: str) -> Run:
    tmp.mkdir()
    (tmp / "doorcam.toml").write_text(config, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "device.cli", "simulate", source, "--quiet", "--store",
         str(tmp / "store"), "--config", str(tmp / "doorcam.toml"), "--events-jsonl",
         str(tmp / "events.jsonl")], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = (tmp / "events.jsonl").read_text().splitlines()
    return Run(tmp / "store", [json.loads(line) for line in lines])


def masks(polygons: list) -> str:
    return f"[privacy]\nmasks = {json.dumps(polygons)}\n"


@pytest.fixture(scope="module")
def porch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    tmp = tmp_path_factory.mktemp("porch")
    return {"plain": simulate(tmp / "plain", SCENE, RECORDING),
            "masked": simulate(tmp / "masked", SCENE, RECORDING + masks(RIGHT_HALF))}


def test_masked_area_is_black_in_every_frame_and_thumbnail(porch: dict[str, Run]) -> None:
    plain, masked = porch["plain"], porch["masked"]
    # Without the mask the visitor is seen in that half: it is not black by itself.
    assert plain.clips and any(not c.black for c in check_clip(plain.clips[0], RIGHT_HALF))
    assert masked.events and masked.clips, "motion outside the mask is still recorded"
    for clip in masked.clips:
        checks = check_clip(clip, RIGHT_HALF)  # every frame, decoded
        assert len(checks) >= 15
        assert all(c.black for c in checks), [c for c in checks if not c.black][:3]
        assert all(c.outside_mean > 60 for c in checks), "the rest of the porch is kept"
        thumb = check_jpeg(masked.thumbnail(clip), RIGHT_HALF)
        assert thumb.black and thumb.outside_mean > 60, thumb


def test_motion_inside_a_mask_raises_no_event(porch: dict[str, Run],
                                              tmp_path: Path) -> None:
    assert len(porch["plain"].events) >= 2  # the same scene without the mask
    run = simulate(tmp_path / "run", SCENE, RECORDING + masks(BELOW_LINTEL))
    assert run.events == [] and run.clips == []


def test_the_detector_ignores_masked_areas_even_in_unmasked_pictures() -> None:
    """The detector gets the privacy polygons in its own mask (a camera that paints its
    buffers and a source wrapper are not the only guard)."""
    def events(config: str) -> int:
        cfg = parse_config(config)
        src = open_source(SCENE, cfg.capture, pace=None)  # pictures not masked
        frames = list(src.frames())
        h, w = frames[0].lores.shape
        detector = build.make_detector(cfg, h, w)
        return sum(1 for f in frames
                   if (t := detector.process(f.lores, f.pts).transition) and t.kind == "start")

    assert events("") >= 2
    assert events(masks(BELOW_LINTEL)) == 0


def test_masks_that_leave_nothing_to_watch_are_named() -> None:
    """Which setting leaves nothing to watch, at the picture size the detector is built for
    (`doorcam config check` makes the same check; tests/test_config_checks.py)."""
    left = [[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]]
    half_zone = "[motion]\nzones = [[[0.6, 0.2], [0.9, 0.2], [0.9, 0.8]]]\n"  # right half
    assert build.make_detector(parse_config(masks(left) + half_zone), 180, 320)
    with pytest.raises(MotionError) as err:
        build.make_detector(parse_config(masks([*left, *RIGHT_HALF])), 180, 320)
    assert str(err.value) == ("privacy.masks cover the whole frame: nothing is left to watch "
                              "or record; leave some of the picture uncovered")
    with pytest.raises(MotionError) as err:
        build.make_detector(parse_config(masks(RIGHT_HALF) + half_zone), 180, 320)
    assert str(err.value) == ("motion.zones lie entirely under privacy.masks: nothing of the "
                              "frame is left to watch")


@pytest.fixture(scope="module")
def traffic(test_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    tmp = tmp_path_factory.mktemp("traffic")
    video = str(test_data / "dvrscan" / "traffic_camera.mp4")
    config = f"[motion]\nzones = [{json.dumps(ZONE)}]\n" + RECORDING
    return {"plain": simulate(tmp / "plain", video, config),
            "masked": simulate(tmp / "masked", video, config + masks(TRAFFIC_MASK))}


def test_h264_footage_with_a_mask_is_reencoded_and_masked(
        traffic: dict[str, Run], test_data: Path) -> None:
    source = {p.data for p in traffic_packets(test_data / "dvrscan" / "traffic_camera.mp4")[0]}
    plain, masked = traffic["plain"], traffic["masked"]
    assert len(masked.events) == len(plain.events) >= 2  # the zone is outside the mask
    assert masked.clips
    for clip in masked.clips:
        assert not set(packet_bytes(clip)) & source, "re-encoded, not remuxed"
        checks = check_clip(clip, TRAFFIC_MASK)
        assert len(checks) >= 25
        assert all(c.black for c in checks), [c for c in checks if not c.black][:3]
        assert all(c.outside_mean > 40 for c in checks)
        thumb = check_jpeg(masked.thumbnail(clip), TRAFFIC_MASK)
        assert thumb.black and thumb.outside_mean > 40, thumb


def test_h264_footage_without_masks_is_still_remuxed(
        traffic: dict[str, Run], test_data: Path) -> None:
    source = [p.data for p in traffic_packets(test_data / "dvrscan" / "traffic_camera.mp4")[0]]
    plain = traffic["plain"]
    assert plain.clips
    for clip in plain.clips:
        got = [_unsigned(p) for p in packet_bytes(clip)]
        start = source.index(got[0])
        assert got == source[start:start + len(got)]  # byte-identical but for the signatures
        assert not all(c.black for c in check_clip(clip, TRAFFIC_MASK))


def _unsigned(packet: bytes) -> bytes:
    """A stored packet without the video signatures the device adds at capture."""
    units = split_length_prefixed(packet)
    return join_length_prefixed([u for u in units if not is_media_signing_sei(u)])


@pytest.mark.parametrize("value", [
    "[[0.5, 0.5], [0.6, 0.6]]",  # a polygon, not a list of them
    "[[[0.1, 0.1], [0.9, 0.1]]]",  # two points
    "[[[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]]]",  # outside the frame
    '"street"',
])
def test_bad_masks_are_one_clear_line(value: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(f"[privacy]\nmasks = {value}\n", "doorcam.toml")
    text = str(err.value)
    assert text.startswith("doorcam.toml:2: privacy.masks = ") and "\n" not in text
    assert text.endswith("a list of polygons, each a list of at least 3 [x, y] points with "
                         "0 <= x, y <= 1")


def test_without_masks_sources_are_opened_as_they_are() -> None:
    cfg = parse_config("")
    src = build.open_frames(cfg, SCENE, None)
    assert type(src).__name__ == "SyntheticSource"
    assert not PrivacyMask(cfg.privacy.masks)
    masked = build.open_frames(parse_config(masks(RIGHT_HALF)), SCENE, None)
    assert masked.info.codec == "rawvideo"
