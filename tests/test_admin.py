"""Owner commands on the device: the installed config is their default, and run as root they
act as the store's owner so that what they create stays writable by the daemon."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import device.access
import device.cli.admin
import device.cli.clips
import device.store
import device.wiring.build
from config import ConfigError
from config.loader import Problem
from device.access import config_path
from device.cli import main
from device.cli.admin import device_config
from device.errors import UserError
from tests.support import require

NOBODY = 65534


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can reach (pytest's own tmp dirs are root-only)."""
    d = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="doorcam-admin-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_the_installed_config_is_the_default(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    installed = tmp_path / "doorcam.toml"
    monkeypatch.setattr(device.access, "INSTALLED_CONFIG", installed)
    monkeypatch.delenv("DOORCAM_CONFIG", raising=False)
    assert config_path(None) is None  # a development checkout: defaults
    installed.write_text("")
    assert config_path(None) == str(installed)
    monkeypatch.setenv("DOORCAM_CONFIG", "/elsewhere.toml")
    assert config_path(None) == "/elsewhere.toml"
    assert config_path("mine.toml") == "mine.toml"


def test_an_unreadable_config_says_to_use_sudo(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: object) -> None:
        raise ConfigError([Problem(str(path), None, "(file)", None,
                                   "cannot be read: [Errno 13] Permission denied")])

    monkeypatch.setattr(device.access, "load_config", denied)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(UserError, match="run this with sudo"):
        device_config("/etc/doorcam/doorcam.toml", None)


def test_root_acts_as_the_store_owner(shared_dir: Path) -> None:
    require(os.geteuid() == 0, "needs root to switch users")
    store = shared_dir / "store"
    _make_store(store)  # the daemon made it; read-only commands never create one
    for p in [store, *store.rglob("*")]:
        os.chown(p, NOBODY, NOBODY)
    # Everything the command needs is imported here: after the switch, the child may not be
    # able to read this machine's Python installation (on the device it is in /usr).
    pid = os.fork()
    if pid == 0:
        code = 100
        try:
            code = main(["clips", "list", "--store", str(store)])
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    made = list(store.rglob("*"))
    assert made, "the store was not opened"
    assert {(p.stat().st_uid, p.stat().st_gid) for p in made} == {(NOBODY, NOBODY)}, made


def _make_store(root: Path) -> None:
    from config import StoreConfig
    from device.store import ClipStore

    ClipStore(StoreConfig(path=str(root))).close()


def test_root_with_a_root_owned_store_stays_root(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _make_store(store)
    assert main(["clips", "list", "--store", str(store)]) == 0
    assert store.stat().st_uid == os.geteuid()


_ = (device.wiring.build, device.cli.clips, device.store)  # imported before forking, see above


INVOKER = 64123  # a scratch user (no passwd entry needed) who runs `sudo doorcam`


def _as_root_under_sudo(args: list[str], umask: int = 0o022) -> int:
    """`main(args)` in a forked root process that sudo started for INVOKER."""
    pid = os.fork()
    if pid == 0:
        code = 100
        try:
            os.environ.update(SUDO_UID=str(INVOKER), SUDO_GID=str(INVOKER))
            os.umask(umask)
            code = main(args)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.fixture
def sudo_world(shared_dir: Path) -> tuple[Path, str, bytes]:
    """A store owned by the service user (nobody) holding one clip; its (store, id, bytes)."""
    from device.store import ClipStore
    from tests.store.helpers import commit_bytes, store_config

    store = shared_dir / "store"
    data = os.urandom(300_000)
    with ClipStore(store_config(store)) as clips:
        clip_id = commit_bytes(clips, data)
    for p in [store, *store.rglob("*")]:
        os.chown(p, NOBODY, NOBODY)
    return store, clip_id, data


def test_sudo_export_writes_a_file_the_invoking_user_owns(
        shared_dir: Path, sudo_world: tuple[Path, str, bytes]) -> None:
    require(os.geteuid() == 0, "needs root to switch users")
    store, clip_id, data = sudo_world
    home = shared_dir / "home"
    home.mkdir(mode=0o700)
    os.chown(home, INVOKER, INVOKER)  # a 0700 home: the store's owner cannot write here
    shared = shared_dir / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    for dest in (home, shared / "porch.mp4"):
        assert _as_root_under_sudo(["clips", "export", clip_id, str(dest), "--store",
                                    str(store)]) == 0
        out = dest / f"{clip_id}.mp4" if dest.is_dir() else dest
        st = out.stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (INVOKER, INVOKER, 0o644), out
        assert out.read_bytes() == data
        assert [p.name for p in out.parent.iterdir()] == [out.name], "no temporary file left"
    made = [p for p in store.rglob("*") if (p.stat().st_uid, p.stat().st_gid) != (NOBODY,) * 2]
    assert made == [], "the store was touched as someone other than its owner"


def test_sudo_export_refuses_what_the_invoking_user_could_not_do(
        shared_dir: Path, sudo_world: tuple[Path, str, bytes],
        capfd: pytest.CaptureFixture[str]) -> None:
    require(os.geteuid() == 0, "needs root to switch users")
    store, clip_id, data = sudo_world
    roots = shared_dir / "roots"  # root may write here; the invoking user may not
    roots.mkdir(mode=0o755)
    assert _as_root_under_sudo(["clips", "export", clip_id, str(roots), "--store",
                                str(store)]) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "Permission denied" in err and "Traceback" not in err
    assert list(roots.iterdir()) == []

    home = shared_dir / "home"
    home.mkdir(mode=0o700)
    os.chown(home, INVOKER, INVOKER)
    taken = home / "clip.mp4"
    taken.write_bytes(b"the owner's own file")
    os.chown(taken, INVOKER, INVOKER)
    assert _as_root_under_sudo(["clips", "export", clip_id, str(taken), "--store",
                                str(store)]) == 2
    assert "already exists" in capfd.readouterr().err
    assert taken.read_bytes() == b"the owner's own file"
    assert _as_root_under_sudo(["clips", "export", "20990101T000000Z-00000000", str(home),
                                "--store", str(store)]) == 2
    err = capfd.readouterr().err
    assert "no clip" in err and "Traceback" not in err
    assert [p.name for p in home.iterdir()] == ["clip.mp4"]
    assert _as_root_under_sudo(["clips", "export", clip_id, str(taken), "--force", "--store",
                                str(store)]) == 0
    assert taken.read_bytes() == data and taken.stat().st_uid == INVOKER


def _as_root(args: list[str]) -> int:
    """`main(args)` in a forked root process, not under sudo (it becomes the store's owner)."""
    pid = os.fork()
    if pid == 0:
        code = 100
        try:
            for name in ("SUDO_UID", "SUDO_GID"):
                os.environ.pop(name, None)
            code = main(args)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_export_to_a_directory_that_is_not_there_writes_no_file_by_its_name(
        shared_dir: Path, sudo_world: tuple[Path, str, bytes],
        capfd: pytest.CaptureFixture[str]) -> None:
    """`clips export ID out/` with no `out` folder: one line saying so, and no file named
    `out` (which would then stand where the owner meant a folder); with the folder there,
    the clip lands in it."""
    require(os.geteuid() == 0, "needs root to switch users")
    store, clip_id, data = sudo_world
    shared_dir.chmod(0o1777)
    missing = shared_dir / "exports"
    said = f"{missing}/: no such directory; create it first, or name the file to write\n"
    for run in (_as_root, _as_root_under_sudo):
        assert run(["clips", "export", clip_id, f"{missing}/", "--store", str(store)]) == 2
        err = capfd.readouterr().err
        assert err.startswith("doorcam: ") and err.endswith(said) and err.count("\n") == 1, err
        assert not missing.exists()
    for n, run in enumerate((_as_root, _as_root_under_sudo)):
        there = shared_dir / f"there-{n}"
        there.mkdir()
        there.chmod(0o777)
        assert run(["clips", "export", clip_id, f"{there}/", "--store", str(store)]) == 0, \
            capfd.readouterr().err
        assert (there / f"{clip_id}.mp4").read_bytes() == data


def test_clip_details_read_as_words_and_times(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """`clips show` says yes/no, the local time and seconds, as its other lines do; --json
    keeps the values as they are. A clip that does not play is shown (with why), exit 1."""
    import json

    from device.store import ClipStore
    from tests.store.helpers import commit_bytes, store_config

    root = tmp_path / "store"
    with ClipStore(store_config(root)) as clips:
        clip_id = commit_bytes(clips, duration=4.0)
    assert main(["clips", "show", clip_id, "--store", str(root), "--json"]) == 1  # not a video
    raw = json.loads(capsys.readouterr().out)
    assert (raw["held"], raw["cut_short"], raw["sha256_ok"], raw["duration"]) == \
        (False, False, True, 4.0)
    assert main(["clips", "show", clip_id, "--store", str(root)]) == 1
    lines = {k.strip(): v.strip() for k, _, v in
             (line.partition(": ") for line in capsys.readouterr().out.splitlines())}
    assert (lines["held"], lines["cut_short"], lines["sha256_ok"], lines["decodes"]) == \
        ("no", "no", "yes", "no")
    assert lines["duration"] == "4.00 s"
    assert lines["created"].endswith(f"({raw['created']:.3f})") and ":" in lines["created"]
    assert "True" not in lines.values() and "False" not in lines.values()
    assert lines["decode_error"].startswith("not a video FFmpeg can decode"), lines
