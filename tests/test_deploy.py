"""The systemd units (daemon, web app, registry refresh and its timer): verify clean and stay
hardened (exposure <= 2.5)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import require

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "deploy" / "doorcam.service"
WAIT_SYNC = REPO / "deploy" / "time-wait-sync-doorcam.conf"
HOST_WAIT_SYNC = Path("/usr/lib/systemd/system/systemd-time-wait-sync.service")
WEB_UNIT = REPO / "deploy" / "doorcam-web.service"
REFRESH_UNIT = REPO / "deploy" / "doorcam-registry-refresh.service"
REFRESH_TIMER = REPO / "deploy" / "doorcam-registry-refresh.timer"
CERT_UNIT = REPO / "deploy" / "doorcam-web-cert.service"
CERT_TIMER = REPO / "deploy" / "doorcam-web-cert.timer"
KEYS = ("device_key.pem", "device_key.x25519.pem", "device_key.media.pem", "device_ca.key")


@pytest.fixture
def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    require(tool, "systemd-analyze not installed (apt package systemd)")
    assert tool is not None
    return tool


def _runnable(tmp_path: Path, source: Path, binary: str) -> Path:
    """The unit with ExecStart pointing at a binary that exists here (verify needs one)."""
    text = source.read_text(encoding="utf-8")
    assert binary in text
    out = tmp_path / source.name
    out.write_text(text.replace(binary, shutil.which("true") or "/bin/true"), encoding="utf-8")
    return out


def _exposure(analyze: str, unit: Path) -> float:
    done = subprocess.run([analyze, "security", "--offline=yes", "--threshold=25", str(unit)],
                          capture_output=True, text=True, timeout=60)
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert score, done.stdout[-500:] + done.stderr
    assert done.returncode == 0, score.group(0)
    return float(score.group(1))


@pytest.fixture
def web_unit(tmp_path: Path) -> Path:
    return _runnable(tmp_path, WEB_UNIT, "/opt/doorcam/venv/bin/python3")


def test_web_unit_verifies_without_warnings(analyze: str, web_unit: Path) -> None:
    done = subprocess.run([analyze, "verify", str(web_unit)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_web_unit_exposure_at_most_2_5(analyze: str, web_unit: Path) -> None:
    score = _exposure(analyze, web_unit)
    assert score <= 2.5, score
    if os.environ.get("DOORCAM_SHOW_EXPOSURE"):
        print(f"doorcam-web.service exposure {score}")


def test_web_unit_contract() -> None:
    text = WEB_UNIT.read_text(encoding="utf-8")
    for line in ("ExecStart=/opt/doorcam/venv/bin/python3 -m device.web --config "
                 "/etc/doorcam/doorcam.toml\n", "User=doorcam-web\n", "Group=doorcam\n",
                 "UMask=0007\n", "StateDirectory=doorcam/web\n",
                 "ReadWritePaths=/var/lib/doorcam\n", "Wants=network-online.target "
                 "doorcam-web-cert.service", "ProtectProc=invisible",
                 "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
                 "AmbientCapabilities=\n", "PrivateDevices=yes", "After=network-online.target "
                 "doorcam.service", "SystemCallFilter=@system-service"):
        assert line in text, line
    settings = [ln.strip() for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    assert not any(s.startswith("SupplementaryGroups") for s in settings), "no camera"
    hidden = {p for s in settings if s.startswith("InaccessiblePaths=")
              for p in s.removeprefix("InaccessiblePaths=").split()}
    for key in KEYS:  # 0600 files of another user; hidden too, where they exist
        assert f"-/var/lib/doorcam/{key}" in hidden, f"{key} readable by the web app"
    # Never the whole state directory: systemd would hand all of it to this user.
    assert "StateDirectory=doorcam\n" not in text


def test_units_share_the_store_with_the_group_only() -> None:
    """Every unit writing the store: folders 0770 and UMask=0007 (group doorcam, which the
    web app's user is in), never anything for others."""
    for path in (UNIT, REFRESH_UNIT, CERT_UNIT, WEB_UNIT):
        settings = _settings(path.read_text(encoding="utf-8"))
        assert "UMask=0007" in settings, path.name
        modes = [s for s in settings if s.startswith("StateDirectoryMode=")]
        assert modes == ["StateDirectoryMode=0770"], (path.name, modes)


@pytest.fixture
def cert_unit(tmp_path: Path) -> Path:
    return _runnable(tmp_path, CERT_UNIT, "/opt/doorcam/venv/bin/doorcam")


def test_cert_unit_verifies_and_is_hardened(analyze: str, cert_unit: Path) -> None:
    timer = cert_unit.with_name(CERT_TIMER.name)
    shutil.copy(CERT_TIMER, timer)
    done = subprocess.run([analyze, "verify", str(cert_unit), str(timer)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
    assert _exposure(analyze, cert_unit) <= 2.5
    settings = _settings(CERT_UNIT.read_text(encoding="utf-8"))
    for line in ("Type=oneshot", "User=doorcam", "Before=doorcam-web.service",
                 "ExecStart=/opt/doorcam/venv/bin/doorcam ca issue --config "
                 "/etc/doorcam/doorcam.toml"):
        assert line in settings, line
    assert "[Install]" not in settings, "pulled in by the web app's unit and its timer"
    timer_settings = _settings(CERT_TIMER.read_text(encoding="utf-8"))
    for line in ("OnCalendar=daily", "Persistent=true", "WantedBy=timers.target"):
        assert line in timer_settings, line


@pytest.fixture
def refresh_units(tmp_path: Path) -> tuple[Path, Path]:
    """The refresh service (runnable here) and its timer, side by side as systemd finds them."""
    timer = tmp_path / REFRESH_TIMER.name
    shutil.copy(REFRESH_TIMER, timer)
    return _runnable(tmp_path, REFRESH_UNIT, "/opt/doorcam/venv/bin/doorcam"), timer


def test_registry_refresh_units_verify_and_are_hardened(
        analyze: str, refresh_units: tuple[Path, Path]) -> None:
    done = subprocess.run([analyze, "verify", *map(str, refresh_units)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
    score = _exposure(analyze, refresh_units[0])
    assert score <= 2.5, score


def test_registry_refresh_contract() -> None:
    from config import load_config
    from device.wiring.paths import DevicePaths
    from device.wiring.registry import source_path

    service = _settings(REFRESH_UNIT.read_text(encoding="utf-8"))
    for line in ("Type=oneshot", "ExecStart=/opt/doorcam/venv/bin/doorcam registry refresh "
                 "--config /etc/doorcam/doorcam.toml", "User=doorcam", "StateDirectory=doorcam",
                 "ProtectSystem=strict", "PrivateDevices=yes", "NoNewPrivileges=yes",
                 "CapabilityBoundingSet=", "Wants=network-online.target"):
        assert line in service, line
    assert "[Install]" not in service, "started by its timer only"
    assert not any(s.startswith("Restart=") for s in service), "a failure waits for the timer"
    # Skipped until a URL was installed: the condition names the file the CLI records, in the
    # store of the installed config (the example's path, as the package and install.sh set it).
    cfg = load_config(REPO / "config" / "doorcam.example.toml")
    store = Path("/var/lib/doorcam")
    recorded = source_path(DevicePaths.of(cfg)).relative_to(Path(cfg.store.path).expanduser())
    assert f"ConditionPathExists={store / recorded}" in service
    hidden = {p for s in service if s.startswith("InaccessiblePaths=")
              for p in s.removeprefix("InaccessiblePaths=").split()}
    assert {f"-{store}/device_key.pem", f"-{store}/device_key.x25519.pem",
            f"-{store}/device_key.media.pem"} <= hidden, "nothing here signs"
    timer = _settings(REFRESH_TIMER.read_text(encoding="utf-8"))
    for line in ("OnCalendar=daily", "Persistent=true", "WantedBy=timers.target"):
        assert line in timer, line
    assert any(s.startswith("RandomizedDelaySec=") for s in timer)


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at a binary that exists here (verify needs one)."""
    text = UNIT.read_text(encoding="utf-8")
    assert "/opt/doorcam/venv/bin/doorcam run" in text
    out = tmp_path / "doorcam.service"
    out.write_text(text.replace("/opt/doorcam/venv/bin/doorcam", shutil.which("true") or
                                "/bin/true"), encoding="utf-8")
    return out


def test_unit_verifies_without_warnings(analyze: str, unit: Path) -> None:
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)
    # verify exits 0 on warnings too: stderr must be empty.
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_unit_exposure_at_most_2_5(analyze: str, unit: Path) -> None:
    done = subprocess.run([analyze, "security", "--offline=yes", "--threshold=25", str(unit)],
                          capture_output=True, text=True, timeout=60)
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert score, done.stdout[-500:] + done.stderr
    assert float(score.group(1)) <= 2.5 and done.returncode == 0, score.group(0)


def test_unit_contract() -> None:
    text = UNIT.read_text(encoding="utf-8")
    for line in ("Type=notify", "WatchdogSec=", "RestartPreventExitStatus=78",
                 "User=doorcam", "SupplementaryGroups=video", "StateDirectory=doorcam",
                 "RuntimeDirectory=doorcam", "ProtectSystem=strict", "NoNewPrivileges=yes",
                 "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service"):
        assert line in text, line
    settings = [ln.strip() for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    assert "PrivateDevices=yes" not in settings, "it would hide the camera"
    # Read by glibc when the process starts, so only the unit can set it (bench_pipeline
    # starts `doorcam run` with the unit's environment).
    assert "Environment=MALLOC_ARENA_MAX=2" in settings


def _settings(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def test_unit_waits_for_network_time_through_systemd_time_wait_sync() -> None:
    settings = _settings(UNIT.read_text(encoding="utf-8"))
    after = next(s for s in settings if s.startswith("After="))
    wants = next(s for s in settings if s.startswith("Wants="))
    assert "time-sync.target" in after.split("=", 1)[1].split()
    # systemd.special(7): a unit that needs accurate time orders itself after the target
    # and does not pull it in; the waiter that holds the target back is pulled in.
    assert "systemd-time-wait-sync.service" in wants.split("=", 1)[1].split()
    assert not any("time-sync.target" in s for s in settings if s.startswith(
        ("Wants=", "Requires=")))


def test_the_wait_for_network_time_is_bounded() -> None:
    settings = _settings(WAIT_SYNC.read_text(encoding="utf-8"))
    assert settings[0] == "[Service]"
    timeout = [s.split("=", 1)[1] for s in settings if s.startswith("TimeoutStartSec=")]
    assert timeout and timeout[-1].endswith("s") and 0 < int(timeout[-1][:-1]) <= 120


def test_time_wait_sync_with_the_drop_in_verifies(analyze: str, tmp_path: Path) -> None:
    """The host's systemd-time-wait-sync unit with our drop-in beside it loads cleanly."""
    require(HOST_WAIT_SYNC.exists(), "systemd-time-wait-sync not installed "
            "(apt package systemd-timesyncd)")
    unit = tmp_path / HOST_WAIT_SYNC.name
    shutil.copy(HOST_WAIT_SYNC, unit)
    (tmp_path / f"{unit.name}.d").mkdir()
    shutil.copy(WAIT_SYNC, tmp_path / f"{unit.name}.d" / "doorcam.conf")
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
