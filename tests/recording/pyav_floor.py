"""The oldest PyAV the package supports (Debian trixie's python3-av), installed beside the
test environment so a child interpreter can import it instead of the venv's own.

The wheel is installed once into a cache directory keyed by version, Python and machine
(as tests/picamroot.py caches the picamera2 wheels); `DOORCAM_PYAV_FLOOR_SITE` names a
directory already holding it, for machines that must not download (`pip install --no-deps
--only-binary=:all: --target DIR av==14.2.0`).
"""

from __future__ import annotations

import fcntl
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import require

VERSION = "14.2.0"  # python3-av in Debian trixie; setup.py asks for av>=14
CACHE = Path(os.environ.get("DOORCAM_PYAV_CACHE", "/var/tmp/doorcam-pyav-cache"))
DONE = ".doorcam-complete"


def floor_site() -> Path:
    """A directory to put first on PYTHONPATH: `import av` there gives PyAV `VERSION`."""
    given = os.environ.get("DOORCAM_PYAV_FLOOR_SITE")
    if given:
        site = Path(given)
        require((site / "av").is_dir(), f"DOORCAM_PYAV_FLOOR_SITE={site} holds no av package")
        return site
    tag = f"av-{VERSION}-cp{sys.version_info[0]}{sys.version_info[1]}-{platform.machine()}"
    site = CACHE / tag
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (site / DONE).exists():
            return site
        partial = CACHE / f"{tag}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "--no-deps", "--only-binary=:all:", "--target", str(partial), f"av=={VERSION}"],
            capture_output=True, text=True, timeout=600, check=False)
        require(done.returncode == 0,
                f"cannot install PyAV {VERSION} for this Python: "
                f"{(done.stderr.strip().splitlines() or ['pip failed'])[-1]}")
        (partial / DONE).touch()
        partial.rename(site)
        return site
