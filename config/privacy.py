"""The [privacy] config section: areas the device never keeps or shows."""

from __future__ import annotations

from dataclasses import dataclass

from config.fields import polygons, setting


@dataclass(frozen=True)
class PrivacyConfig:
    """Privacy masks: areas painted black in clips, thumbnails, snapshots and uploads."""

    masks: list[list[list[float]]] = setting(  # noqa: RUF009 (a field with metadata)
        [], "Polygons painted black before anything is recorded or shown (a neighbour's "
        "window or door, the street), in 0..1 frame fractions: [[[x, y], [x, y], [x, y]], "
        "...]. Motion inside them is ignored too. Clips from a camera without its own "
        "masking (files, streams) are then re-encoded.", check=polygons, restart=True)
