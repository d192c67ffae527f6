"""`make deb`: an architecture-independent package that installs (into a scratch dpkg root,
maintainer scripts run chroot-less with DPKG_ROOT) and removes cleanly, keeping the config."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import require

REPO = Path(__file__).resolve().parent.parent


def _sh(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=300)


def test_deb_builds_installs_and_removes(tmp_path: Path) -> None:
    require(shutil.which("dpkg-deb"), "dpkg not available (not a Debian-family machine)")
    built = _sh("bash", str(REPO / "deploy" / "build-deb.sh"), str(tmp_path / "dist"))
    assert built.returncode == 0, built.stderr
    deb = Path(built.stdout.strip().splitlines()[-1])
    info = _sh("dpkg-deb", "-I", str(deb)).stdout
    assert "Architecture: all" in info
    for dep in ("python3-opencv", "python3-av", "python3-paho-mqtt", "python3-systemd"):
        assert dep in info
    root = tmp_path / "root"
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/updates").mkdir()
    (root / "etc").mkdir()
    (root / "var/lib/dpkg/status").touch()
    dpkg = ["dpkg", f"--root={root}", "--log=/dev/null", "--force-script-chrootless"]
    done = _sh(*dpkg, "--force-depends", "-i", str(deb))
    assert done.returncode == 0, done.stdout + done.stderr
    conf = root / "etc/doorcam/doorcam.toml"
    assert 'path = "/var/lib/doorcam"' in conf.read_text()
    # Readable by the service (group doorcam, 996 in this root), by no one else.
    assert conf.stat().st_mode & 0o777 == 0o640 and conf.stat().st_gid == 996
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert (wants / "doorcam.service").is_symlink()
    assert (wants / "doorcam-web.service").is_symlink(), "the web app is enabled too"
    timer = root / "etc/systemd/system/timers.target.wants/doorcam-registry-refresh.timer"
    assert timer.is_symlink(), "the registry refresh timer is enabled"
    assert (root / "lib/systemd/system/doorcam-registry-refresh.timer").is_file()
    refresh = (root / "lib/systemd/system/doorcam-registry-refresh.service").read_text()
    assert "ExecStart=/usr/bin/doorcam registry refresh --config /etc/doorcam/doorcam.toml" \
        in refresh
    web_unit = (root / "lib/systemd/system/doorcam-web.service").read_text()
    assert "ExecStart=/usr/bin/python3 -m device.web --config /etc/doorcam/doorcam.toml" \
        in web_unit and "Environment=PYTHONPATH=/usr/lib/doorcam\n" in web_unit
    served = subprocess.run(
        [sys.executable, "-m", "device.web", "--help"], cwd=tmp_path,
        capture_output=True, text=True, env={"PYTHONPATH": str(root / "usr/lib/doorcam"),
                                             "PATH": "/usr/bin:/bin"}, timeout=120)
    assert served.returncode == 0 and "adduser" in served.stdout, served.stderr
    passwd = (root / "etc/passwd").read_text()
    # The web app's own user, in the service's group.
    assert "doorcam:x:996:996:" in passwd and "doorcam-web:x:995:996:" in passwd
    assert "User=doorcam-web\n" in web_unit and "Group=doorcam\n" in web_unit
    cert_unit = (root / "lib/systemd/system/doorcam-web-cert.service").read_text()
    assert "ExecStart=/usr/bin/doorcam ca issue --config /etc/doorcam/doorcam.toml" in cert_unit
    assert "User=doorcam\n" in cert_unit
    assert (root / "etc/systemd/system/timers.target.wants/doorcam-web-cert.timer"
            ).is_symlink(), "the daily certificate check is enabled"
    assert (root / "usr/lib/doorcam/share-store.sh").stat().st_mode & 0o111
    avahi = root / "etc/avahi/services/doorcam.service"
    assert "<type>_https._tcp</type>" in avahi.read_text()
    assert "/etc/avahi/services/doorcam.service" in _sh("dpkg-deb", "-I", str(deb),
                                                        "conffiles").stdout
    unit = (root / "lib/systemd/system/doorcam.service").read_text()
    assert "ExecStart=/usr/bin/doorcam run --config /etc/doorcam/doorcam.toml" in unit
    bound = root / "lib/systemd/system/systemd-time-wait-sync.service.d/doorcam.conf"
    assert "TimeoutStartSec=90s" in bound.read_text(), "the wait for network time is bounded"
    web = root / "usr/lib/doorcam/device/web"
    assert (web / "templates/base.html").is_file() and (web / "static/app.css").is_file()
    check = subprocess.run(
        [sys.executable, "-c", "import sys; from device.cli import main; sys.exit(main())",
         "config", "check", str(conf)], cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": str(root / "usr/lib/doorcam"), "PATH": "/usr/bin:/bin"},
        timeout=120)
    assert check.returncode == 0, check.stderr
    gone = _sh(*dpkg, "-r", "doorcam")
    assert gone.returncode == 0, gone.stderr
    assert not (root / "usr/lib/doorcam").exists() and conf.exists()
    assert not (wants / "doorcam.service").exists()
    assert not (wants / "doorcam-web.service").exists()
    assert not timer.is_symlink() and not timer.exists()
    assert not (root / "etc/systemd/system/timers.target.wants/doorcam-web-cert.timer"
                ).is_symlink()
    assert not bound.exists(), "nothing of doorcam changes the clock wait once removed"
