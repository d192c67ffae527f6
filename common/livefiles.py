"""The live view's files, as the daemon publishes them and the web app serves them.

One directory on tmpfs holds: the stream's initialisation segment, its fragments (about
half a second each, the newest few seconds), the HLS segments (one GOP each, for players
without Media Source Extensions), the HLS playlist, an index for the page's own player, and
the current snapshot. Names are fixed or numbered; `is_live_file` is the web app's whole
test of a name it is asked for, so nothing else in the directory can be reached.
"""

from __future__ import annotations

import re

INDEX = "live.json"  # the page's player: generation, init segment, fragments
PLAYLIST = "live.m3u8"  # HLS (iPhone Safari without ManagedMediaSource)
SNAPSHOT = "snapshot.jpg"

_INIT = re.compile(r"init-(\d{1,9})\.mp4", re.ASCII)
_FRAGMENT = re.compile(r"f(\d{1,12})\.m4s", re.ASCII)
_SEGMENT = re.compile(r"s(\d{1,12})\.m4s", re.ASCII)
_NAME = re.compile(r"(init-\d{1,9}\.mp4|[fs]\d{1,12}\.m4s|live\.json|live\.m3u8|"
                   r"snapshot\.jpg)", re.ASCII)

CONTENT_TYPES = {".mp4": "video/mp4", ".m4s": "video/iso.segment", ".json": "application/json",
                 ".m3u8": "application/vnd.apple.mpegurl", ".jpg": "image/jpeg"}


def init_name(generation: int) -> str:
    """The initialisation segment (ftyp + moov) of one stream generation: a new one starts
    when the camera's parameter sets change (another size after a reopening)."""
    return f"init-{generation}.mp4"


def fragment_name(seq: int) -> str:
    return f"f{seq}.m4s"


def segment_name(seq: int) -> str:
    return f"s{seq}.m4s"


def is_live_file(name: str) -> bool:
    """A name the live directory may hold (and the web app may serve): nothing with a
    slash, a dot file or a temporary file of the publisher."""
    return _NAME.fullmatch(name) is not None


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(name[name.rfind("."):], "application/octet-stream")


def numbered(name: str) -> tuple[str, int] | None:
    """("init" | "fragment" | "segment", number) of a numbered file, else None."""
    for kind, rx in (("init", _INIT), ("fragment", _FRAGMENT), ("segment", _SEGMENT)):
        m = rx.fullmatch(name)
        if m:
            return kind, int(m.group(1))
    return None
