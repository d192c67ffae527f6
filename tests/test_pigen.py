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


def test_install_step_sets_up_the_venv_with_headless_opencv(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    shutil.copytree(STAGE, stage)
    files = stage / "00-install/files"
    files.mkdir(exist_ok=True)
    archived = subprocess.run(["git", "archive", "--format=tar.gz", "-o",
                               str(files / "doorcam-src.tar.gz"), "HEAD"], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
    require(archived.returncode == 0, f"not a git checkout: {archived.stderr.strip()}")
    rootfs = tmp_path / "rootfs"
    (rootfs / "tmp").mkdir(parents=True)
    done = _step(stage / "00-install", rootfs)
    assert done.returncode == 0, done.stderr
    assert (rootfs / "tmp/doorcam-src.tar.gz").stat().st_size > 10_000
    script = (tmp_path / "chroot-script.sh").read_text()
    assert "deploy/install.sh --no-apt --no-systemctl" in script
    assert "chgrp doorcam /etc/doorcam/doorcam.toml" in script
    assert "multi-user.target.wants" in script
    assert "/etc/systemd/system/doorcam-registry-refresh.timer /etc/systemd/system/" \
        "timers.target.wants/" in script
    assert "/etc/systemd/system/doorcam-web-cert.timer /etc/systemd/system/" \
        "timers.target.wants/" in script
    packages = (stage / "00-install/00-packages").read_text().split()
    assert "python3-picamera2" in packages and "python3-venv" in packages
    # As install.sh and the .deb: the doorbell's pin library (lgpio) comes with Pi OS's
    # gpiozero; pip cannot build it there.
    assert "python3-gpiozero" in packages
    # Qt, VTK and GDAL stay off a Lite card: OpenCV comes from the headless wheel.
    assert "python3-opencv" not in packages
    install = (REPO / "deploy/install.sh").read_text()
    assert "python3 -m venv --system-site-packages" in install
    assert '"opencv-python-headless' in (REPO / "setup.py").read_text()


def _firstboot(tmp_path: Path, rootfs: Path) -> subprocess.CompletedProcess[str]:
    doorcam = tmp_path / "doorcam"
    doorcam.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m device.cli "$@"\n')
    doorcam.chmod(0o755)
    env = dict(os.environ, ROOT=str(rootfs), DOORCAM=str(doorcam),
               PYTHONPATH=str(REPO))
    return subprocess.run([str(rootfs / "usr/lib/doorcam/doorcam-firstboot")], env=env,
                          capture_output=True, text=True, timeout=120)


SECRET = "hunter2-broker-password"


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

    # Rejected: a wrong value and a broker password of the wrong type.
    (boot / "doorcam.toml").write_text(
        f'[motion]\nthreshold = 999\n[mqtt]\nusername = "cam"\npassword = ["{SECRET}"]\n')
    done = _firstboot(tmp_path, rootfs)
    assert done.returncode == 0
    assert 'id = "front-door"' in conf.read_text(), "a broken config must not replace it"
    assert not (boot / "doorcam.toml").exists() and not (boot / "doorcam.toml.invalid").exists()
    on_boot = [p for p in boot.rglob("*") if p.is_file()]
    assert [p.name for p in on_boot] == ["doorcam-config-error.txt"], on_boot
    notice = (boot / "doorcam-config-error.txt").read_text()
    assert "doorcam.toml:2: motion.threshold = 999: must be between" in notice
    assert "doorcam.toml:5: mqtt.password: must be a string" in notice
    assert SECRET not in notice and str(rootfs) not in notice
    kept = rootfs / "etc/doorcam/rejected/doorcam.toml"
    assert SECRET in kept.read_text(), "the owner's file is kept, off the boot partition"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert kept.parent.stat().st_mode & 0o777 == 0o700 and kept.stat().st_uid == os.geteuid()

    # Fixed and put back: imported, and the stale notice and rejected copy are gone.
    (boot / "doorcam.toml").write_text('[device]\nid = "back-door"\n')
    done = _firstboot(tmp_path, rootfs)
    assert done.returncode == 0, done.stderr
    assert 'id = "back-door"' in conf.read_text()
    assert not (boot / "doorcam-config-error.txt").exists()
    assert not (rootfs / "etc/doorcam/rejected").exists()
    assert sorted(p.name for p in (rootfs / "etc/doorcam").iterdir()) == ["doorcam.toml"]


def test_first_boot_installs_a_registry_from_the_boot_partition(tmp_path: Path) -> None:
    """A doorcam-registry.json on the boot partition goes through `doorcam registry install`
    (signature, rollback, audit) and leaves the partition, installed or not."""
    from tests.uplink.test_registry_lifecycle import Signer

    signer = Signer(tmp_path)
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    assert _step(STAGE / "01-firstboot", rootfs).returncode == 0
    unit = (rootfs / "etc/systemd/system/doorcam-firstboot.service").read_text()
    assert "ConditionPathExists=|/boot/firmware/doorcam-registry.json" in unit
    boot = rootfs / "boot/firmware"
    boot.mkdir(parents=True)
    store = tmp_path / "store"
    (rootfs / "etc/doorcam").mkdir(parents=True)
    (rootfs / "etc/doorcam/doorcam.toml").write_text(
        f'[store]\npath = "{store}"\n[uplink]\nregistry_key = "{signer.public}"\n')
    v1, v2 = signer.sign(1), signer.sign(2)

    (boot / "doorcam-registry.json").write_bytes(v2.read_bytes())
    done = _firstboot(tmp_path, rootfs)
    assert done.returncode == 0, done.stderr
    assert "installed the boot partition's doorcam-registry.json" in done.stdout
    assert (store / "registry.json").read_bytes() == v2.read_bytes()
    assert not (boot / "doorcam-registry.json").exists()
    assert sorted(p.name for p in (rootfs / "etc/doorcam").iterdir()) == ["doorcam.toml"]
    from uplink.audit import AuditLog

    with AuditLog(store / "audit.sqlite3") as audit:
        assert [e.kind for e in audit.entries()] == ["registry"]

    # An older one is refused through the same rollback check, and the reason left behind.
    (boot / "doorcam-registry.json").write_bytes(v1.read_bytes())
    done = _firstboot(tmp_path, rootfs)
    assert done.returncode == 0, done.stderr
    assert (store / "registry.json").read_bytes() == v2.read_bytes()
    assert [p.name for p in boot.iterdir()] == ["doorcam-registry-error.txt"]
    notice = (boot / "doorcam-registry-error.txt").read_text()
    assert "doorcam-registry.json: registry version 1 is older than 2" in notice
    assert str(rootfs) not in notice

    (boot / "doorcam-registry.json").write_bytes(v2.read_bytes())
    assert _firstboot(tmp_path, rootfs).returncode == 0
    assert not any(boot.iterdir()), "installed (already current): notice and file gone"


def test_first_boot_takes_a_config_and_the_registry_it_trusts_together(tmp_path: Path) -> None:
    """A first card: a doorcam.toml taking part in agency requests and the registry it needs,
    both on the boot partition. The config is checked against that registry, then the
    registry installed under the config's key; neither waits for the other."""
    from tests.uplink.test_registry_lifecycle import LAT, LON, Signer

    signer = Signer(tmp_path)
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    assert _step(STAGE / "01-firstboot", rootfs).returncode == 0
    boot = rootfs / "boot/firmware"
    boot.mkdir(parents=True)
    store = tmp_path / "store"
    (rootfs / "etc/doorcam").mkdir(parents=True)
    (rootfs / "etc/doorcam/doorcam.toml").write_text(f'[store]\npath = "{store}"\n')
    uplink = (f'[store]\npath = "{store}"\n[device]\nlatitude = {LAT}\nlongitude = {LON}\n'
              f'[uplink]\nenabled = true\nregistry_key = "{signer.public}"\n')
    assert not (store / "registry.json").exists()
    (boot / "doorcam.toml").write_text(uplink)
    (boot / "doorcam-registry.json").write_bytes(signer.sign(1).read_bytes())
    done = _firstboot(tmp_path, rootfs)
    assert done.returncode == 0, done.stderr
    assert "imported the boot partition's doorcam.toml" in done.stdout, done.stderr
    assert "installed the boot partition's doorcam-registry.json" in done.stdout, done.stderr
    assert (rootfs / "etc/doorcam/doorcam.toml").read_text() == uplink
    # The daemon's state folder, made before `registry install` could make it root's 0700.
    assert (rootfs / "var/lib/doorcam").stat().st_mode & 0o777 == 0o770
    assert not any(boot.iterdir()), [p.name for p in boot.iterdir()]
    assert sorted(p.name for p in (rootfs / "etc/doorcam").iterdir()) == ["doorcam.toml"]

    # With a newer registry in place, an older one beside a config: the config is taken
    # (it works with the one installed), the older registry refused by the rollback check.
    newer = signer.sign(3)
    assert _firstboot_registry_now(tmp_path, rootfs, newer) == 0
    changed = uplink + "[motion]\nthreshold = 30\n"
    (boot / "doorcam.toml").write_text(changed)
    (boot / "doorcam-registry.json").write_bytes(signer.sign(2).read_bytes())
    done = _firstboot(tmp_path, rootfs)
    assert done.returncode == 0, done.stderr
    assert (rootfs / "etc/doorcam/doorcam.toml").read_text() == changed, done.stderr
    assert [p.name for p in boot.iterdir()] == ["doorcam-registry-error.txt"]
    assert "registry version 2 is older than 3" in \
        (boot / "doorcam-registry-error.txt").read_text()
    assert (store / "registry.json").read_bytes() == newer.read_bytes()
    (boot / "doorcam-registry-error.txt").unlink()
    uplink = changed

    # A registry the config's key did not sign: the config is refused, naming it, and the
    # registry with it (the previous config trusts no registry).
    (tmp_path / "other").mkdir()
    other = Signer(tmp_path / "other")
    (boot / "doorcam.toml").write_text(uplink.replace(signer.public, other.public))
    (boot / "doorcam-registry.json").write_bytes(signer.sign(2).read_bytes())
    done = _firstboot(tmp_path, rootfs)
    assert done.returncode == 0, done.stderr
    assert (rootfs / "etc/doorcam/doorcam.toml").read_text() == uplink
    notice = (boot / "doorcam-config-error.txt").read_text()
    assert "uplink.registry_file = 'doorcam-registry.json': registry refused" in notice, notice
    assert str(rootfs) not in notice
    assert sorted(p.name for p in (rootfs / "etc/doorcam/rejected").iterdir()) == \
        ["doorcam.toml"]


def _firstboot_registry_now(tmp_path: Path, rootfs: Path, registry: Path) -> int:
    """Put `registry` alone on the boot partition and run the import; its exit status."""
    (rootfs / "boot/firmware/doorcam-registry.json").write_bytes(registry.read_bytes())
    return _firstboot(tmp_path, rootfs).returncode


def _hostname_step(tmp_path: Path, rootfs: Path) -> subprocess.CompletedProcess[str]:
    doorcam = tmp_path / "doorcam"
    doorcam.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m device.cli "$@"\n')
    doorcam.chmod(0o755)
    env = dict(os.environ, ROOT=str(rootfs), DOORCAM=str(doorcam), PYTHONPATH=str(REPO))
    return subprocess.run([str(rootfs / "usr/lib/doorcam/doorcam-hostname")], env=env,
                          capture_output=True, text=True, timeout=120)


def test_first_boot_names_the_machine_after_the_device(tmp_path: Path) -> None:
    """avahi-daemon (in the image's packages) announces the host name; at the first boot it
    becomes the device's own name, the one its CA vouches for; an owner's choice is kept."""
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    done = _step(STAGE / "01-firstboot", rootfs)
    assert done.returncode == 0, done.stderr
    assert "avahi-daemon" in (STAGE / "00-install/00-packages").read_text().split()
    unit = (rootfs / "etc/systemd/system/doorcam-hostname.service").read_text()
    assert "ConditionFirstBoot=yes" in unit and "Before=avahi-daemon.service" in unit
    assert (rootfs / "etc/systemd/system/multi-user.target.wants/doorcam-hostname.service"
            ).is_symlink()
    (rootfs / "etc/doorcam").mkdir(parents=True)
    (rootfs / "etc/doorcam/doorcam.toml").write_text('[device]\nid = "doorcam-1a2b3c4d"\n')
    (rootfs / "etc/hostname").write_text("raspberrypi\n")
    (rootfs / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n")
    done = _hostname_step(tmp_path, rootfs)
    assert done.returncode == 0, done.stderr
    assert (rootfs / "etc/hostname").read_text() == "doorcam-1a2b3c4d\n"
    assert "127.0.1.1\tdoorcam-1a2b3c4d\n" in (rootfs / "etc/hosts").read_text()
    (rootfs / "etc/hostname").write_text("frontdoor\n")
    done = _hostname_step(tmp_path, rootfs)
    assert done.returncode == 0 and "keeping" in done.stdout, done.stderr
    assert (rootfs / "etc/hostname").read_text() == "frontdoor\n"
