"""The Debian package booted under real systemd (systemd-nspawn --boot of a Debian trixie
tree): READY and STATUS, journal fields, hardening in effect, reload, the watchdog
restarting a stalled daemon, status and Home Assistant discovery on the owner's broker (a
mosquitto inside the container), a clean stop, and no restart loop on a config error.

The container runs the simulation source (no camera) with the network private (loopback
only). tests/boot_probe.py runs inside it and reports; the assertions are here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.bootroot import ONE_WORKER, REPO, base_root, overlay, require_boot_tools

pytestmark = ONE_WORKER

PROBE_UNIT = """[Unit]
Description=doorcam boot-test probe
After=doorcam.service

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 /probe/boot_probe.py
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
"""
OLD_PASSWORD = "correct horse battery"  # tests/boot_probe.py logs in with it
# Only the timing is shortened for the test; the hardening is the shipped unit's.
DROP_IN = """[Service]
WatchdogSec=6
RestartSec=2
TimeoutAbortSec=5
"""


def _old_install(root: Path) -> str:
    """What an earlier version left: the service user alone (its web app ran as it too), and
    a store of its 0600/0700 files: the web app's accounts (one account, "alex"), its Web
    Push key and an empty clip store. The package's upgrade must hand them to the web app's
    own user. The push key's public half, which the Device page must still show."""
    from config.schema import StoreConfig
    from device.store import ClipStore
    from device.web.accounts import Accounts
    from device.web.push.vapid import VapidKey

    made = subprocess.run(["chroot", str(root), "adduser", "--system", "--group", "--home",
                           "/var/lib/doorcam", "--no-create-home", "doorcam"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    state = root / "var/lib/doorcam"
    old = os.umask(0o077)
    try:
        state.mkdir(mode=0o700, parents=True, exist_ok=True)
        with Accounts(state / "web" / "accounts.sqlite3") as acc:
            acc.add("alex", OLD_PASSWORD, time.time())
        push_key = VapidKey.load_or_create(state / "web" / "vapid_key.pem").public_key()
        ClipStore(StoreConfig(path=str(state))).close()
    finally:
        os.umask(old)
    user = next(line.split(":") for line in (root / "etc/passwd").read_text().splitlines()
                if line.startswith("doorcam:"))
    for path in (state, *state.rglob("*")):
        os.lchown(path, int(user[2]), int(user[3]))
        assert path.stat().st_mode & 0o077 == 0, path
    return push_key


def _install(root: Path, tmp_path: Path, probe: Path) -> str:
    built = subprocess.run(["bash", str(REPO / "deploy/build-deb.sh"), str(tmp_path / "dist")],
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    shutil.copy(built.stdout.split()[-1], root / "tmp/doorcam.deb")
    push_key = _old_install(root)
    dpkg = subprocess.run(["chroot", str(root), "dpkg", "-i", "/tmp/doorcam.deb"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert dpkg.returncode == 0, dpkg.stdout + dpkg.stderr
    conf = root / "etc/doorcam/doorcam.toml"
    camera = 'source = "picamera:0?size=1920x1080&fps=25&lores=320x240"'
    assert camera in conf.read_text(), "the installed config defaults to the Pi camera"
    text = conf.read_text().replace(camera, 'source = "synthetic:porch"')
    # Looping, frames keep coming for the whole probe: the scene lasts about 20 s, and the
    # reload is applied at the next frame (on a loaded machine the probe gets there later).
    assert "\nloop = false\n" in text
    text = text.replace("\nloop = false\n", "\nloop = true\n", 1)
    text = text.replace('\nid = ""\n', '\nid = "doorcam"\n', 1)  # the probe's topics
    head, ha = text.split("[homeassistant]\n")
    before, home = head.split("[owner_mqtt]\n")  # Home Assistant talks to the home broker
    head = before + "[owner_mqtt]\n" + home.replace("enabled = false", "enabled = true", 1)
    text = head + "[homeassistant]\n" + ha.replace("enabled = false", "enabled = true", 1)
    # Web Push on: the push key an earlier version made must keep working.
    before, push = text.split("[push]\n")
    assert "\nenabled = false\n" in push and '\ncontact = ""\n' in push
    push = push.replace("\nenabled = false\n", "\nenabled = true\n", 1).replace(
        '\ncontact = ""\n', '\ncontact = "mailto:owner@example.org"\n', 1)
    conf.write_text(before + "[push]\n" + push)
    # A device key, as the daemon makes it once its uplink is on: the web app must not read it.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    state = root / "var/lib/doorcam"
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = state / "device_key.pem"
    key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    key.chmod(0o600)
    user = next(line.split(":") for line in (root / "etc/passwd").read_text().splitlines()
                if line.startswith("doorcam:"))
    for path in (state, key):
        os.chown(path, int(user[2]), int(user[3]))
    units = root / "etc/systemd/system"
    (units / "doorcam.service.d").mkdir()
    (units / "doorcam.service.d/boot-test.conf").write_text(DROP_IN)
    (units / "doorcam-probe.service").write_text(PROBE_UNIT)
    (units / "multi-user.target.wants/doorcam-probe.service").symlink_to(
        "/etc/systemd/system/doorcam-probe.service")
    shutil.copy(REPO / "tests/boot_probe.py", probe / "boot_probe.py")
    return push_key


@pytest.mark.timeout(1200)
def test_the_package_boots_and_runs_under_systemd(tmp_path: Path) -> None:
    require_boot_tools()
    base = base_root()
    probe = tmp_path / "probe"
    probe.mkdir()
    console = tmp_path / "console.log"
    with overlay(base, tmp_path / "overlay") as root:
        push_key = _install(root, tmp_path, probe)
        # The package enabled its unit although systemd was not running (an image build).
        wants = root / "etc/systemd/system/multi-user.target.wants/doorcam.service"
        assert wants.is_symlink()
        with console.open("w") as out:
            booted = subprocess.run(
                ["systemd-nspawn", "--boot", "--register=no", "--keep-unit", "--quiet",
                 "--private-network", "--console=pipe", f"--bind={probe}:/probe",
                 # Reading the clock's state, as on a device; the container has no
                 # CAP_SYS_TIME, so nothing in it can set the host's clock.
                 "--system-call-filter=adjtimex clock_adjtime",
                 "-D", str(root)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=600,
                check=False)
    found = probe / "result.json"
    assert found.exists(), f"no probe result (nspawn {booted.returncode}):\n" \
                           + console.read_text()[-4000:]
    r = json.loads(found.read_text())
    assert "error" not in r, r.get("error", "") + "\n" + r.get("journal_tail", "")
    # READY: Type=notify goes to "running" only after READY=1; STATUS carries the figures.
    assert r["ready"]["SubState"] == "running" and r["ready"]["WatchdogUSec"] == "6s"
    assert "frames/s" in r["status"] and "last motion event" in r["status"]
    # Structured journal entries.
    assert "DOORCAM_COMPONENT" in r["journal_fields"]
    assert {"motion_started", "clip_stored"} <= set(r["journal_events"])
    assert r["clips"] and all(c.startswith("/var/lib/doorcam/") for c in r["clips"])
    # Network time: ordered after time-sync.target, systemd-time-wait-sync pulled in and
    # its wait bounded by our drop-in (it does not run in a container: nothing there may set
    # the clock, so the daemon says the clock is not synchronised and marks its clips).
    k = r["clock"]
    assert "time-sync.target" in k["unit"]["After"].split(), k
    assert "systemd-time-wait-sync.service" in k["unit"]["Wants"].split(), k
    assert k["waiter"]["LoadState"] == "loaded", k
    assert k["waiter"]["TimeoutStartUSec"] == "1min 30s", k
    assert "clock not synchronised; " in k["status_before"], k
    assert k["clips"] and all(c == [False, True] for c in k["clips"]), k
    assert "clock" not in k["status_after"] and "frames/s" in k["status_after"], k
    o = r["owner_cli"]
    assert o["rc"] == 0 and o["clips"] >= 1 and o["root_owned"] == [], o
    # Hardening: own user in video, no capabilities, no new privileges, seccomp filter,
    # read-only system, writable state directory, exposure as verified offline.
    assert r["user"].split() == ["doorcam", "video"]
    assert r["proc"]["CapEff"] == "0000000000000000"
    assert r["proc"]["CapBnd"] == "0000000000000000"
    assert r["proc"]["NoNewPrivs"] == "1" and r["proc"]["Seccomp"] == "2"
    # The sandbox lets the daemon read the kernel's clock state (it cannot set the clock:
    # no capabilities above).
    assert r["kernel_clock_unreadable"] == [], r["kernel_clock_unreadable"]
    assert "Read-only file system" in r["write_usr"]
    assert "Read-only file system" in r["write_etc"]
    assert "Read-only file system" in r["write_var_lib"]
    assert r["write_state_rc"] == 0
    assert isinstance(r["exposure"], float) and r["exposure"] <= 2.5, r["exposure"]
    # The web app: its own unit, TLS on its port, its own user (doorcam-web, in the group
    # doorcam) without capabilities.
    w = r["web"]
    assert w["SubState"] == "running" and w["login_status"] == 200, w
    assert w["user"] == "doorcam-web" and w["groups"].split() == ["doorcam"], w
    assert w["proc"]["Uid"] != r["proc"]["Uid"] and w["proc"]["CapEff"] == "0" * 16, w
    assert w["proc"]["CapBnd"] == "0" * 16 and w["proc"]["NoNewPrivs"] == "1", w
    # The device's, owner channel's, media signing and CA keys: file permissions refuse
    # them to its user even outside its sandbox; the daemon's user reads them.
    assert set(w["keys"]) == {"device_key.pem", "device_key.x25519.pem",
                              "device_key.media.pem", "device_ca.key"}, w
    for name, key in w["keys"].items():
        assert key["inside"][0] != 0 and "Permission denied" in key["inside"][1], (name, w)
        assert key["web_user"][0] != 0 and "Permission denied" in key["web_user"][1], (name, w)
        assert key["daemon_user_rc"] == 0 and key["mode"] == "600", (name, w)
    # Nor the daemon's memory: another user may not open /proc/PID/mem (nor see the process
    # at all from inside its sandbox).
    mem = w["daemon_mem"]
    assert mem["web_user"][0] != 0 and "Permission denied" in mem["web_user"][1], mem
    assert mem["inside"][0] != 0, mem
    assert mem["daemon_user_rc"] == 0, mem  # the check itself can succeed
    # It serves the certificate the device's CA issued (verified against the CA, by name).
    assert w["ca_verified"] == "ok", w
    assert "made the device CA" in w["cert_unit"] and w["cert_timer"] == "enabled", w
    assert f"fingerprint: {w['served_fp']}" in w["url"], w
    assert "open https://doorcam.local:8443/" in w["url"], w
    # The upgrade: the account an earlier version (web app as doorcam) made logs in, the
    # store's files are shared with the group, its own folder is its user's, and it serves
    # the clips the daemon records, and records a hold in the daemon's clip index.
    assert w["old_login"] == 303 and w["clips_page"] == 200, w
    assert w["video"] == [200, "video/mp4"] and w["video_bytes"] > 1000, w
    assert w["hold"] == 303 and w["held"] is True, w
    assert w["push_key"] == push_key, w  # the old Web Push key, so subscriptions stay valid
    # The web app's own user serves the daemon's live snapshot (a JPEG), from tmpfs.
    assert w["snapshot"] == [200, "image/jpeg", "ffd8"], w["snapshot"]
    assert w["web_dir"] == ["doorcam-web", "doorcam", "770"], w
    assert w["accounts"][0] == "doorcam-web" and w["accounts"][2] == "600", w
    assert w["index"][1:] == ["doorcam", "660"], w
    assert w["state_dir"] == ["doorcam", "doorcam", "770"], w
    assert isinstance(w["exposure"], float) and w["exposure"] <= 2.5, w
    # The registry refresh timer: enabled by the package and scheduled; its service is
    # skipped until a registry URL was installed, and a failed refresh is a failed unit.
    t = r["registry_timer"]
    assert t["enabled"] == "enabled" and t["listed"] and t["timer"]["ActiveState"] == "active", t
    assert t["skipped"] == {"ActiveState": "inactive", "ConditionResult": "no"}, t
    assert t["run"]["ConditionResult"] == "yes" and t["run"]["Result"] == "exit-code", t
    assert t["run"]["ActiveState"] == "failed" and t["in_failed"], t
    assert len(t["lines"]) == 1 and t["lines"][0].startswith(
        "doorcam: registry not fetched: GET https://127.0.0.1:9/registry.json"), t
    assert r["reload"] == {"same_pid": True, "logged": True}, r["journal_tail"]
    # Status on the owner's broker from inside the sandbox, and Home Assistant discovery.
    m = r["mqtt"]
    assert m["availability"] == "online" and m["motion"] in ("ON", "OFF"), m
    assert "homeassistant/binary_sensor/doorcam_doorcam/motion/config" in m["discovery"], m
    # A stopped (SIGSTOP) daemon sends no WATCHDOG=1: systemd kills and restarts it.
    w = r["watchdog"]
    assert w["timeout_logged"] and w["restarts"] == 1, w
    assert w["after"]["SubState"] == "running" and w["after"]["MainPID"] != w["old_pid"]
    s = r["stop"]
    assert s["Result"] == "success" and s["ExecMainStatus"] == "0" and s["logged"], s
    assert s["availability"] == "stopped", s
    # A config error exits 78 and is not restarted.
    c = r["config_error"]
    assert c["ActiveState"] == "failed" and c["ExecMainStatus"] == "78", c
    assert c["NRestarts"] == "0", c
    assert any("motion.threshold = 300" in m for m in c["message"]), c
    assert c["priorities"] == ["3"], c  # logged as an error, not as information
