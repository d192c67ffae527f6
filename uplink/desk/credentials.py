"""The device's Content Credentials on the clips of one accepted request: what it states
about each (device, capture time and clock, the request and case, the video's own signing,
the cut) signed with the video key under the device's own CA."""

from __future__ import annotations

import logging
from importlib import metadata
from pathlib import Path

from uplink.desk.catalog import ClipInfo
from uplink.desk.media_key import CredentialsKey
from uplink.desk.scope import CutSpan
from uplink.protocol.credentials import (
    CredentialsError,
    CutFacts,
    ShareFacts,
    add_credentials,
)
from uplink.protocol.media import verify_media

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("doorcam")
    except metadata.PackageNotFoundError:
        return "unknown"


class RequestCredentials:
    """The `Credentialer` of scope, for one request."""

    def __init__(self, key: CredentialsKey, *, device_id: str, request_id: str,
                 case_number: str, agency_id: str) -> None:
        self._key = key
        self._device_id = device_id
        self._request = (request_id, case_number, agency_id)

    def add(self, source: Path, dest: Path, info: ClipInfo, cut: CutSpan | None) -> bool:
        video = verify_media(source)
        first, last = (0.0, info.end_wall - info.start_wall) if cut is None else (
            cut.start_s, cut.end_s)
        facts = ShareFacts(
            self._device_id, info.id, info.start_wall + first, info.start_wall + last,
            info.clock, *self._request, video_signed=video.signed and video.ok,
            video_gops=sum(g.status == "valid" for g in video.gops),
            cut=None if cut is None else CutFacts(info.sha256, cut.start_s, cut.end_s))
        try:
            add_credentials(source, dest, facts, key_pem=self._key.key_pem,
                            chain_pem=self._key.chain_pem, generator_version=_version())
        except CredentialsError as e:
            log.warning("%s; the clip is shared without them", e)
            return False
        return True
