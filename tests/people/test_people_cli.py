"""The people stage through the commands: simulate on real footage labels the event and the
clip; `doorcam people install-model` against a real HTTP server on loopback."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from device.cli import main
from device.cli.people import MODEL_SHA256, fetch
from device.errors import UserError
from tests.people.footage import WAVINGTREES_PERSON


def test_simulate_labels_the_event_and_its_clip(test_data: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    store, events = tmp_path / "store", tmp_path / "events.jsonl"
    assert main(["simulate", str(test_data / "wavingtrees" / "input"), "--store", str(store),
                 "--events-jsonl", str(events)]) == 0
    capsys.readouterr()
    (event,) = [json.loads(line) for line in events.read_text().splitlines()]
    assert event["labels"] == ["motion", "person"]
    assert event["person_frame"] >= WAVINGTREES_PERSON and event["people"][0]["boxes"]
    assert main(["clips", "list", "--store", str(store), "--label", "person", "--json"]) == 0
    (clip,) = json.loads(capsys.readouterr().out)
    assert clip["labels"] == ["motion", "person"] and clip["id"] == event["clip"]
    assert main(["clips", "show", "--store", str(store), clip["id"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    # Every sighting is kept; the label came with the one that confirmed the first.
    frames = shown["person"]["frames"]
    assert len(frames) >= 2 and frames[-1] == event["person_frame"]
    assert frames[0] >= WAVINGTREES_PERSON


def test_simulate_with_people_off_labels_motion_only(test_data: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text("[people]\nenabled = false\n", encoding="utf-8")
    store = tmp_path / "store"
    assert main(["simulate", str(test_data / "wavingtrees" / "input"), "--store", str(store),
                 "--config", str(cfg), "--quiet"]) == 0
    assert main(["clips", "list", "--store", str(store), "--json"]) == 0
    assert [c["labels"] for c in json.loads(capsys.readouterr().out)] == [["motion"]]


def test_a_missing_model_is_a_clear_error(test_data: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(f'[people]\ndetector = "yolox"\nmodel = "{tmp_path}/none.onnx"\n',
                   encoding="utf-8")
    code = main(["detect", str(test_data / "wavingtrees" / "input"), "--config", str(cfg)])
    assert code == 2
    assert "people: no people model at" in capsys.readouterr().err


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on a free loopback port serving the files in a folder."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_fetch_installs_a_file_with_the_pinned_hash(server: tuple[str, Path],
                                                    tmp_path: Path) -> None:
    url, root = server
    body = b"onnx model bytes" * 1000
    (root / "m.onnx").write_bytes(body)
    dest = tmp_path / "models" / "yolox_nano.onnx"
    fetch(f"{url}/m.onnx", dest, hashlib.sha256(body).hexdigest(), len(body))
    assert dest.read_bytes() == body
    assert [p.name for p in dest.parent.iterdir()] == ["yolox_nano.onnx"]


def test_a_wrong_hash_or_size_installs_nothing_and_keeps_the_old_model(
        server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    body = b"x" * 5000
    (root / "m.onnx").write_bytes(body)
    dest = tmp_path / "models" / "yolox_nano.onnx"
    dest.parent.mkdir()
    dest.write_bytes(b"the model installed before")
    with pytest.raises(UserError, match="is not the pinned"):
        fetch(f"{url}/m.onnx", dest, "0" * 64, len(body))
    with pytest.raises(UserError, match="more than the model's 4000 bytes"):
        fetch(f"{url}/m.onnx", dest, hashlib.sha256(body).hexdigest(), 4000)
    with pytest.raises(UserError, match="5000 bytes, the model has 6000"):
        fetch(f"{url}/m.onnx", dest, hashlib.sha256(body).hexdigest(), 6000)
    with pytest.raises(UserError, match="answered 404"):
        fetch(f"{url}/gone.onnx", dest, MODEL_SHA256, 10)
    assert dest.read_bytes() == b"the model installed before"
    assert [p.name for p in dest.parent.iterdir()] == ["yolox_nano.onnx"]


def test_install_model_refuses_what_is_not_the_pinned_model(
        server: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url, root = server
    (root / "fake.onnx").write_bytes(b"a different file")
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "store"}"\n', encoding="utf-8")
    assert main(["people", "install-model", "--config", str(cfg),
                 "--url", f"{url}/fake.onnx"]) == 1
    assert "the model has 3659407; not installed" in capsys.readouterr().err
    assert not (tmp_path / "store" / "models" / "yolox_nano.onnx").exists()
    local = tmp_path / "copy.onnx"
    local.write_bytes(b"also not it")
    assert main(["people", "install-model", "--config", str(cfg), "--file", str(local)]) == 1
    assert "not installed" in capsys.readouterr().err


def test_install_model_fetches_over_https_only(tmp_path: Path) -> None:
    """Refused before any connection: the check is on the URL alone."""
    with pytest.raises(UserError, match="over https"):
        fetch("http://192.0.2.1/yolox_nano.onnx", tmp_path / "m.onnx", MODEL_SHA256, 1)
    with pytest.raises(UserError, match="over https"):
        fetch("ftp://example.org/m.onnx", tmp_path / "m.onnx", MODEL_SHA256, 1)
