"""A Debian trixie root filesystem for boot tests under systemd-nspawn.

The base tree (debootstrap plus the package's dependencies from apt) is built once and kept
in a cache directory keyed by the dependency list; each test boots an overlay of it, so the
base is never changed by a test.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import require

REPO = Path(__file__).resolve().parent.parent
SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
# The owner's broker runs inside the container too (status and Home Assistant discovery);
# systemd-timesyncd as on Raspberry Pi OS (it ships systemd-time-wait-sync).
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus", "util-linux", "mosquitto",
                 "mosquitto-clients", "systemd-timesyncd")
CACHE = Path(os.environ.get("DOORCAM_BOOT_CACHE", "/var/tmp/doorcam-boot-cache"))
# The tests on this tree run on one xdist worker, one after another (`make unit` runs the
# suite in parallel): the first builds the cached tree while the next would hold a worker
# waiting on the cache lock; they are the suite's longest and start first (tests/conftest.py).
ONE_WORKER = pytest.mark.xdist_group("debian-tree")


def require_boot_tools() -> None:
    """Skip unless this machine can debootstrap and boot a container (CI: fail)."""
    missing = [t for t in ("debootstrap", "systemd-nspawn", "dpkg-deb") if not shutil.which(t)]
    why = ""
    if os.geteuid() != 0:
        why = "boot tests need root (debootstrap, overlay mounts, systemd-nspawn)"
    elif missing:
        why = f"boot tests need {', '.join(missing)} (apt install debootstrap systemd-container)"
    require(not why, why)


def package_depends() -> list[str]:
    """The package names in deploy/debian/control.in's Depends (versions are apt's business)."""
    control = (REPO / "deploy" / "debian" / "control.in").read_text()
    line = re.search(r"^Depends:(.*)$", control, re.MULTILINE)
    assert line, "control.in has no Depends line"
    return [re.split(r"[\s(]", d.strip())[0] for d in line[1].split(",") if d.strip()]


def _run(cmd: list[str], log: Path, timeout: float) -> None:
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                              check=False)
    if done.returncode != 0:
        tail = log.read_text()[-3000:]
        pytest.fail(f"{cmd[0]} failed ({done.returncode}); log {log}:\n{tail}")


def base_root() -> Path:
    """The cached base tree, built on first use (about two minutes with a nearby mirror)."""
    packages = sorted(set(BASE_PACKAGES) | set(package_depends()))
    key = hashlib.sha256(f"{SUITE} {MIRROR} {' '.join(packages)}".encode()).hexdigest()[:16]
    root = CACHE / f"{SUITE}-{key}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / ".doorcam-base-complete").exists():
            return root
        work = CACHE / f"{root.name}.partial"
        shutil.rmtree(work, ignore_errors=True)
        log = CACHE / f"{root.name}.log"
        log.unlink(missing_ok=True)
        # debootstrap cannot resolve virtual packages, so only the init system comes from it
        # and apt installs the package's dependencies afterwards.
        _run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
              SUITE, str(work), MIRROR], log, timeout=900)
        shutil.copy("/etc/resolv.conf", work / "etc/resolv.conf")
        env = ["env", "DEBIAN_FRONTEND=noninteractive"]
        _run(["chroot", str(work), *env, "apt-get", "update", "-q"], log, timeout=600)
        _run(["chroot", str(work), *env, "apt-get", "install", "-y", "-q",
              "--no-install-recommends", *packages], log, timeout=900)
        _run(["chroot", str(work), "apt-get", "clean"], log, timeout=120)
        (work / ".doorcam-base-complete").touch()
        work.rename(root)
        return root


@contextlib.contextmanager
def overlay(base: Path, scratch: Path) -> Iterator[Path]:
    """A writable view of `base` whose changes land in `scratch` (an overlayfs mount)."""
    upper, work, merged = scratch / "upper", scratch / "work", scratch / "root"
    for d in (upper, work, merged):
        d.mkdir(parents=True)
    opts = f"lowerdir={base},upperdir={upper},workdir={work}"
    done = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(merged)],
                          capture_output=True, text=True, check=False)
    require(done.returncode == 0, f"cannot mount an overlay here: {done.stderr.strip()}")
    try:
        yield merged
    finally:
        subprocess.run(["umount", "-l", str(merged)], check=False)
