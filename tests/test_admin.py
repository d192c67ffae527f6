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
