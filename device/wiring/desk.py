"""The request desk's parts over the clip store, light enough for the owner's web app:
the one catalog adapter (with the offerable filter and the clock statement), the device's
identity, and the deciding half (`open_decisions`) that the daemon, `doorcam requests` and
the web app all build the same way. The taking-in half is in `device.wiring.uplink`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Protocol

from config import Config
from device.store import ClipNotFound, ClipRecord
from device.wiring.paths import DevicePaths
from uplink.audit import AuditLog
from uplink.desk.book import RequestBook
from uplink.desk.catalog import ClipInfo, DeviceIdentity
from uplink.desk.decisions import Decisions
from uplink.protocol.evidence import ClockStatement


class ClipShelf(Protocol):
    """What the catalog needs of the clips: the daemon's `ClipStore` or the web app's
    `ClipView`."""

    def list(self, limit: int | None = None, since: float | None = None
             ) -> list[ClipRecord]: ...

    def get(self, clip_id: str) -> ClipRecord: ...

    def set_held(self, clip_id: str, held: bool) -> None: ...

    def clip_path(self, clip_id: str) -> Path: ...


class StoreCatalog:
    """The clip store as the uplink sees it (uplink may not import device).

    Only camera clips recorded with a synchronised clock are offered to requests; with
    `match_simulated` (demos) simulated clips are too, whatever the clock said: the demo's
    agency dates its request by the same machine's clock.
    """

    def __init__(self, shelf: ClipShelf, *, match_simulated: bool = False) -> None:
        self.shelf = shelf
        self.match_simulated = match_simulated

    def _offerable(self, rec: ClipRecord) -> bool:
        return self.match_simulated if rec.simulated else rec.clock_synced

    def _info(self, rec: ClipRecord) -> ClipInfo:
        return ClipInfo(id=rec.id, start_wall=rec.start_wall, end_wall=rec.end_wall,
                        size=rec.size, sha256=rec.sha256,
                        clock=ClockStatement(rec.clock_synced, rec.clock_max_error_ms),
                        offerable=self._offerable(rec))

    def overlapping(self, start: float, end: float) -> list[ClipInfo]:
        return [self._info(r) for r in self.shelf.list()
                if r.start_wall <= end and r.end_wall >= start and self._offerable(r)]

    def get(self, clip_id: str) -> ClipInfo | None:
        try:
            return self._info(self.shelf.get(clip_id))
        except ClipNotFound:
            return None

    def set_held(self, clip_id: str, held: bool) -> None:
        with suppress(ClipNotFound):
            self.shelf.set_held(clip_id, held)

    def path(self, clip_id: str) -> Path:
        return self.shelf.clip_path(clip_id)


def catalog(cfg: Config, shelf: ClipShelf) -> StoreCatalog:
    return StoreCatalog(shelf, match_simulated=cfg.uplink.match_simulated)


def identity(cfg: Config) -> DeviceIdentity:
    return DeviceIdentity(cfg.device.id, cfg.device.latitude, cfg.device.longitude)


@contextmanager
def open_decisions(cfg: Config, shelf: ClipShelf) -> Iterator[Decisions]:
    """The deciding half of the desk over `shelf`, with its own book and audit connections,
    closed on exit."""
    paths = DevicePaths.of(cfg)
    with closing(AuditLog(paths.audit)) as audit, closing(RequestBook(paths.desk)) as book:
        yield Decisions(book, catalog(cfg, shelf), audit)
