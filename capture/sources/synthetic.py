"""Generated porch scenes with known ground truth: synthetic:NAME?seconds=&fps=&size=&seed=."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import cv2
import numpy as np

from capture.frame import Frame, Packet, SourceError, StreamInfo
from capture.sources.base import Clock, lores_size, run_passes
from capture.sources.light import light_field, vignette
from capture.sources.night import (
    AMBIENT,
    NIGHT_NOISE_MEAN,
    NIGHT_NOISE_SIGMA,
    NIGHT_SCENES,
    VIGNETTE,
    make_night_albedo,
)
from capture.sources.scene import (
    NOISE_MEAN,
    apply_shadow,
    draw_person,
    make_background,
    make_noise_tile,
    person_visible,
    shadow_band,
)
from capture.sources.scripts import DAY_SCENES, Script, State, looks
from capture.sources.stamp import StampedImage

NOISE_SIGMA = 3.0  # sensor noise at full resolution, in gray levels
SCENES: dict[str, Script] = {**DAY_SCENES, **NIGHT_SCENES}


@dataclass(frozen=True)
class Params:
    scene: str
    seconds: float
    fps: float
    width: int
    height: int
    seed: int
    stamp: bool = False  # paint each frame's capture time into the picture (delay tests)


def parse_spec(spec: str, default_fps: float = 0.0) -> Params:
    """Parse 'synthetic:NAME?seconds=60&fps=15&size=1920x1080&seed=3'."""
    body = spec.removeprefix("synthetic:")
    name, _, query = body.partition("?")
    name = name or "porch"
    if name not in SCENES:
        raise SourceError(f"{spec}: unknown synthetic scene {name!r} "
                          f"(known: {', '.join(SCENES)})")
    opts = dict(parse_qsl(query, keep_blank_values=True))
    unknown = set(opts) - {"seconds", "fps", "size", "seed", "stamp"}
    if unknown:
        raise SourceError(f"{spec}: unknown parameter(s) {', '.join(sorted(unknown))} "
                          "(use seconds, fps, size, seed, stamp)")
    if opts.get("stamp", "0") not in ("0", "1"):
        raise SourceError(f"{spec}: stamp is 0 or 1 (1 paints each frame's capture time)")
    try:
        seconds = float(opts.get("seconds", SCENES[name].period))
        fps = float(opts.get("fps", default_fps or 15.0))
        w, _, h = opts.get("size", "640x480").lower().partition("x")
        width, height, seed = int(w), int(h), int(opts.get("seed", 0))
    except ValueError as e:
        raise SourceError(f"{spec}: bad parameter value ({e}): seconds and fps are numbers, "
                          "size is WIDTHxHEIGHT, seed is a whole number") from e
    if not (0 < seconds <= 86400 and 0 < fps <= 240 and 16 <= width <= 7680
            and 16 <= height <= 4320):
        raise SourceError(f"{spec}: need 0 < seconds <= 86400, 0 < fps <= 240, "
                          "size from 16x16 to 7680x4320")
    if seed < 0:
        raise SourceError(f"{spec}: seed is a whole number 0 or more")
    return Params(name, seconds, fps, width, height, seed, opts.get("stamp") == "1")


class SyntheticImage:
    """The full-resolution BGR picture, rendered on first request."""

    __slots__ = ("_bgr", "_seq", "_src", "_state")

    def __init__(self, src: SyntheticSource, seq: int, state: State) -> None:
        self._src, self._seq, self._state = src, seq, state
        self._bgr: np.ndarray | None = None

    def to_bgr(self) -> np.ndarray:
        if self._bgr is None:
            self._bgr = self._src.render_main(self._seq, self._state)
        return self._bgr


@dataclass(slots=True)
class _Raw:
    pts: float
    gray: np.ndarray
    main: SyntheticImage
    packets: list[Packet] = field(default_factory=list)


class SyntheticSource:
    """A deterministic scene (per seed) drawn with numpy and cv2, with ground truth.

    lores is drawn directly at lores size (cheap); main is drawn only when asked.
    `visits` lists (first, last) frames in which a person is visible and moving,
    `light_changes` the frames of sudden exposure jumps.
    """

    def __init__(self, spec: str, width: int, *, loop: bool = False, fps: float = 0.0,
                 pace: float | None = None) -> None:
        p = self.params = parse_spec(spec, fps)
        self._script = SCENES[p.scene]
        self.count = max(1, round(p.seconds * p.fps))
        self._info = StreamInfo(p.width, p.height, p.fps, "synthetic", frames=self.count,
                                name=spec)
        self._size = lores_size(p.width, p.height, width)
        big = (2 * self._size[0], 2 * self._size[1])
        self._night = self._script.night
        if self._night:
            self._bg = make_night_albedo(p.width, p.height, p.seed)
            gray, sigma, mean, channels = self._bg, NIGHT_NOISE_SIGMA, NIGHT_NOISE_MEAN, 1
            self._ambient = vignette(p.width, p.height, VIGNETTE) * np.float32(AMBIENT)
            self._ambient_lo = vignette(*big, VIGNETTE) * np.float32(AMBIENT)
        else:
            self._bg = make_background(p.width, p.height, p.seed)
            gray = cv2.cvtColor(self._bg, cv2.COLOR_BGR2GRAY)
            sigma, mean, channels = NOISE_SIGMA, NOISE_MEAN, 3
            self._band = shadow_band(p.width, p.height, 3)
            self._band_lo = shadow_band(*big, 1)
        # lores is drawn at twice its size and area-averaged, like a downscaled main image
        self._bg_lo = cv2.resize(gray, big, interpolation=cv2.INTER_AREA)
        self._noise_mean = mean
        self._noise = make_noise_tile(p.width, p.height, channels, sigma, p.seed + 1, mean)
        sigma_lo = sigma * big[0] / p.width  # area averaging shrinks noise
        self._noise_lo = make_noise_tile(*big, 1, max(1.0, sigma_lo), p.seed + 2, mean)
        self._loop = loop
        self._clock = Clock(pace)
        aspect = p.width / p.height
        self._truth = np.array([any(person_visible(pose, aspect) for pose, _ in
                                    self.state(i).people) for i in range(self.count)])
        self.visits = _runs(self._truth)
        self.light_changes = sorted(
            round((k * self._script.period + j) * p.fps) for k in range(self._cycles())
            for j in self._script.jumps if (k * self._script.period + j) * p.fps < self.count)

    @property
    def info(self) -> StreamInfo:
        return self._info

    def truth(self, seq: int) -> bool:
        """Whether a person is visible and moving in frame seq (seq wraps when looping)."""
        return bool(self._truth[seq % self.count])

    def state(self, seq: int) -> State:
        t = (seq % self.count) / self.params.fps
        cycle, local = divmod(t, self._script.period)
        return self._script.state(local, looks(self.params.seed, int(cycle), self._night))

    def frames(self) -> Iterator[Frame]:
        frames = run_passes(self._pass, loop=self._loop, frame_time=1.0 / self.params.fps,
                            clock=self._clock, size=self._size)
        if not self.params.stamp:
            return frames
        return (dataclasses.replace(f, main=StampedImage(f.main, f.wall)) for f in frames)

    def close(self) -> None:
        pass

    def render_main(self, seq: int, state: State) -> np.ndarray:
        if self._night:
            gray = self._render_night(self._bg, self._noise, self._ambient, seq, state)
            return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        return self._render(self._bg, self._noise, self._band, seq, state)

    def _pass(self, offset: float) -> Iterator[_Raw]:
        for seq in range(self.count):
            st = self.state(seq)
            if self._night:
                big = self._render_night(self._bg_lo, self._noise_lo, self._ambient_lo, seq, st)
            else:
                big = self._render(self._bg_lo, self._noise_lo, self._band_lo, seq, st)
            lo = cv2.resize(big, self._size, interpolation=cv2.INTER_AREA)
            yield _Raw(offset + seq / self.params.fps, lo, SyntheticImage(self, seq, st))

    def _render(self, bg: np.ndarray, noise: np.ndarray, band: np.ndarray, seq: int,
                st: State) -> np.ndarray:
        out = cv2.addWeighted(bg, st.gain, self._noise_crop(noise, seq, bg.shape), 1.0,
                              -NOISE_MEAN)
        for pose, look in st.people:
            draw_person(out, pose, look, st.gain)
        if st.shadow is not None:
            apply_shadow(out, band, st.shadow)
        return out

    def _render_night(self, albedo: np.ndarray, noise: np.ndarray, ambient: np.ndarray,
                      seq: int, st: State) -> np.ndarray:
        """People are drawn into the albedo, so the light falls on them as on the porch."""
        out = albedo.copy()
        for pose, look in st.people:
            draw_person(out, pose, look, 1.0)
        lit = out * light_field(ambient, st.lights, st.gain)
        lit += self._noise_crop(noise, seq, albedo.shape)
        lit -= self._noise_mean
        np.clip(lit, 0, 255, out=lit)
        return lit.astype(np.uint8)

    def _noise_crop(self, noise: np.ndarray, seq: int, shape: tuple[int, ...]) -> np.ndarray:
        h, w = shape[:2]
        mix = (seq * 2654435761 + self.params.seed * 40503) & 0xFFFFFFFF
        dy, dx = mix % 64, (mix >> 8) % 64
        return noise[dy : dy + h, dx : dx + w]

    def _cycles(self) -> int:
        return int(self.count / self.params.fps // self._script.period) + 1


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
