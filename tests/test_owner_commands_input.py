"""The owner's and agency's commands on input a new user gives them: real `doorcam` runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from config import StoreConfig
from tests.broker import free_port
from tests.daemon_proc import DaemonRun
from uplink.protocol import public_key_from_text
from uplink.protocol.registry import parse_registry

REPO = Path(__file__).resolve().parent.parent


def _doorcam(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "device.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _one_line(done: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real store with clips, recorded by the simulation."""
    root = tmp_path_factory.mktemp("owner") / "store"
    done = _doorcam("simulate", "synthetic:approach?size=320x240", "--store", str(root))
    assert done.returncode == 0, done.stderr
    return root


def test_clips_list_json_has_paths_and_iso_times(store: Path) -> None:
    done = _doorcam("clips", "list", "--json", "--store", str(store))
    assert done.returncode == 0, done.stderr
    clips = json.loads(done.stdout)
    assert clips, "the simulation stored no clip"
    for c in clips:
        assert Path(c["path"]).is_file() and Path(c["path"]).suffix == ".mp4"
        assert Path(c["thumbnail"]).is_file()
        for key in ("start_wall", "end_wall", "created"):
            parsed = datetime.fromisoformat(c[f"{key}_iso"])
            assert parsed.utcoffset() is not None
            assert abs(parsed.timestamp() - c[key]) < 1
    limited = json.loads(_doorcam("clips", "list", "--json", "--limit", "1", "--store",
                                  str(store)).stdout)
    assert len(limited) == 1


def test_a_limit_beyond_any_store_lists_every_clip(store: Path) -> None:
    every = json.loads(_doorcam("clips", "list", "--json", "--store", str(store)).stdout)
    done = _doorcam("clips", "list", "--json", "--limit", "9" * 20, "--store", str(store))
    assert done.returncode == 0, done.stderr  # it was SQLite's OverflowError
    assert json.loads(done.stdout) == every


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_limit_below_one_is_refused(limit: str, store: Path) -> None:
    line = _one_line(_doorcam("clips", "list", "--limit", limit, "--store", str(store)))
    assert line == f"doorcam: --limit must be 1 or more, not {limit}"


@pytest.mark.parametrize("command", [
    ["clips", "list"], ["clips", "show", "20260101T000000Z-abcdef"], ["requests", "list"],
    ["requests", "show", "9b2f0f7e-0a57-4d5b-a0a4-6f1b6d1e3c11"], ["audit", "show"],
    ["audit", "verify"],
])
def test_read_only_command_on_a_mistyped_store_creates_nothing(
        command: list[str], tmp_path: Path) -> None:
    typo = tmp_path / "sotre"
    line = _one_line(_doorcam(*command, "--store", str(typo)))
    expected = (f"doorcam: no audit log at {typo}" if command[0] == "audit"
                else f"doorcam: store: no clip store at {typo}")
    assert line.startswith(expected) and "check --store" in line, line
    assert not typo.exists()


def test_deleting_a_held_clip_needs_force(store: Path) -> None:
    from device.store import ClipStore

    with ClipStore(StoreConfig(path=str(store)), recover=False) as s:
        clip = s.list()[-1].id
        s.set_held(clip, True)  # as the request desk holds a clip a pending request matched
    line = _one_line(_doorcam("clips", "delete", clip, "--store", str(store)))
    assert line.startswith(f"doorcam: clip {clip} is held: an agency request awaiting"), line
    assert "--force" in line
    listed = json.loads(_doorcam("clips", "list", "--json", "--store", str(store)).stdout)
    assert clip in [c["id"] for c in listed], "refused, yet deleted"
    done = _doorcam("clips", "delete", clip, "--force", "--store", str(store))
    assert done.returncode == 0, done.stderr
    listed = json.loads(_doorcam("clips", "list", "--json", "--store", str(store)).stdout)
    assert clip not in [c["id"] for c in listed]


@pytest.fixture(scope="module")
def registry_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    keys = tmp_path_factory.mktemp("regkeys")
    done = _doorcam("agency", "keygen", "--kid", "reg-1", "--out", str(keys))
    assert done.returncode == 0, done.stderr
    return keys / "reg-1.key", done.stdout.strip()


AGENCY_KEY = "A" * 43


def test_registry_takes_the_documented_agency_form(
        registry_key: tuple[Path, str], tmp_path: Path) -> None:
    key, public = registry_key
    documented = [{
        "id": "nypd-84", "name": "84th Precinct",
        "keys": [{"kid": "nypd-84-2025", "public_key": AGENCY_KEY,
                  "valid_from": "2025-03-17T15:06:40Z", "valid_until": "2099-04-11T15:06:40Z",
                  "revoked": False}],
        "jurisdiction": {"lat": "40.6900000", "lon": "-73.9900000", "radius_m": 20000},
        "upload_hosts": ["evidence.example.gov", "upload.example.gov:8443"]},
        {"id": "pd-2", "name": "Second", "keys": [{"kid": "pd-2-a", "public_key": AGENCY_KEY}],
         "jurisdiction": {"geohash_prefixes": ["dr5r"]}, "upload_hosts": ["e.example.org"]}]
    short = [{"id": "pd-3", "name": "Third", "keys": [f"pd-3-a:{AGENCY_KEY}"],
              "upload_hosts": ["x.example.org"], "lat": 40.7, "lon": -73.9, "radius_m": 5000}]
    for n, agencies in enumerate((documented, short, {"agencies": documented})):
        src, out = tmp_path / f"agencies{n}.json", tmp_path / f"registry{n}.json"
        src.write_text(json.dumps(agencies))
        done = _doorcam("agency", "registry", "--key", str(key), "--kid", "reg-1",
                        "--agencies", str(src), "--version", "3", "--out", str(out))
        assert done.returncode == 0, done.stderr
        reg = parse_registry(out.read_bytes(), public_key_from_text(public), time.time())
        assert reg.version == 3 and len(reg.agencies) == len(
            agencies["agencies"] if isinstance(agencies, dict) else agencies)


@pytest.mark.parametrize("text", [
    "not json", "[1, 2]", '{"agencies": 5}', '[{"id": "pd-1"}]',
    '[{"id": "pd-1", "name": "x", "keys": [{"kid": "k"}], "jurisdiction": {},'
    ' "upload_hosts": []}]',
    '[{"id": "pd-1", "name": "x", "keys": ["nocolon"], "upload_hosts": [], "lat": "a",'
    ' "lon": 0, "radius_m": 1}]',
])
def test_registry_bad_input_is_one_line(text: str, registry_key: tuple[Path, str],
                                        tmp_path: Path) -> None:
    key, _ = registry_key
    src = tmp_path / "agencies.json"
    src.write_text(text)
    line = _one_line(_doorcam("agency", "registry", "--key", str(key), "--kid", "reg-1",
                              "--agencies", str(src), "--version", "1", "--out",
                              str(tmp_path / "r.json")))
    assert line.startswith(f"doorcam: {src}: "), line
    assert not (tmp_path / "r.json").exists()


def _sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.DOTALL)


def test_readme_commands_are_safe_to_paste() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for block in _sh_blocks(readme):
        for line in block.splitlines():
            code = line.split(" #", 1)[0]
            if not re.search(r"\bdoorcam\b", code):
                continue
            assert not re.search(r"\s\|\s", code), f"reads like a pipe: {line}"
            unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "", code)
            assert "?" not in unquoted and "&" not in unquoted.replace("&&", ""), \
                f"quote the URL: {line}"


def test_daemon_start_logs_no_recovery_skipped(registry_key: tuple[Path, str],
                                               tmp_path: Path) -> None:
    """The request desk and the recorder open the store in their own threads: the second
    opener's skipped recovery is no news (the daemon recovered it before either started)."""
    public, registry = _signed_registry(registry_key, tmp_path)
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text('[capture]\nsource = "synthetic:porch?size=320x240"\nloop = true\n'
                   f'[store]\npath = "{tmp_path}/store"\n'
                   '[device]\nlatitude = 40.7\nlongitude = -73.9\n'
                   f'[uplink]\nenabled = true\nregistry_key = "{public}"\n'
                   f'registry_file = "{registry}"\n[mqtt]\nport = {free_port()}\n')
    daemon = DaemonRun(cfg)
    try:
        daemon.wait_for_line("doorcam running", 60)
        daemon.wait_for_line("cannot reach the MQTT broker at 127.0.0.1:", 60)
        daemon.wait_for_line("clip stored", 60)  # the capture side has opened the store
        code = daemon.stop()
    finally:
        daemon.kill()
    assert code == 0, daemon.stderr
    assert "recovery skipped" not in daemon.stderr


def _signed_registry(registry_key: tuple[Path, str], tmp_path: Path) -> tuple[str, Path]:
    """A registry of one agency signed with the test's registry key: (its public key, file)."""
    key, public = registry_key
    src, registry = tmp_path / "agencies.json", tmp_path / "registry.json"
    src.write_text(json.dumps([{"id": "pd-3", "name": "Third", "keys": [f"pd-3-a:{AGENCY_KEY}"],
                                "upload_hosts": ["x.example.org"], "lat": 40.7, "lon": -73.9,
                                "radius_m": 5000}]))
    assert _doorcam("agency", "registry", "--key", str(key), "--kid", "reg-1", "--agencies",
                    str(src), "--version", "1", "--out", str(registry)).returncode == 0
    return public, registry


def _uplink_config(registry_key: tuple[Path, str], tmp_path: Path) -> tuple[Path, Path]:
    """A device config with the uplink on and a signed registry in place: (config, registry)."""
    public, registry = _signed_registry(registry_key, tmp_path)
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path}/store"\n[device]\nlatitude = 40.7\n'
                   f'longitude = -73.9\n[uplink]\nenabled = true\nregistry_key = "{public}"\n'
                   f'registry_file = "{registry}"\n')
    return cfg, registry


def test_importing_a_file_that_is_no_request_says_why(registry_key: tuple[Path, str],
                                                       tmp_path: Path) -> None:
    cfg, registry = _uplink_config(registry_key, tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("call the precinct back\n")
    cases = {notes: "bad_json: Expecting value: line 1 column 1 (char 0)",
             registry: "bad_json: nested deeper than 3",  # the registry, not a request
             Path("/dev/zero"): "oversized: 65537 bytes > 65536"}  # endless: read no further
    for path, why in cases.items():
        line = _one_line(_doorcam("requests", "import", str(path), "--config", str(cfg),
                                  timeout=60), code=1)
        assert line == f"doorcam: {path}: request rejected: {why}", line
    done = _doorcam("requests", "list", "--all", "--json", "--config", str(cfg))
    assert done.returncode == 0 and json.loads(done.stdout) == [], done.stdout + done.stderr


def test_an_endless_file_is_read_no_further_than_its_limit(registry_key: tuple[Path, str],
                                                         tmp_path: Path) -> None:
    """/dev/zero named where a file is expected: one line each, at once (they read it to the
    end, holding it all in memory, and never answered)."""
    key, public = registry_key
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path}/store"\n[device]\nlatitude = 40.7\n'
                   f'longitude = -73.9\n[uplink]\nenabled = true\nregistry_key = "{public}"\n')
    zero = "/dev/zero"
    cases = [
        (["config", "check", zero],
         f"doorcam: config error: {zero}: (file): larger than 1024 KiB: not a doorcam config "
         "file"),
        (["registry", "install", zero, "--config", str(cfg)],
         f"doorcam: {zero}: registry refused: oversized: 4194305 bytes > 4194304"),
        (["audit", "verify", "--anchor", zero, "--config", str(cfg)],
         'doorcam: --anchor: an anchor is SEQ:HASH (a 64-hex SHA-256) or {"seq", "hash"}'),
        (["agency", "registry", "--key", str(key), "--kid", "reg-1", "--agencies", zero,
          "--version", "1", "--out", str(tmp_path / "r.json")],
         f"doorcam: {zero}: larger than a registry may be (4 MiB)"),
    ]
    for args, expected in cases:
        assert _one_line(_doorcam(*args, timeout=60)) == expected
    assert not (tmp_path / "store" / "registry.json").exists()
    assert not (tmp_path / "r.json").exists()


def test_a_damaged_request_book_is_named_and_left_as_it_is(registry_key: tuple[Path, str],
                                                           tmp_path: Path) -> None:
    cfg, _ = _uplink_config(registry_key, tmp_path)
    made = _doorcam("simulate", "synthetic:empty?seconds=1&size=160x120", "--quiet",
                    "--config", str(cfg))
    assert made.returncode == 0, made.stderr
    assert _doorcam("requests", "list", "--config", str(cfg)).returncode == 0
    book = tmp_path / "store" / "uplink.sqlite3"
    assert book.is_file(), "the book is not where this test damages it"
    book.write_bytes(b"not a database, " * 64)
    for args in (["requests", "list"], ["requests", "show", "9b2f0f7e-0a57-4d5b-a0a4-6f1b6d1e3c11"],
                 ["requests", "import", str(cfg)]):
        line = _one_line(_doorcam(*args, "--config", str(cfg)))
        assert line == f"doorcam: cannot open the request book {book}: file is not a database"
    assert book.read_bytes() == b"not a database, " * 64


def test_agency_tools_refuse_numbers_out_of_range(registry_key: tuple[Path, str],
                                                  tmp_path: Path) -> None:
    """Each was a traceback (a year past 9999, a port past 65535)."""
    key, _ = registry_key
    src, out = tmp_path / "agencies.json", tmp_path / "out.json"
    src.write_text(json.dumps([{"id": "pd-3", "name": "Third", "keys": [f"pd-3-a:{AGENCY_KEY}"],
                                "upload_hosts": ["x.example.org"], "lat": 40.7, "lon": -73.9,
                                "radius_m": 5000}]))
    registry = ["agency", "registry", "--key", str(key), "--kid", "reg-1", "--agencies",
                str(src), "--out", str(out)]
    request = ["agency", "request", "--key", str(key), "--kid", "reg-1", "--agency-id", "pd-3",
               "--agency-name", "Third", "--case", "1", "--type", "burglary", "--description",
               "d", "--investigator", "n", "--contact", "c", "--lat", "40.7", "--lon", "-73.9",
               "--radius-m", "300", "--end", "now-1h", "--upload-url",
               "https://x.example.org/t", "--out", str(out)]
    cases = [
        ([*registry, "--version", "1", "--expires-days", "99999999999"],
         "doorcam: --expires-days must be 0 (never) to 36500, not 99999999999"),
        ([*registry, "--version", str(2**53)],
         f"doorcam: --version must be 1 to {2**53 - 1}, not {2**53}"),
        ([*request, "--start", "now-2h", "--expires-days", "99999999999"],
         "doorcam: --expires-days must be 1 to 30 (devices refuse a request that lasts "
         "longer), not 99999999999"),
        ([*request, "--start", "now+99999999999d"],
         "doorcam: 'now+99999999999d': outside 1970..9999"),
    ]
    for args, expected in cases:
        assert _one_line(_doorcam(*args)) == expected
    assert not out.exists()
    for args in (["agency", "receive", "--port", "99999", "--dir", str(tmp_path / "rx")],
                 ["owner", "pending", "--device", "porch", "--kid", "k", "--key", str(key),
                  "--port", "-1"]):
        done = _doorcam(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        given = args[args.index("--port") + 1]
        assert done.stderr.strip().splitlines()[-1].endswith(
            f"error: argument --port: a port is a number 0..65535, not '{given}'")


def test_installing_the_list_of_agencies_says_what_it_is(registry_key: tuple[Path, str],
                                                         tmp_path: Path) -> None:
    _, public = registry_key
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path}/store"\n[uplink]\nregistry_key = "{public}"\n')
    listed = tmp_path / "agencies.json"
    listed.write_text(json.dumps({"agencies": [{
        "id": "pd-3", "name": "Third", "keys": [f"pd-3-a:{AGENCY_KEY}"],
        "upload_hosts": ["x.example.org"], "lat": 40.7, "lon": -73.9, "radius_m": 5000}]}))
    line = _one_line(_doorcam("registry", "install", str(listed), "--config", str(cfg)))
    assert line.startswith(f"doorcam: {listed}: registry refused: "), line
    assert line.endswith("; it is a list of agencies, not a registry: the registry's signer "
                         "makes one from it (doorcam agency registry)"), line
    assert not (tmp_path / "store" / "registry.json").exists()


def test_a_damaged_device_ca_is_named_and_kept(tmp_path: Path) -> None:
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path}/store"\n')
    made = _doorcam("ca", "issue", "--config", str(cfg))
    assert made.returncode == 0 and "made the device CA" in made.stdout, made.stderr
    cert, key = tmp_path / "store" / "device_ca.pem", tmp_path / "store" / "device_ca.key"
    cert.write_text("-----BEGIN CERTIFICATE-----\nnot one\n")
    line = _one_line(_doorcam("ca", "issue", "--config", str(cfg)))
    assert line.startswith(f"doorcam: the device CA ({cert}, {key}) cannot be used: "), line
    assert line.endswith("make a new one with `doorcam ca issue --new-ca` (phones then "
                         "install it again)"), line
    assert cert.read_text() == "-----BEGIN CERTIFICATE-----\nnot one\n", "replaced unasked"


def test_agency_keygen_never_overwrites_a_key_or_leaves_its_folder(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    first = _doorcam("agency", "keygen", "--kid", "reg-1", "--out", str(keys))
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in keys.iterdir()}
    line = _one_line(_doorcam("agency", "keygen", "--kid", "reg-1", "--out", str(keys)))
    assert line == (f"doorcam: {keys}/reg-1.key or {keys}/reg-1.pub.json exists already; "
                    "refusing to overwrite a key")
    assert {p.name: p.read_bytes() for p in keys.iterdir()} == before  # it was replaced
    line = _one_line(_doorcam("agency", "keygen", "--kid", "../elsewhere", "--out", str(keys)))
    assert line == "doorcam: --kid: 1-64 characters from A-Z a-z 0-9 . _ -"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys"]
