"""The pi-gen stage's scripts against a root filesystem (the image itself is not built here):
package install step, first-boot unit, and the first-boot config import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import require

REPO = Path(__file__).resolve().parent.parent
STAGE = REPO / "deploy" / "pi-gen" / "stage-doorcam"
ON_CHROOT = 'on_chroot() { cat > "$ROOTFS_DIR/../chroot-script.sh"; }; export -f on_chroot'


def _step(step: Path, rootfs: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ROOTFS_DIR=str(rootfs))
    return subprocess.run(["bash", "-c", f"{ON_CHROOT}; bash -e ./01-run.sh"], cwd=step,
                          env=env, capture_output=True, text=True, timeout=120)


def test_install_step_puts_the_package_into_the_image(tmp_path: Path) -> None:
    require(shutil.which("dpkg-deb"), "dpkg not available (not a Debian-family machine)")
    stage = tmp_path / "stage"
    shutil.copytree(STAGE, stage)
    built = subprocess.run(["bash", str(REPO / "deploy/build-deb.sh"),
                            str(stage / "00-install/files")], capture_output=True, text=True,
                           timeout=120)
    assert built.returncode == 0, built.stderr
    rootfs = tmp_path / "rootfs"
    (rootfs / "tmp").mkdir(parents=True)
    done = _step(stage / "00-install", rootfs)
    assert done.returncode == 0, done.stderr
    assert (rootfs / "tmp/doorcam.deb").stat().st_size > 10_000
    script = (tmp_path / "chroot-script.sh").read_text()
    assert "apt-get install -y /tmp/doorcam.deb" in script
    assert "python3-picamera2" in (stage / "00-install/00-packages").read_text()


def _firstboot(tmp_path: Path, rootfs: Path) -> subprocess.CompletedProcess[str]:
    doorcam = tmp_path / "doorcam"
    doorcam.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m device.cli "$@"\n')
    doorcam.chmod(0o755)
    env = dict(os.environ, ROOT=str(rootfs), DOORCAM=str(doorcam),
               PYTHONPATH=str(REPO))
    return subprocess.run([str(rootfs / "usr/lib/doorcam/doorcam-firstboot")], env=env,
                          capture_output=True, text=True, timeout=120)


def test_first_boot_imports_a_valid_config_and_refuses_a_broken_one(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    done = _step(STAGE / "01-firstboot", rootfs)
    assert done.returncode == 0, done.stderr
    unit = rootfs / "etc/systemd/system/doorcam-firstboot.service"
    assert "Before=doorcam.service" in unit.read_text()
    assert (rootfs / "etc/systemd/system/multi-user.target.wants/doorcam-firstboot.service"
            ).is_symlink()
    boot = rootfs / "boot/firmware"
    boot.mkdir(parents=True)
    (boot / "doorcam.toml").write_text('[device]\nid = "front-door"\n')
    done = _firstboot(tmp_path, rootfs)
    assert done.returncode == 0, done.stderr
    conf = rootfs / "etc/doorcam/doorcam.toml"
    assert 'id = "front-door"' in conf.read_text()
    assert conf.stat().st_mode & 0o777 == 0o640
    assert not (boot / "doorcam.toml").exists(), "the FAT copy must not stay readable"

    (boot / "doorcam.toml").write_text("[motion]\nthreshold = 999\n")
    done = _firstboot(tmp_path, rootfs)
    assert done.returncode == 0
    assert 'id = "front-door"' in conf.read_text(), "a broken config must not replace it"
    assert (boot / "doorcam.toml.invalid").exists()
    assert "motion.threshold = 999" in (boot / "doorcam-config-error.txt").read_text()
