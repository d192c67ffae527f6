"""deploy/install.sh into a scratch root: venv, config, unit, user; idempotent; uninstall
keeps clips and config."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "deploy" / "install.sh"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=600)


def test_install_reinstall_uninstall(tmp_path: Path) -> None:
    root = tmp_path / "root"
    done = _run("--root", str(root))
    assert done.returncode == 0, done.stderr[-2000:]
    doorcam = root / "opt" / "doorcam" / "venv" / "bin" / "doorcam"
    conf = root / "etc" / "doorcam" / "doorcam.toml"
    unit = root / "etc" / "systemd" / "system" / "doorcam.service"
    check = subprocess.run([str(doorcam), "config", "check", str(conf)], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    cfg = tomllib.loads(conf.read_text())
    assert cfg["store"]["path"] == "/var/lib/doorcam"
    assert cfg["capture"]["source"] == "picamera:0?size=1920x1080&fps=25&lores=320x240"
    assert conf.stat().st_mode & 0o007 == 0, "the config may hold broker passwords"
    assert unit.read_text() == (REPO / "deploy" / "doorcam.service").read_text()
    web_unit = unit.with_name("doorcam-web.service")
    assert web_unit.read_text() == (REPO / "deploy" / "doorcam-web.service").read_text()
    for name in ("doorcam-registry-refresh.service", "doorcam-registry-refresh.timer"):
        assert unit.with_name(name).read_text() == (REPO / "deploy" / name).read_text()
    python = root / "opt" / "doorcam" / "venv" / "bin" / "python3"
    assert python.exists(), "the web unit runs the venv's python3 -m device.web"
    passwd = (root / "etc" / "passwd").read_text()
    assert "doorcam:x:996:996:" in passwd
    assert "doorcam-web:x:995:996:" in passwd, "the web app's own user, in the group"
    for name in ("doorcam-web-cert.service", "doorcam-web-cert.timer"):
        assert unit.with_name(name).read_text() == (REPO / "deploy" / name).read_text()
    avahi = root / "etc" / "avahi" / "services" / "doorcam.service"
    assert avahi.read_text() == (REPO / "deploy" / "avahi-doorcam.service").read_text()
    assert "video:x:44:doorcam" in (root / "etc" / "group").read_text()
    link = root / "usr" / "local" / "bin" / "doorcam"
    assert link.is_symlink() and str(link.readlink()) == "/opt/doorcam/venv/bin/doorcam"

    conf.write_text(conf.read_text().replace("picamera:0", "picamera:1"))
    (root / "var" / "lib" / "doorcam" / "clips").mkdir(parents=True)
    clip = root / "var" / "lib" / "doorcam" / "clips" / "x.mp4"
    clip.write_bytes(b"footage")
    again = _run("--root", str(root))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "picamera:1" in conf.read_text(), "a reinstall must keep the owner's config"
    assert (root / "etc" / "passwd").read_text().count("doorcam:x:") == 1
    assert (root / "etc" / "passwd").read_text().count("doorcam-web:x:") == 1

    gone = _run("--root", str(root), "--uninstall")
    assert gone.returncode == 0, gone.stderr
    assert not (root / "opt" / "doorcam").exists() and not unit.exists()
    assert not web_unit.exists() and not avahi.exists()
    assert not unit.with_name("doorcam-web-cert.service").exists()
    assert not unit.with_name("doorcam-web-cert.timer").exists()
    assert not unit.with_name("doorcam-registry-refresh.timer").exists()
    assert not unit.with_name("doorcam-registry-refresh.service").exists()
    assert not link.is_symlink()
    assert clip.read_bytes() == b"footage" and conf.exists()
