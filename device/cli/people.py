"""`doorcam people install-model`: fetch the yolox people detector's model once, pinned by
size and SHA-256, to where `people.detector = "yolox"` looks for it.

The model is YOLOX-Nano (Apache-2.0), the ONNX file the YOLOX project publishes with its
0.1.1rc0 release. The device never fetches it by itself; the owner runs this once (the Pi
has internet), or copies the file over and installs it with --file.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO

from common import fsync_dir
from device.errors import EXIT_FAILURE, UserError

MODEL_URL = ("https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/"
             "yolox_nano.onnx")
MODEL_SHA256 = "c789161ed43c8269fcd4e67c67eeeb4e80c622da2eb296a20bc6007bd18a0b7d"
MODEL_SIZE = 3_659_407
TIMEOUT_S = 30.0
CHUNK = 1 << 16


def add_parser(sub: Any) -> None:
    p = sub.add_parser("people", help="the people detector: install its stronger model")
    psub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = psub.add_parser("install-model", help="fetch the YOLOX-Nano model (3.7 MB) and check "
                        "its SHA-256, for people.detector = \"yolox\"")
    q.add_argument("--url", default=MODEL_URL, help="where to fetch it (a mirror); the "
                   "size and SHA-256 are checked whatever the URL (default: the YOLOX "
                   "project's release)")
    q.add_argument("--file", metavar="PATH", help="install a copy fetched elsewhere instead")
    q.add_argument("--config", metavar="FILE", help="config file (TOML)")
    q.set_defaults(run=_install)


def _install(args: argparse.Namespace) -> int:
    from device.cli.admin import device_config
    from device.wiring import build

    cfg = device_config(args.config, None)  # the device's config; written as the store's owner
    dest = build.people_model(cfg)
    if args.file:
        try:
            with open(args.file, "rb") as f:
                install(f, dest, MODEL_SHA256, MODEL_SIZE, what=args.file)
        except OSError as exc:
            raise UserError(f"{args.file}: {exc.strerror or exc}", EXIT_FAILURE) from None
    else:
        fetch(args.url, dest, MODEL_SHA256, MODEL_SIZE)
    print(f"installed the people model at {dest} (SHA-256 {MODEL_SHA256[:16]}... verified); "
          "set people.detector = \"yolox\" and restart doorcam to use it")
    return 0


def check_url(url: str) -> None:
    """https, or http to this machine only (a local mirror): UserError otherwise."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http":
        try:
            if host == "localhost" or ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            pass
    raise UserError(f"{url}: the model is fetched over https (http only from this machine)")


def fetch(url: str, dest: Path, sha256: str, size: int, timeout: float = TIMEOUT_S) -> None:
    check_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": "doorcam"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            install(answer, dest, sha256, size, what=url)
    except urllib.error.HTTPError as exc:
        raise UserError(f"{url}: the server answered {exc.code} {exc.reason}",
                        EXIT_FAILURE) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise UserError(f"{url}: cannot fetch the model ({reason})", EXIT_FAILURE) from None


def install(source: BinaryIO, dest: Path, sha256: str, size: int, *, what: str) -> None:
    """Copy `source` to `dest` through a temporary file renamed into place only when its
    size and SHA-256 are the pinned ones; UserError, and nothing at `dest` changed, else."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        digest, got = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                got += len(chunk)
                if got > size:
                    raise UserError(f"{what}: more than the model's {size} bytes; not "
                                    "installed", EXIT_FAILURE)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if got != size:
            raise UserError(f"{what}: {got} bytes, the model has {size}; not installed",
                            EXIT_FAILURE)
        if digest.hexdigest() != sha256:
            raise UserError(f"{what}: SHA-256 {digest.hexdigest()} is not the pinned "
                            f"{sha256}; not installed", EXIT_FAILURE)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
