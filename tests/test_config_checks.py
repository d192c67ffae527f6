"""`doorcam config check` runs every check `doorcam run` makes at start: each bad value makes
`doorcam run` exit 78 before any thread starts, with the same one line `config check` prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from capture.frame import SourceError
from capture.sources import check_spec
from config import CaptureConfig
from config.uplink import default_device_id, machine_id
from device.errors import EXIT_CONFIG_DAEMON, EXIT_USAGE

REPO = Path(__file__).resolve().parent.parent
KEY = "A" * 42 + "A"  # 32 zero bytes, canonical base64url: a well-formed public key


def _doorcam(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "device.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _garbage_key(tmp: Path) -> Path:
    key = tmp / "device_key.pem"
    key.write_text("not a key\n")
    key.chmod(0o600)
    return key


def _home_with_a_tmp(tmp: Path) -> Path:
    """A directory that is no store but has a tmp/ of its own (a home directory)."""
    (tmp / "home" / "tmp").mkdir(parents=True)
    (tmp / "home" / "tmp" / "draft.txt").write_text("notes")
    return tmp / "home"


# name -> (config body given tmp_path, key the one problem names, words in its message)
CASES: dict[str, tuple[Callable[[Path], str], str, str]] = {
    "picamera fps not a number": (
        lambda t: '[capture]\nsource = "picamera:0?fps=25fps"\n', "capture.source",
        "fps must be a number"),
    "unknown scheme": (lambda t: '[capture]\nsource = "foo:bar"\n', "capture.source",
                       "unknown source scheme 'foo'"),
    "synthetic size": (lambda t: '[capture]\nsource = "synthetic:porch?size=big"\n',
                       "capture.source", "size is WIDTHxHEIGHT"),
    "missing video file": (lambda t: f'[capture]\nsource = "{t}/nope.mp4"\n',
                           "capture.source", "video file not found"),
    "picamera unknown parameter": (lambda t: '[capture]\nsource = "picamera:0?fsp=25"\n',
                                   "capture.source", "unknown parameter(s) fsp"),
    "bad registry key": (
        lambda t: '[device]\nlatitude = 52.1\nlongitude = 4.3\n[uplink]\nenabled = true\n'
        'registry_key = "not-a-key"\n', "uplink.registry_key", "not an Ed25519 public key"),
    "missing registry file": (
        lambda t: f'[device]\nlatitude = 52.1\nlongitude = 4.3\n[uplink]\nenabled = true\n'
        f'registry_key = "{KEY}"\nregistry_file = "{t}/registry.json"\n',
        "uplink.registry_file", "cannot be read (No such file or directory)"),
    "registry file not a registry": (
        lambda t: (t / "registry.json").write_text("{}") and
        f'[device]\nlatitude = 52.1\nlongitude = 4.3\n[uplink]\nenabled = true\n'
        f'registry_key = "{KEY}"\nregistry_file = "{t}/registry.json"\n',
        "uplink.registry_file", "registry refused"),
    "owner key not canonical": (
        lambda t: f'[uplink]\nowner_keys = ["me:{"A" * 42}B"]\n', "uplink.owner_keys",
        "signing key is not an Ed25519 public key"),
    "device key unreadable": (
        lambda t: f'[owner_mqtt]\nenabled = true\n[uplink]\n'
        f'device_key_file = "{_garbage_key(t)}"\n', "uplink.device_key_file",
        "move it away to have a new key made"),
    "store path is a file": (
        lambda t: (t / "file").write_text("x") and f'[store]\npath = "{t}/file"\n',
        "store.path", "is not a directory"),
    "store path holds other files": (
        lambda t: f'[store]\npath = "{_home_with_a_tmp(t)}"\n', "store.path",
        "is not a clip store (no index.sqlite3) but its tmp/ holds files"),
    "web certificate missing": (
        lambda t: f'[web]\ncert_file = "{t}/cert.pem"\nkey_file = "{t}/key.pem"\n',
        "web.cert_file", "does not exist"),
    "plain HTTP on the network": (
        lambda t: '[web]\ntls = false\nlisten = "0.0.0.0:8080"\n', "web.listen",
        "a loopback address (127.0.0.1:PORT or [::1]:PORT) while web.tls = false"),
    "home assistant without the home broker": (
        lambda t: '[homeassistant]\nenabled = true\n', "homeassistant.enabled",
        "needs [owner_mqtt] enabled: Home Assistant is reached only through the home broker"),
    "privacy masks cover the frame": (
        lambda t: '[privacy]\nmasks = [[[0, 0], [1, 0], [1, 1]], [[0, 0], [0, 1], [1, 1]]]\n',
        "privacy.masks", "cover the whole frame: nothing is left to watch or record"),
    "broker CA file missing": (
        lambda t: f'[owner_mqtt]\nenabled = true\ntls = true\nca_file = "{t}/ca.pem"\n',
        "owner_mqtt.ca_file", "does not exist"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_value_stops_run_with_78_and_config_check_says_the_same(
        name: str, tmp_path: Path) -> None:
    body, key, words = CASES[name]
    conf = tmp_path / "doorcam.toml"
    text = body(tmp_path)
    if "[store]" not in text:
        text += f'[store]\npath = "{tmp_path}/store"\n'
    conf.write_text(text)
    if name == "web certificate missing":
        (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")

    run = _doorcam("run", "--config", str(conf))
    assert run.returncode == EXIT_CONFIG_DAEMON, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert re.match(rf"doorcam: config error: {re.escape(str(conf))}:\d+: {re.escape(key)} = ",
                    lines[0]), lines[0]
    assert words in lines[0]
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "store").exists(), "nothing may start before the checks pass"

    check = _doorcam("config", "check", str(conf))
    assert check.returncode == EXIT_USAGE
    assert check.stderr.strip() == lines[0]


def test_every_problem_at_once_and_a_good_file_passes(tmp_path: Path) -> None:
    conf = tmp_path / "doorcam.toml"
    (tmp_path / "file").write_text("x")
    conf.write_text(f'[capture]\nsource = "foo:bar"\n[store]\npath = "{tmp_path}/file/s"\n'
                    f'[web]\ncert_file = "{tmp_path}/c.pem"\nkey_file = "{tmp_path}/k.pem"\n')
    check = _doorcam("config", "check", str(conf))
    assert check.returncode == EXIT_USAGE
    keys = [re.search(r":\d+: ([a-z_.]+) = ", line).group(1)  # type: ignore[union-attr]
            for line in check.stderr.strip().splitlines()]
    assert keys == ["capture.source", "store.path", "web.cert_file", "web.key_file"], \
        check.stderr

    conf.write_text(f'[store]\npath = "{tmp_path}/store"\n')
    check = _doorcam("config", "check", str(conf))
    assert check.returncode == 0, check.stderr
    assert f"note: store.path {tmp_path}/store does not exist yet; it will be created" \
        in check.stdout
    assert not (tmp_path / "store").exists()
    # --no-capture leaves the source out, as `doorcam run --no-capture` does.
    conf.write_text(f'[capture]\nsource = "foo:bar"\n[store]\npath = "{tmp_path}/store"\n')
    assert _doorcam("config", "check", "--no-capture", str(conf)).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs another user to own nothing here")
def test_store_not_writable_by_the_service_user() -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as top:
        os.chmod(top, 0o755)
        locked = Path(top) / "locked"
        locked.mkdir(mode=0o755)
        conf = Path(top) / "doorcam.toml"
        conf.write_text(f'[store]\npath = "{locked}/store"\n')
        conf.chmod(0o644)
        _as_nobody(conf, locked)


def _as_nobody(conf: Path, locked: Path) -> None:
    check = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
         "-m", "device.cli", "config", "check", str(conf)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "HOME": "/nonexistent"})
    assert check.returncode == EXIT_USAGE, check.stdout + check.stderr
    assert f"cannot be created: {locked} is not writable by" in check.stderr


@pytest.mark.parametrize("spec", [
    "synthetic:porch", "synthetic:night?seconds=5&size=320x240", "picamera:0",
    "picamera:1?size=1280x720&fps=30&lores=320x180&gop=2", "camera:0", "/dev/video0",
    "rtsp://cam.lan/stream",
])
def test_good_specs_pass_without_opening_anything(spec: str) -> None:
    check_spec(spec, CaptureConfig())


@pytest.mark.parametrize("spec", [
    "picamera:x", "picamera:0?size=1920", "picamera:0?gop=0", "camera:x", "ftp://x/y",
    "synthetic:garden", "synthetic:porch?seconds=-1", "", "in%06d.jpg",
])
def test_bad_specs_are_refused_by_the_parser_the_opener_uses(spec: str) -> None:
    with pytest.raises(SourceError):
        check_spec(spec, CaptureConfig())


def test_an_empty_video_file_is_refused_by_config_check(tmp_path: Path) -> None:
    """A zero-byte recording (a copy that never started) passed as "ok", and the daemon
    then stopped at once."""
    video = tmp_path / "porch.mp4"
    video.write_bytes(b"")
    with pytest.raises(SourceError, match=f"^{re.escape(str(video))}: empty file$"):
        check_spec(str(video), CaptureConfig())


def test_device_id_is_derived_from_the_machine(tmp_path: Path) -> None:
    mid, serial, cpuinfo = tmp_path / "machine-id", tmp_path / "serial", tmp_path / "cpuinfo"
    mid.write_text("0123456789abcdef0123456789abcdef\n")
    derived = default_device_id((mid, serial, cpuinfo))
    assert re.fullmatch(r"doorcam-[0-9a-f]{8}", derived)
    assert "01234567" not in derived  # a hash, not the machine id itself
    mid.write_text("fedcba9876543210fedcba9876543210\n")
    assert default_device_id((mid, serial, cpuinfo)) != derived
    mid.write_text("")  # pi-gen empties it until systemd makes one: the Pi's serial then
    cpuinfo.write_text("processor\t: 0\nSerial\t\t: 10000000abcdef01\nModel\t: Pi 4\n")
    assert machine_id((mid, serial, cpuinfo)) == "10000000abcdef01"
    serial.write_bytes(b"00000000deadbeef\0")
    assert machine_id((mid, serial, cpuinfo)) == "00000000deadbeef"
    assert default_device_id((tmp_path / "none",)) == "doorcam"


def test_empty_device_id_in_the_file_becomes_the_derived_one(tmp_path: Path) -> None:
    conf = tmp_path / "doorcam.toml"
    conf.write_text('[device]\nid = ""\n')
    shown = _doorcam("config", "show", "--config", str(conf))
    assert re.search(r'^id = "doorcam(-[0-9a-f]{8})?"$', shown.stdout, re.MULTILINE)
    assert shown.stdout.count('\nid = ""') == 0


def test_config_show_hides_passwords(tmp_path: Path) -> None:
    conf = tmp_path / "doorcam.toml"
    conf.write_text('[mqtt]\nusername = "dev"\npassword = "s3cret-agency"\n'
                    '[owner_mqtt]\nusername = "me"\npassword = "s3cret-home"\n'
                    'password_env = "HOME_PW"\n')
    shown = _doorcam("config", "show", "--config", str(conf))
    assert shown.returncode == 0, shown.stderr
    assert "s3cret" not in shown.stdout
    assert shown.stdout.count("# password is set (hidden)") == 2
    assert 'password_env = "HOME_PW"' in shown.stdout


def test_sd_card_first_boot_refuses_what_the_daemon_would(tmp_path: Path) -> None:
    """The first-boot import runs `doorcam config check`: a spec the daemon would refuse at
    start is kept off the device, with the daemon's own reason beside it."""
    from tests.test_pigen import STAGE, _firstboot, _step

    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    assert _step(STAGE / "01-firstboot", rootfs).returncode == 0
    boot = rootfs / "boot/firmware"
    boot.mkdir(parents=True)
    (boot / "doorcam.toml").write_text('[capture]\nsource = "picamera:0?fps=25fps"\n'
                                       f'[store]\npath = "{tmp_path}/store"\n')
    done = _firstboot(tmp_path, rootfs)
    assert done.returncode == 0, done.stderr
    assert not (rootfs / "etc/doorcam/doorcam.toml").exists()
    # Kept for the owner where only root reads it, never on the boot partition.
    assert (rootfs / "etc/doorcam/rejected/doorcam.toml").exists()
    assert not (boot / "doorcam.toml").exists() and not (boot / "doorcam.toml.invalid").exists()
    reasons = (boot / "doorcam-config-error.txt").read_text()
    assert "capture.source = 'picamera:0?fps=25fps': picamera fps must be a number" in reasons


def test_trusting_public_proxies_is_warned_about(tmp_path: Path) -> None:
    conf = tmp_path / "doorcam.toml"
    conf.write_text(f'[store]\npath = "{tmp_path}/store"\n[web]\n'
                    'trusted_proxies = ["127.0.0.1", "10.0.0.0/8", "0.0.0.0/0"]\n')
    check = _doorcam("config", "check", str(conf))
    assert check.returncode == 0, check.stderr
    warned = [line for line in check.stdout.splitlines() if "trusted_proxies" in line]
    assert warned == ["warning: web.trusted_proxies: 0.0.0.0/0 includes public addresses: "
                      "anyone there can claim any client address in X-Forwarded-For; list "
                      "only your proxies"]


def test_config_check_and_show_read_the_file_the_other_commands_read(tmp_path: Path) -> None:
    """`--config FILE` and $DOORCAM_CONFIG name the file for `config check` and `config show`
    as for every other command (a positional FILE still works for `check`)."""
    conf = tmp_path / "doorcam.toml"
    conf.write_text(f'[store]\npath = "{tmp_path}/store"\n[device]\nid = "front-door"\n')
    env = dict(os.environ, DOORCAM_CONFIG=str(conf))
    for args, environ in ((["check", str(conf)], None), (["check", "--config", str(conf)], None),
                          (["check"], env)):
        done = subprocess.run([sys.executable, "-m", "device.cli", "config", *args], cwd=REPO,
                              capture_output=True, text=True, timeout=60, env=environ)
        assert done.returncode == 0, (args, done.stderr)
        assert done.stdout.endswith(f"{conf}: ok\n"), (args, done.stdout)
    shown = subprocess.run([sys.executable, "-m", "device.cli", "config", "show"], cwd=REPO,
                           capture_output=True, text=True, timeout=60, env=env)
    assert shown.returncode == 0, shown.stderr
    assert '\nid = "front-door"\n' in shown.stdout
    twice = _doorcam("config", "check", str(conf), "--config", str(conf))
    assert twice.returncode == EXIT_USAGE
    assert twice.stderr == "doorcam: config check: give the file once, as FILE or as --config " \
        "FILE\n"


def test_push_without_a_contact_is_warned_about_before_the_web_app_refuses_it(
        tmp_path: Path) -> None:
    """`doorcam web` will not start with push on and no contact: `config check` says so."""
    conf = tmp_path / "doorcam.toml"
    conf.write_text(f'[store]\npath = "{tmp_path}/store"\n[push]\nenabled = true\n')
    check = _doorcam("config", "check", str(conf))
    assert check.returncode == 0, check.stderr
    warned = [line for line in check.stdout.splitlines() if line.startswith("warning:")]
    assert warned == ["warning: push.enabled = true needs push.contact ('mailto:you@example.org'"
                      " or an https:// URL): push services refuse pushes without it, so the "
                      "web app (doorcam web) will not start until it is set"]
    conf.write_text(f'[store]\npath = "{tmp_path}/store"\n[push]\nenabled = true\n'
                    'contact = "mailto:me@example.org"\n')
    check = _doorcam("config", "check", str(conf))
    assert check.returncode == 0 and "warning" not in check.stdout, check.stdout


def test_an_expiring_registry_is_noted_with_the_command_that_replaces_it(
        tmp_path: Path) -> None:
    """Installed from a file, `registry refresh` has nothing to fetch: the note names
    `registry install` instead."""
    from tests.uplink.test_registry_lifecycle import LAT, LON, Signer

    signer = Signer(tmp_path)
    conf = tmp_path / "doorcam.toml"
    conf.write_text(f'[store]\npath = "{tmp_path}/store"\n[device]\nlatitude = {LAT}\n'
                    f'longitude = {LON}\n[uplink]\nenabled = true\n'
                    f'registry_key = "{signer.public}"\n')
    installed = _doorcam("registry", "install", str(signer.sign(1, "--expires-days", "5")),
                         "--config", str(conf))
    assert installed.returncode == 0, installed.stderr
    check = _doorcam("config", "check", str(conf), "--no-capture")
    assert check.returncode == 0, check.stderr
    [note] = [line for line in check.stdout.splitlines() if "agency registry" in line]
    assert note.endswith("get a newer one from its signer (doorcam registry install "
                         "FILE|URL)"), note
    assert "in 5 day(s)" in note or "in 4 day(s)" in note, note


def test_the_pi_camera_without_its_library_is_noted(tmp_path: Path) -> None:
    """`doorcam run` would retry a Pi camera whose library is missing for ever: the check
    says so up front (a note: the rest of the device still runs)."""
    import importlib.util

    conf = tmp_path / "doorcam.toml"
    conf.write_text(f'[store]\npath = "{tmp_path}/store"\n')  # the Pi camera by default
    fake = tmp_path / "site" / "picamera2"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('only looked up, never imported')\n")
    noted = "the picamera2 library is not installed here"
    for path, present in (("", importlib.util.find_spec("picamera2") is not None),
                          (str(fake.parent), True)):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (path, str(REPO)) if p))
        done = subprocess.run([sys.executable, "-m", "device.cli", "config", "check", str(conf)],
                              cwd=REPO, capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 0, done.stderr
        assert (noted in done.stdout) is not present, done.stdout



def test_a_broker_password_sent_in_clear_text_off_this_machine_is_warned_about(
        tmp_path: Path) -> None:
    conf = tmp_path / "doorcam.toml"

    def warned(host: str, tls: str) -> list[str]:
        conf.write_text(f'[store]\npath = "{tmp_path}/store"\n[owner_mqtt]\nenabled = true\n'
                        f'host = "{host}"\nusername = "porch"\npassword = "s3cret"\n'
                        f"tls = {tls}\n")
        check = _doorcam("config", "check", str(conf))
        assert check.returncode == 0, check.stdout + check.stderr
        assert "s3cret" not in check.stdout + check.stderr
        return [line for line in check.stdout.splitlines() if "clear text" in line]

    assert warned("192.168.1.20", "false") == [
        "warning: owner_mqtt.tls = false: the broker password goes to 192.168.1.20 in clear "
        "text, readable by anyone on the way, who can then log in as this device; set "
        "owner_mqtt.tls = true (the broker's TLS port is usually 8883)"]
    assert warned("127.0.0.1", "false") == [], "loopback never leaves the machine"
    assert warned("192.168.1.20", "true") == []
