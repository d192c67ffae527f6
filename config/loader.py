"""Load and validate the TOML config; report every problem at once with file and line."""

from __future__ import annotations

import dataclasses
import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from common import read_at_most
from config.fields import num
from config.schema import SECTIONS, Config
from config.uplink import default_device_id


@dataclasses.dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    key: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        shown = "" if self.value is _MISSING else f" = {_show(self.value)}"
        return f"{where}: {self.key}{shown}: {self.allowed}"


class ConfigError(Exception):
    """The config file cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


_MISSING = object()
MAX_CONFIG_BYTES = 1024 * 1024  # the example, every setting documented, is under 40 KiB


@dataclasses.dataclass(frozen=True)
class ConfigFile:
    """Where a loaded config came from, so later checks can name the file and line."""

    name: str
    lines: _KeyLines
    # Settings that are read but ignored (retired keys): worth a warning, not a refusal.
    warnings: tuple[Problem, ...] = ()

    def problem(self, section: str, key: str, value: Any, allowed: str) -> Problem:
        """A problem with `[section] key`; its line, or the section's, or none if unset."""
        line = self.lines.find(section, key) or self.lines.find(section, None)
        return Problem(self.name, line, f"{section}.{key}", value, allowed)


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value).lower() if isinstance(
        value, bool) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def load_config(path: str | Path | None) -> Config:
    """Read `path` (None = all defaults) and return a validated Config."""
    return load_config_file(path)[0]


def load_config_file(path: str | Path | None) -> tuple[Config, ConfigFile]:
    """The validated Config and where each of its keys is set (for later checks)."""
    if path is None:
        return with_device_id(Config()), ConfigFile("(built-in defaults)", _KeyLines(""))
    p = Path(path)

    def refused(why: str, line: int | None = None) -> ConfigError:
        return ConfigError([Problem(str(p), line, "(file)", _MISSING, why)])

    try:
        data = read_at_most(p, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise refused("no such file") from None
    except OSError as exc:
        raise refused(f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise refused(f"larger than {MAX_CONFIG_BYTES // 1024} KiB: not a doorcam config file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise refused(f"not UTF-8 text (byte 0x{data[exc.start]:02x}): a config file is "
                      "TOML text", line) from None
    cfg, warnings = _parse(text, str(p))
    return cfg, ConfigFile(str(p), _KeyLines(text), tuple(warnings))


def with_device_id(cfg: Config) -> Config:
    """`[device] id` left empty becomes the id derived from this machine."""
    if cfg.device.id:
        return cfg
    return dataclasses.replace(cfg, device=dataclasses.replace(cfg.device,
                                                               id=default_device_id()))


def parse_config(text: str, filename: str = "<config>") -> Config:
    return _parse(text, filename)[0]


def _parse(text: str, filename: str) -> tuple[Config, list[Problem]]:
    """The validated Config and the warnings about it (retired keys, which it ignores)."""
    # Editors on Windows start UTF-8 files with a byte order mark; it means nothing here.
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"at line (\d+), column (\d+)", msg)
        line = int(m.group(1)) if m else None
        hint = _lookalike(text, line, int(m.group(2))) if m else ""
        raise ConfigError([Problem(filename, line, "(syntax)", _MISSING,
                                   f"not valid TOML: {msg}{hint}")]) from None
    lines = _KeyLines(text)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name not in SECTIONS and not isinstance(value, dict):
            problems.append(Problem(filename, lines.find(None, name), name, value,
                                    _outside_sections(name)))
        elif name not in SECTIONS:
            problems.append(Problem(filename, lines.find(name, None), name, _MISSING,
                                    f"unknown section; known: {', '.join(SECTIONS)}"))
        elif not isinstance(value, dict):
            problems.append(Problem(filename, lines.find(None, name) or lines.find(name, None),
                                    name, value, "must be a table, e.g. [" + name + "]"))
        else:
            sections[name] = _section(SECTIONS[name], name, value, filename, lines, problems,
                                      warnings)
    if problems:
        raise ConfigError(problems)
    cfg = Config(**sections)
    problems.extend(_cross_checks(cfg, filename, lines))
    if problems:
        raise ConfigError(problems)
    return with_device_id(cfg), warnings


def _section(cls: type, name: str, raw: dict[str, Any], filename: str,
             lines: _KeyLines, problems: list[Problem], warnings: list[Problem]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    # A section lists the keys it no longer has, each with what replaces it, in RETIRED.
    retired: dict[str, str] = getattr(cls, "RETIRED", {})
    values: dict[str, Any] = {}
    for key, value in raw.items():
        full = f"{name}.{key}"
        f = fields.get(key)
        if f is None and key in retired:
            warnings.append(Problem(filename, lines.find(name, key), full, value,
                                    f"ignored: {retired[key]}"))
            continue
        if f is None:
            problems.append(Problem(filename, lines.find(name, key), full, value,
                                    f"unknown key; known in [{name}]: {', '.join(fields)}"))
            continue
        why = _check(f, value)
        if why:
            # A secret (a password) is never echoed: errors reach the journal and files.
            shown = value if f.repr else _MISSING
            problems.append(Problem(filename, lines.find(name, key), full, shown, why))
        else:
            values[key] = float(value) if f.type == "float" else value
    return cls(**values)


def _check(f: dataclasses.Field[Any], value: Any) -> str | None:
    meta = f.metadata
    kind = f.type
    if kind == "bool" and not isinstance(value, bool):
        return "must be true or false"
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        return "must be a whole number"
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return "must be a number"
    if kind == "str" and not isinstance(value, str):
        return "must be a string"
    if _holds_nul(value):
        # No path, host, topic or key can hold one (the OS refuses it when it is used).
        return "must not contain a NUL character (\\u0000)"
    if meta.get("choices") and value not in meta["choices"]:
        return "must be one of " + ", ".join(repr(c) for c in meta["choices"])
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None and not lo <= value <= hi:
        return f"must be between {num(lo)} and {num(hi)}"
    if meta.get("check"):
        return meta["check"](value)
    return None


def _lookalike(text: str, line: int | None, column: int) -> str:
    """Where TOML stopped at a character that is not ASCII (a no-break space, a Cyrillic о
    or a full-width digit that looks like the ASCII one): its name, else nothing."""
    lines = text.splitlines()
    if line is None or not 1 <= line <= len(lines) or not 1 <= column <= len(lines[line - 1]):
        return ""
    ch = lines[line - 1][column - 1]
    if ch.isascii():
        return ""
    return (f"; column {column} is {unicodedata.name(ch, 'a character')} (U+{ord(ch):04X}), "
            "not ASCII: type it again")


def _outside_sections(key: str) -> str:
    """For a key set before any [section] header: the section(s) that have it, if any."""
    owners = [n for n, cls in SECTIONS.items()
              if key in {f.name for f in dataclasses.fields(cls)}]
    where = (f"it belongs under {' or '.join(f'[{n}]' for n in owners)}" if owners
             else f"sections: {', '.join(SECTIONS)}")
    return f"a setting outside any [section]; {where}"


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\0" in value
    return isinstance(value, list) and any(_holds_nul(v) for v in value)


def _cross_checks(cfg: Config, filename: str, lines: _KeyLines) -> list[Problem]:
    out = []
    m, r = cfg.motion, cfg.recording
    if m.persistence > m.persistence_window:
        out.append(Problem(filename, lines.find("motion", "persistence"), "motion.persistence",
                           m.persistence, f"must not exceed motion.persistence_window "
                           f"({m.persistence_window})"))
    if r.keyframe_interval_seconds > r.pre_roll_seconds:
        out.append(Problem(
            filename, lines.find("recording", "keyframe_interval_seconds"),
            "recording.keyframe_interval_seconds", r.keyframe_interval_seconds,
            f"longer than the pre-roll can hold (recording.pre_roll_seconds = "
            f"{r.pre_roll_seconds:g}); a clip could not start on a keyframe: make it "
            f"<= {r.pre_roll_seconds:g}"))
    b = cfg.doorbell
    if b.chime_pin == b.pin:
        out.append(Problem(filename, lines.find("doorbell", "chime_pin"), "doorbell.chime_pin",
                           b.chime_pin, "is the button's pin (doorbell.pin): the chime relay "
                           "needs a pin of its own"))
    if cfg.homeassistant.enabled and not cfg.owner_mqtt.enabled:
        out.append(Problem(
            filename, lines.find("homeassistant", "enabled"), "homeassistant.enabled", True,
            "needs [owner_mqtt] enabled: Home Assistant is reached only through the home "
            "broker, never the agency broker of [mqtt]; set [owner_mqtt] enabled = true with "
            "its host, or turn [homeassistant] off"))
    u, d = cfg.uplink, cfg.device
    if u.enabled and not u.registry_key:
        out.append(Problem(filename, lines.find("uplink", "enabled"), "uplink.enabled", True,
                           "needs uplink.registry_key: the key of the registry you trust"))
    if u.enabled and d.latitude == 0.0 and d.longitude == 0.0:
        out.append(Problem(filename, lines.find("uplink", "enabled"), "uplink.enabled", True,
                           "needs device.latitude and device.longitude: requests are "
                           "matched against the camera's location"))
    return out


class _KeyLines:
    """Best-effort map of (table, key) to the 1-based line that sets it."""

    _header = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]")  # [t], [[t]], [t.sub]
    _key = re.compile(r"^\s*[\"']?([A-Za-z0-9_.-]+)[\"']?\s*=")  # key, "key", 'key' =

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[str | None, str | None], int] = {}
        table: str | None = None
        for no, line in enumerate(text.splitlines(), 1):
            h = self._header.match(line)
            if h:
                table = h.group(1)
                self._lines.setdefault((table, None), no)
                if "." in table:  # [motion.x] sets key x of [motion]
                    parent, _, sub = table.rpartition(".")
                    self._lines.setdefault((parent, sub), no)
                continue
            k = self._key.match(line)
            if k:
                key = k.group(1)
                if table is None and "." in key:
                    t, _, key = key.partition(".")
                    self._lines.setdefault((t, key), no)
                self._lines.setdefault((table, key), no)

    def find(self, table: str | None, key: str | None) -> int | None:
        return self._lines.get((table, key))
