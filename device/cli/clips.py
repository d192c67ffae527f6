"""`doorcam clips list|show|export|delete` over the clip store."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from device.access import Invoker, sudo_invoker
from device.cli.admin import device_config
from device.cli.table import iso, local, render_rows
from device.errors import UserError

if TYPE_CHECKING:
    from device.store import ClipRecord

CHUNK = 1 << 20
LABELS = ("person", "ring", "motion")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("clips", help="list, show, export or delete stored clips")
    csub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--store", metavar="DIR", help="clip store directory (default: store.path)")
        q.add_argument("--config", metavar="FILE", help="config file (TOML)")
        q.add_argument("--json", action="store_true", help="machine-readable output")

    q = csub.add_parser("list", help="clips, newest first")
    q.add_argument("--limit", type=int, default=None, metavar="N",
                   help="at most N clips (1 or more)")
    q.add_argument("--label", choices=LABELS, help="only clips with this label: a person "
                   "was seen, the doorbell rang, or motion started the recording")
    common(q)
    q.set_defaults(run=_list)
    q = csub.add_parser("show", help="one clip: metadata, file, integrity and playability")
    q.add_argument("id", help="the clip's id, as `clips list` shows it")
    common(q)
    q.set_defaults(run=_show)
    q = csub.add_parser("export", help="copy a clip out of the store (verified by SHA-256)")
    q.add_argument("id", help="the clip's id, as `clips list` shows it")
    q.add_argument("dest", help="destination file or directory")
    q.add_argument("--force", action="store_true", help="overwrite an existing file")
    common(q)
    q.set_defaults(run=_export)
    q = csub.add_parser("delete", help="delete a clip and its thumbnail")
    q.add_argument("id", help="the clip's id, as `clips list` shows it")
    q.add_argument("--force", action="store_true",
                   help="delete even a clip held for a pending agency request")
    common(q)
    q.set_defaults(run=_delete)


def _store(args: argparse.Namespace, *, read_only: bool = False) -> Any:
    from device.store import require_store
    from device.wiring import build

    cfg = device_config(args.config, args.store)
    if read_only:
        require_store(cfg.store.path)
    return build.open_store(cfg)


def _with_iso(info: dict[str, Any]) -> dict[str, Any]:
    """Epoch seconds stay for scripts; each gets an ISO 8601 twin (`start_wall_iso`)."""
    for key in ("start_wall", "end_wall", "created"):
        if isinstance(info.get(key), int | float):
            info[f"{key}_iso"] = iso(info[key])
    return info


def _list(args: argparse.Namespace) -> int:
    from device.errors import UserError

    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be 1 or more, not {args.limit}")
    # More than a store can hold means all of them (SQLite's integers end at 2**63 - 1).
    limit = args.limit if args.limit is not None and args.limit < 2**31 else None
    store = _store(args, read_only=True)
    records = store.list(limit=limit, label=args.label)
    if args.json:
        print(json.dumps([_with_iso({**r.to_json(), "path": str(store.clip_path(r.id)),
                                     "thumbnail": str(store.thumbnail_path(r.id))})
                          for r in records], indent=2))
    elif not records:
        print(f"no clips labelled {args.label} in {store.root}" if args.label
              else f"no clips in {store.root}")
    else:
        print(render_rows(records))
        if any(r.simulated or not r.clock_synced for r in records):
            print("\nsimulated: from a synthetic scene or a video file; clock unsynced: "
                  "recorded before the system clock was set by network time. Neither is "
                  "offered to agency requests.")
        short = [r.id for r in records if r.cut_short]
        if short:
            print(f"\ncut short by a power cut or crash (saved up to the last second on "
                  f"disk): {', '.join(short)}")
        count, size = store.totals()
        print(f"\n{count} clip(s), {size / 1e6:.1f} MB in {store.root}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from capture.frame import SourceError
    from capture.media.decode import probe_clip

    store = _store(args, read_only=True)
    rec = store.get(args.id)
    path = store.clip_path(rec.id)
    intact = store.verify(rec.id)
    probe, undecodable = None, None
    if intact:
        try:
            probe = probe_clip(path)
        except SourceError as exc:  # shown, not raised: this is where one looks for it
            undecodable = str(exc).removeprefix(f"{path}: ")
    info: dict[str, Any] = rec.to_json()
    info.update(path=str(path), thumbnail=str(store.thumbnail_path(rec.id)), sha256_ok=intact,
                decodes=probe is not None,
                decoded_frames=probe.frames if probe else None)
    if undecodable:
        info["decode_error"] = undecodable
    person = store.labels(rec.id).get("person")
    if person:
        info["person"] = person  # the frames a person was seen in, and where
    if args.json:
        print(json.dumps(_with_iso(info), indent=2))
        return 0 if probe else 1
    for key in ("clock_max_error_ms", "clock_est_error_ms"):
        del info[key]  # on the clock line
    for key, value in info.items():
        if key == "clock_synced":
            key, value = "clock", clock_line(rec)
        elif key in ("start_wall", "end_wall", "created") and isinstance(value, float):
            value = f"{local(value)} ({value:.3f})"
        elif key == "duration" and isinstance(value, float):
            value = f"{value:.2f} s"
        elif key == "cut_short" and value:
            value = "yes: recording was interrupted (power cut or crash) and the clip ends "\
                "at the last fragment saved"
        elif key == "labels":
            value = ", ".join(value) or "-"
        elif key == "person":
            frames = value.get("frames", [])
            value = (f"seen in {len(frames)} checked frame(s), first frame "
                     f"{frames[0] if frames else '?'}")
        elif key == "simulated" and value:
            value = "yes: from a synthetic scene or a video file, not the camera; never "\
                "offered to agency requests"
        if isinstance(value, bool):
            value = "yes" if value else "no"
        print(f"{key:>14}: {value}")
    return 0 if probe else 1


def clock_line(rec: ClipRecord) -> str:
    """The system clock when the clip was recorded, as `clips show` states it."""
    if not rec.clock_synced:
        return ("not synchronised at capture: network time had not set it, so the clip's "
                "times may be wrong; never offered to agency requests")
    if rec.clock_max_error_ms is None:
        return "synchronised, error bound not known"
    return f"synchronised, error ≤ {rec.clock_max_error_ms} ms"


def _export(args: argparse.Namespace) -> int:
    invoker = sudo_invoker()
    if invoker is not None:
        out = _export_for(invoker, args)
    else:
        store = _store(args)
        dest = _destination(args.dest, store.get(args.id).id)
        out = store.export(args.id, dest, overwrite=args.force)
        os.chmod(out, _ordinary_mode())  # the store keeps its own files 0600; a copy is not
    if args.json:
        print(json.dumps({"id": args.id, "path": str(out)}))
    else:
        print(f"exported {args.id} to {out} (SHA-256 verified)")
    return 0


def _destination(given: str, clip_id: str) -> Path:
    """ID.mp4 in a directory, else the file named; a name ending in / is a directory even
    when there is none (a file must not take the directory's name)."""
    dest = Path(given).expanduser()
    if dest.is_dir():
        return dest / f"{clip_id}.mp4"
    if given.endswith(("/", os.sep)):
        raise UserError(f"{given}: no such directory; create it first, or name the file to "
                        "write")
    return dest


def _ordinary_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o644 & ~umask


def _export_for(invoker: Invoker, args: argparse.Namespace) -> Path:
    """`sudo doorcam clips export`: the store is read as its owner (as every owner command
    reads it), the copy is written by a forked helper that has become the user who ran sudo,
    so it lands where they may write (a 0700 home included), owned by them, mode 0644, and
    nowhere they could not have written themselves."""
    data_r, data_w = os.pipe()
    said_r, said_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the helper
        os.close(data_w)
        os.close(said_r)
        code = 1
        try:
            invoker.become()
            with os.fdopen(data_r, "rb") as source:
                out = _receive(source, args.dest, overwrite=args.force)
            os.write(said_w, str(out).encode())
            code = 0
        except UserError as exc:
            os.write(said_w, str(exc).encode())
        except (ValueError, KeyError):
            os.write(said_w, b"the store side sent no clip; nothing exported")
        except OSError as exc:
            os.write(said_w, f"{exc.filename or args.dest}: {exc.strerror or exc}".encode())
        finally:
            os._exit(code)
    os.close(data_r)
    os.close(said_w)
    try:
        try:
            _send(args, data_w)
        finally:
            os.close(data_w)
    finally:
        with os.fdopen(said_r, "rb") as said:
            message = said.read(4096).decode("utf-8", "replace")
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise UserError(f"exporting clip {args.id}: {message}")
    return Path(message)


def _send(args: argparse.Namespace, sink: int) -> None:
    """Header line (id, SHA-256), then the clip's bytes; an early close means no clip."""
    store = _store(args)  # as the store's owner from here on
    rec = store.get(args.id)
    try:
        with open(store.clip_path(rec.id), "rb") as f:
            _write_all(sink, json.dumps({"id": rec.id, "sha256": rec.sha256}).encode() + b"\n")
            while chunk := f.read(CHUNK):
                _write_all(sink, chunk)
    except BrokenPipeError:
        pass  # the helper gave up (it says why)
    except OSError as exc:
        raise UserError(f"reading clip {rec.id}: {exc.strerror or exc}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _receive(source: BinaryIO, given: str, *, overwrite: bool) -> Path:
    """The helper's side: the clip into `dest` (a file, or a directory for ID.mp4) through a
    temporary file renamed into place once the SHA-256 matches the store's record."""
    line = source.readline(4096)
    if not line.endswith(b"\n"):
        raise UserError("nothing exported")  # the store side failed and says why
    head = json.loads(line)
    clip_id, expected = str(head["id"]), str(head["sha256"])
    dest = _destination(given, clip_id)
    if not overwrite and (dest.exists() or dest.is_symlink()):
        raise UserError(f"{dest} already exists; not overwriting it (--force to replace it)")
    part = dest.with_name(f".{dest.name}.{clip_id}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        digest = hashlib.sha256()
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            _write_all(fd, chunk)
        if digest.hexdigest() != expected:
            raise UserError("the copy does not match the recorded SHA-256; nothing exported")
        os.fchmod(fd, _ordinary_mode())
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(part, dest)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        part.unlink(missing_ok=True)
        raise
    dir_fd = os.open(dest.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return dest


def _delete(args: argparse.Namespace) -> int:
    from device.errors import UserError

    store = _store(args, read_only=True)
    if store.get(args.id).held and not args.force:
        raise UserError(f"clip {args.id} is held: an agency request awaiting your decision "
                        "(doorcam requests list) or an accepted upload may need it; decide "
                        "first, or delete it anyway with --force")
    store.delete(args.id)
    if args.json:
        print(json.dumps({"deleted": args.id}))
    else:
        print(f"deleted {args.id}")
    return 0
