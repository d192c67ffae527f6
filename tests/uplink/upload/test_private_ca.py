"""Uploads to an agency whose server certificate chains to a private CA from the config."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from config import ConfigError, parse_config
from tests.uplink.upload.conftest import LOOPBACK, dev_config, write_random
from uplink.agency.receiver import TusReceiver
from uplink.errors import DestinationRefused
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.tus import TusClient


def test_uploads_trust_the_private_ca_named_in_the_config(
        tmp_path: Path, make_client: Callable[..., TusClient]) -> None:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    rx = TusReceiver(tmp_path / "tls", ssl_context=ctx).start()
    try:
        src = tmp_path / "clip.mp4"
        meta = write_random(src, 5000)
        store = SqliteResumeStore(tmp_path / "resume.sqlite3")
        plain = make_client(dev_config(allow_insecure_loopback=False), store)
        with pytest.raises(DestinationRefused, match="certificate"):
            plain.upload_file(src, rx.url, meta, "a", allowed_hosts=LOOPBACK)
        assert rx.log == [], "precondition: the system CAs do not trust the private CA"
        pem = tmp_path / "agency-ca.pem"
        ca.cert_pem.write_to_path(str(pem))
        cfg = parse_config(f'[upload]\nca_file = "{pem}"\n').upload
        make_client(cfg, store).upload_file(src, rx.url, meta, "b", allowed_hosts=LOOPBACK)
        [upload] = rx.completed().values()
        assert upload.path.read_bytes() == src.read_bytes()
    finally:
        rx.stop()
    with pytest.raises(ConfigError, match="readable PEM file"):
        parse_config(f'[upload]\nca_file = "{tmp_path / "missing.pem"}"\n')
