"""Config loading: defaults, located errors, the example file tracks the schema."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from config import Config, ConfigError, load_config, parse_config
from config.example import render_effective, render_example, toml_value
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[store]\npath = "/var/lib/door\\u0000cam"\n',
         "c.toml:2: store.path = '/var/lib/door\\x00cam': must not contain a NUL character "
         "(\\u0000)"),
        ('[web]\ntrusted_origins = ["https://door.example\\u0000"]\n',
         "c.toml:2: web.trusted_origins = ['https://door.example\\x00']: must not contain a "
         "NUL character (\\u0000)"),
        ('[mqtt]\npassword = "pw\\u0000"\n',
         "c.toml:2: mqtt.password: must not contain a NUL character (\\u0000)"),
        ("# porch\nthreshold = 30\n[motion]\nblur = 3\n",
         "c.toml:2: threshold = 30: a setting outside any [section]; it belongs under [motion]"),
        ("port = 1884\n", "c.toml:1: port = 1884: a setting outside any [section]; it belongs "
         "under [mqtt] or [owner_mqtt]"),
        ("\n[[motion]]\nthreshold = 3\n",
         "c.toml:2: motion = [{'threshold': 3}]: must be a table, e.g. [motion]"),
        ("[motion.x]\na = 1\n", "c.toml:1: motion.x = {'a': 1}: unknown key; known in [motion]"),
        ('[motion]\n\n"threshold" = 300\n',
         "c.toml:3: motion.threshold = 300: must be between 1 and 254"),
    ],
)
def test_odd_input_is_named_with_its_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.toml")
    assert str(info.value.problems[0]).startswith(expected), info.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[motion]\nthreshold\u00a0= 30\n",
         "c.toml:2: (syntax): not valid TOML: Expected '=' after a key in a key/value pair (at "
         "line 2, column 10); column 10 is NO-BREAK SPACE (U+00A0), not ASCII: type it again"),
        ("[m\u043etion]\nthreshold = 30\n",
         "column 3 is CYRILLIC SMALL LETTER O (U+043E), not ASCII: type it again"),
        ("[motion]\nthreshold = \uff13\uff10\n",
         "column 13 is FULLWIDTH DIGIT THREE (U+FF13), not ASCII: type it again"),
    ],
)
def test_a_lookalike_character_is_named(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.toml")
    assert str(info.value).endswith(expected), info.value


def test_a_byte_order_mark_is_no_syntax_error(tmp_path: Path) -> None:
    """Editors on Windows write one; it was `Invalid statement (at line 1, column 1)`."""
    conf = tmp_path / "doorcam.toml"
    conf.write_bytes(b"\xef\xbb\xbf[motion]\r\nthreshold = 30\r\n")
    assert load_config(conf).motion.threshold == 30
    conf.write_bytes(b"\xef\xbb\xbf[motion]\r\nthreshold = 300\r\n")
    with pytest.raises(ConfigError) as info:
        load_config(conf)
    assert str(info.value) == f"{conf}:2: motion.threshold = 300: must be between 1 and 254"


def test_nul_in_a_path_is_refused_by_config_check(tmp_path: Path) -> None:
    conf = tmp_path / "doorcam.toml"
    conf.write_text('[store]\npath = "/tmp/\\u0000"\n', encoding="utf-8")
    done = _doorcam("config", "check", str(conf))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == (f"doorcam: config error: {conf}:2: store.path = '/tmp/\\x00': "
                                   "must not contain a NUL character (\\u0000)")


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
    with pytest.raises(ConfigError, match=r"bin.toml:1: \(file\): not UTF-8 text \(byte 0xff\)"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r": \(file\): cannot be read: Is a directory$"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="larger than 1024 KiB: not a doorcam config file"):
        load_config("/dev/zero")  # endless: read no further than the limit


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


def test_retired_key_is_ignored_with_a_warning_naming_file_key_and_replacement(
        tmp_path: Path) -> None:
    conf = tmp_path / "doorcam.toml"
    conf.write_text(f'[store]\npath = "{tmp_path}/store"\n[mqtt]\nport = 1884\n'
                    'owner_topic = "home/door"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mqtt\.owner_topics = 'x': unknown key"):
        parse_config('[mqtt]\nowner_topics = "x"\n')  # only the retired name is let through
    done = _doorcam("config", "check", str(conf))
    assert done.returncode == 0, done.stderr
    warnings = [ln for ln in done.stdout.splitlines() if ln.startswith("warning: ")]
    assert warnings == [f"warning: {conf}:5: mqtt.owner_topic = 'home/door': ignored: the "
                        "owner's channel is on the home broker now: use [owner_mqtt] (its "
                        "owner_topic)"], done.stdout
    assert load_config(conf).mqtt.port == 1884, "the rest of the section still applies"


def test_both_broker_sections_share_the_connection_settings() -> None:
    from config.broker import BrokerConnection
    from config.mqtt import MqttConfig
    from config.owner_mqtt import OwnerMqttConfig

    shared = {"host": "broker.home", "port": 8883, "username": "door", "password": "pw",
              "tls": True, "ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem",
              "keepalive_s": 45}
    assert set(shared) | {"client_id"} == {f.name for f in fields(BrokerConnection)}
    text = "".join(f"{k} = {toml_value(v)}\n" for k, v in shared.items())
    cfg = parse_config(f"[mqtt]\n{text}[owner_mqtt]\n{text}")
    for section in (cfg.mqtt, cfg.owner_mqtt):
        assert {k: getattr(section, k) for k in shared} == shared
    assert "pw" not in repr(cfg.mqtt) and "pw" not in repr(cfg.owner_mqtt)
    link = cfg.owner_mqtt.link_config("porch")
    assert isinstance(link, MqttConfig) and isinstance(cfg.owner_mqtt, OwnerMqttConfig)
    assert {k: getattr(link, k) for k in shared} == shared
    assert link.client_id == "doorcam-porch-home" and link.max_packet_kb == 1024
    # The same bounds and words in both sections.
    for section in ("mqtt", "owner_mqtt"):
        with pytest.raises(ConfigError) as info:
            parse_config(f"[{section}]\nkeepalive_s = 2\nport = 0\n", "c.toml")
        assert [str(p) for p in info.value.problems] == [
            f"c.toml:2: {section}.keepalive_s = 2: must be between 5 and 3600",
            f"c.toml:3: {section}.port = 0: must be between 1 and 65535"]
