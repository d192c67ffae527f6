"""npm packages a test needs (a folder of tests/ with package.json and package-lock.json),
installed with `npm ci` once per lock file into a cache outside the checkout."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from tests.support import require

CACHE = Path(os.environ.get("DOORCAM_NPM_CACHE", "/var/tmp/doorcam-npm"))


def node_modules(here: Path) -> Path:
    """The node_modules folder of `here`'s locked packages."""
    require(shutil.which("node") and shutil.which("npm"),
            f"node and npm not installed (apt install nodejs npm); {here.name} needs them")
    lock = (here / "package-lock.json").read_bytes()
    folder = CACHE / hashlib.sha256(lock).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".installing").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # another test run may be installing the same lock
        if not (folder / "node_modules" / ".package-lock.json").exists():
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(here / name, folder / name)
            run = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=folder, capture_output=True, text=True, timeout=300)
            require(run.returncode == 0,
                    f"npm ci of tests/{here.name} failed (no registry?): {run.stderr[-500:]}")
    return folder / "node_modules"
