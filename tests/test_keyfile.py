"""A key is read only from the reader's own private regular file: the web app's user, which
shares the store's folder through a group, cannot plant one (tests run as root, like CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.keyfile import read_key_file
from tests.support import require
from uplink.desk import load_or_create_device_key
from uplink.protocol import save_private_key


def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "device_key.pem"
    save_private_key(Ed25519PrivateKey.generate(), path)
    return path


def test_the_owners_private_file_is_read(tmp_path: Path) -> None:
    path = key_file(tmp_path)
    assert read_key_file(path).startswith(b"-----BEGIN PRIVATE KEY-----")
    assert load_or_create_device_key(path)[1].startswith("device-")


@pytest.mark.parametrize("mode", [0o640, 0o620, 0o604])
def test_a_file_others_may_read_or_write_is_refused(tmp_path: Path, mode: int) -> None:
    path = key_file(tmp_path)
    os.chmod(path, mode)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_or_create_device_key(path)


def test_a_symbolic_link_is_not_followed(tmp_path: Path) -> None:
    real = key_file(tmp_path)
    link = tmp_path / "planted.pem"
    link.symlink_to(real)
    with pytest.raises(OSError):  # ELOOP: O_NOFOLLOW
        read_key_file(link)
    with pytest.raises(OSError):
        load_or_create_device_key(link)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.pem"
    os.mkfifo(fifo, 0o600)  # no writer: a blocking open would wait for ever
    with pytest.raises(PermissionError, match="not a regular file"):
        read_key_file(fifo)


def test_another_users_file_is_refused(tmp_path: Path) -> None:
    require(os.geteuid() == 0, "needs root to give a file to another user")
    path = key_file(tmp_path)
    os.chown(path, 65534, 65534)  # as the web app's user would have written it
    assert os.stat(path.parent).st_uid == 0  # precondition: the folder is root's
    with pytest.raises(PermissionError, match="belongs to another user"):
        load_or_create_device_key(path)
