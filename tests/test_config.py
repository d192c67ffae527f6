"""Config loading: defaults, located errors, the example file tracks the schema."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from config import Config, ConfigError, load_config, parse_config
from config.example import render_effective, render_example
from config.loader import with_device_id

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config" / "doorcam.example.toml"


def test_defaults_without_file() -> None:
    assert load_config(None) == with_device_id(Config())


def test_example_file_matches_schema() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == render_example(), (
        "config/doorcam.example.toml drifted from config/schema.py; regenerate with "
        "`doorcam config example > config/doorcam.example.toml`")


def test_example_file_loads_to_defaults() -> None:
    assert load_config(EXAMPLE) == with_device_id(Config())


def test_effective_config_round_trips() -> None:
    cfg = parse_config("[motion]\nthreshold = 40\nzones = [[[0, 0], [1, 0], [1, 1]]]\n")
    again = parse_config(render_effective(cfg))
    assert again == cfg
    assert again.motion.threshold == 40


def test_all_errors_at_once_with_file_line_key_value(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(
        "[capture]\nlores_width = 10\n\n[motion]\nthreshold = 300\nblur = 4\nfoo = 1\n"
        "mask = [[[0, 0], [2, 0], [1, 1]]]\n[nonsense]\nx = 1\n",
        encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(f)
    text = [str(p) for p in info.value.problems]
    assert len(text) == 6, text
    assert text[0] == f"{f}:2: capture.lores_width = 10: must be between 64 and 1280"
    assert f"{f}:5: motion.threshold = 300: must be between 1 and 254" in text
    assert f"{f}:6: motion.blur = 4: 0 (off) or an odd number" in text
    assert any(t.startswith(f"{f}:7: motion.foo = 1: unknown key") for t in text)
    assert any(t.startswith(f"{f}:8: motion.mask = ") and "0 <= x, y <= 1" in t for t in text)
    assert any(t.startswith(f"{f}:9: nonsense: unknown section") for t in text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[motion]\nthreshold = 'high'\n", "motion.threshold = 'high': must be a whole number"),
        ("[motion]\nthreshold = true\n", "must be a whole number"),
        ("[capture]\nloop = 1\n", "capture.loop = 1: must be true or false"),
        ("[recording]\npreset = 'slowest'\n", "must be one of 'ultrafast'"),
        ("[motion]\npersistence = 6\npersistence_window = 4\n",
         "motion.persistence = 6: must not exceed motion.persistence_window (4)"),
        ("[recording]\npre_roll_seconds = 1.0\nkeyframe_interval_seconds = 2.0\n",
         "longer than the pre-roll can hold"),
        ("motion = 3\n", "motion = 3: must be a table"),
        ("[motion\n", "not valid TOML"),
    ],
)
def test_specific_messages(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.toml")
    assert fragment in str(info.value)


def test_keyframe_error_names_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("[recording]\npre_roll_seconds = 1.0\n\nkeyframe_interval_seconds = 2.0\n",
                     "c.toml")
    assert str(info.value).startswith("c.toml:4: recording.keyframe_interval_seconds = 2.0")


def test_missing_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe[motion]")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(bad)


def test_ints_accepted_for_floats() -> None:
    cfg = parse_config("[recording]\npre_roll_seconds = 4\n")
    assert isinstance(cfg.recording.pre_roll_seconds, float)


def _doorcam(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "device.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_cli_config_check_and_show(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[motion]\nthreshold = 30\n", encoding="utf-8")
    done = _doorcam("config", "check", str(good))
    assert done.returncode == 0 and "ok" in done.stdout
    shown = _doorcam("config", "show", "--config", str(good))
    assert shown.returncode == 0
    assert tomllib.loads(shown.stdout)["motion"]["threshold"] == 30
    bad = tmp_path / "bad.toml"
    bad.write_text("[motion]\nthreshold = 0\n", encoding="utf-8")
    done = _doorcam("config", "check", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"doorcam: config error: {bad}:2: motion.threshold = 0: must be between 1 and 254")
    assert "Traceback" not in done.stderr
