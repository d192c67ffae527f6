"""A Debian trixie tree with the real picamera2 (PyPI wheel) on Debian's libcamera, whose
amd64 build includes libcamera's virtual pipeline handler: a camera without hardware.

Built once as an overlay layer on top of the boot test's cached base tree (which already has
the package's dependencies: numpy, OpenCV, PyAV ...) and cached next to it, keyed by the base
and by the packages below; each test mounts base + layer + its own scratch upper directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bootroot import CACHE, _run, base_root, require_boot_tools
from tests.support import require

# libcamera and what picamera2 imports at start-up (Debian packages where Debian has them).
APT_PACKAGES = ("python3-libcamera", "libcamera-ipa", "python3-prctl", "python3-pil",
                "python3-piexif", "python3-jsonschema", "python3-libarchive-c", "python3-tqdm")
# The wheel that `pip install picamera2` gets; pure Python, installed without its deps.
WHEELS = ("picamera2==0.3.38", "videodev2==0.0.4", "simplejpeg==1.9.0")
PIDNG = "pidng==4.0.9"  # source only; picamera2 imports just its pure-Python modules
SITE = "opt/picamera2-test/site"  # on PYTHONPATH inside the tree
DONE = ".doorcam-picam-complete"


def require_tools() -> None:
    """Skip unless this machine can build and enter the tree (CI: fail)."""
    require(platform.machine() == "x86_64",
            f"the virtual-camera test needs an x86_64 machine (Debian's amd64 libcamera "
            f"has the virtual pipeline), not {platform.machine()}")
    require_boot_tools()


def _tree_python(root: Path, log: Path) -> str:
    out = subprocess.run(["chroot", str(root), "python3", "-c",
                          "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, timeout=60, check=False)
    if out.returncode != 0:
        pytest.fail(f"python3 in the tree: {out.stderr}; log {log}")
    return out.stdout.strip()


def _install_wheels(root: Path, log: Path) -> None:
    site = root / SITE
    site.mkdir(parents=True)
    pyver = _tree_python(root, log)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "install", "-q", "--no-deps", "--only-binary=:all:", "--implementation", "cp",
          "--python-version", pyver, "--platform", "manylinux2014_x86_64",
          "--platform", "manylinux_2_28_x86_64", "--target", str(site), *WHEELS],
         log, timeout=600)
    with tempfile.TemporaryDirectory() as tmp:
        _run([*pip, "download", "-q", "--no-deps", "--no-binary=:all:", "-d", tmp, PIDNG],
             log, timeout=600)
        (sdist,) = Path(tmp).glob("pidng-*.tar.gz")
        with tarfile.open(sdist) as tar:
            for m in tar.getmembers():
                parts = Path(m.name).parts
                if m.isfile() and parts[1:3] == ("src", "pidng") and m.name.endswith(".py"):
                    dest = site / "pidng" / Path(*parts[3:])
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    src = tar.extractfile(m)
                    assert src is not None
                    dest.write_bytes(src.read())


def _mount(lowers: list[Path], scratch: Path) -> Path:
    upper, work, merged = scratch / "upper", scratch / "work", scratch / "root"
    for d in (upper, work, merged):
        d.mkdir(parents=True, exist_ok=True)
    opts = f"lowerdir={':'.join(map(str, lowers))},upperdir={upper},workdir={work}"
    done = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(merged)],
                          capture_output=True, text=True, check=False)
    require(done.returncode == 0, f"cannot mount an overlay here: {done.stderr.strip()}")
    return merged


def layer() -> tuple[Path, Path]:
    """(picamera2 layer, base tree), building the layer on first use (about a minute)."""
    base = base_root()
    key = hashlib.sha256(" ".join((base.name, *APT_PACKAGES, *WHEELS, PIDNG)).encode())
    final = CACHE / f"{base.name}-picam-{key.hexdigest()[:12]}"
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / DONE).exists():
            return final / "upper", base
        partial = CACHE / f"{final.name}.partial"
        if partial.exists():
            subprocess.run(["umount", "-l", str(partial / "root")], check=False,
                           capture_output=True)
            shutil.rmtree(partial)
        log = CACHE / f"{final.name}.log"
        log.unlink(missing_ok=True)
        root = _mount([base], partial)
        try:
            shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
            env = ["env", "DEBIAN_FRONTEND=noninteractive"]
            _run(["chroot", str(root), *env, "apt-get", "update", "-q"], log, timeout=600)
            _run(["chroot", str(root), *env, "apt-get", "install", "-y", "-q",
                  "--no-install-recommends", *APT_PACKAGES], log, timeout=900)
            _run(["chroot", str(root), "apt-get", "clean"], log, timeout=120)
            _install_wheels(root, log)
        finally:
            subprocess.run(["umount", str(root)], check=False)
        shutil.rmtree(partial / "work", ignore_errors=True)
        (partial / DONE).touch()
        partial.rename(final)
        return final / "upper", base


@contextlib.contextmanager
def picam_tree(scratch: Path) -> Iterator[Path]:
    """A writable view of base + picamera2 layer whose changes land in `scratch`."""
    top, base = layer()
    merged = _mount([top, base], scratch)
    try:
        yield merged
    finally:
        subprocess.run(["umount", "-l", str(merged)], check=False)
