"""A request's area as an inline SVG: the circle and where this camera is. No map tiles."""

from __future__ import annotations

import math
from dataclasses import dataclass

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0


@dataclass(frozen=True)
class AreaPicture:
    """Everything the template draws, in a square viewBox centred on the area's centre."""

    extent: float  # half the side of the viewBox, metres
    radius: float
    device_x: float
    device_y: float  # SVG y grows downwards: north is up
    distance_m: float
    inside: bool

    @property
    def view_box(self) -> str:
        e = self.extent
        return f"{-e:.1f} {-e:.1f} {2 * e:.1f} {2 * e:.1f}"

    @property
    def stroke(self) -> float:
        return self.extent / 120

    @property
    def dot(self) -> float:
        return self.extent / 22


def area_picture(centre_lat: float, centre_lon: float, radius_m: float, device_lat: float,
                 device_lon: float) -> AreaPicture:
    dx = (device_lon - centre_lon) * M_PER_DEG_LON_EQ * math.cos(math.radians(centre_lat))
    dy = (device_lat - centre_lat) * M_PER_DEG_LAT
    distance = math.hypot(dx, dy)
    extent = max(radius_m, distance, 1.0) * 1.2
    return AreaPicture(extent, float(radius_m), dx, -dy, distance, distance <= radius_m)
