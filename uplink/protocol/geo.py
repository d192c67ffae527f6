"""Geohash cells, great-circle distance and the MQTT topics requests are published on."""

from __future__ import annotations

import math
from collections import deque
from typing import Final, NamedTuple

BASE32: Final = "0123456789bcdefghjkmnpqrstuvwxyz"
_DECODE: Final = {c: i for i, c in enumerate(BASE32)}
EARTH_RADIUS_M: Final = 6_371_008.8  # IUGG mean radius
TOPIC_PRECISION: Final = 5
REQUESTS_BASE: Final = "doorcam/v1/requests"  # `<[mqtt] topic_prefix>/requests`
# Covering is computed on a lat/lon box; this slack keeps a cell the circle only grazes.
_COVER_SLACK_M: Final = 1.0
_MAX_COVER_CELLS: Final = 4096


class Box(NamedTuple):
    """A geohash cell's bounds in degrees."""

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float


def _check(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        raise ValueError(f"not a coordinate: {lat!r}, {lon!r}")


def encode(lat: float, lon: float, precision: int = TOPIC_PRECISION) -> str:
    """The geohash of a point (latitude, longitude in degrees)."""
    _check(lat, lon)
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    chars: list[str] = []
    bits = value = 0
    even = True  # geohash interleaves bits starting with longitude
    while len(chars) < precision:
        if even:
            mid = (lon_lo + lon_hi) / 2
            bit = lon >= mid
            lon_lo, lon_hi = (mid, lon_hi) if bit else (lon_lo, mid)
        else:
            mid = (lat_lo + lat_hi) / 2
            bit = lat >= mid
            lat_lo, lat_hi = (mid, lat_hi) if bit else (lat_lo, mid)
        value = value * 2 + int(bit)
        bits += 1
        even = not even
        if bits == 5:
            chars.append(BASE32[value])
            bits = value = 0
    return "".join(chars)


def bounds(geohash: str) -> Box:
    """The cell a geohash names; ValueError for characters outside its alphabet."""
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    even = True
    for ch in geohash:
        if ch not in _DECODE:
            raise ValueError(f"not a geohash: {geohash!r}")
        for shift in range(4, -1, -1):
            bit = (_DECODE[ch] >> shift) & 1
            if even:
                mid = (lon_lo + lon_hi) / 2
                lon_lo, lon_hi = (mid, lon_hi) if bit else (lon_lo, mid)
            else:
                mid = (lat_lo + lat_hi) / 2
                lat_lo, lat_hi = (mid, lat_hi) if bit else (lat_lo, mid)
            even = not even
    return Box(lat_lo, lat_hi, lon_lo, lon_hi)


def neighbours(geohash: str) -> list[str]:
    """The up to 8 cells around `geohash` (fewer at the poles), longitude wrapping around."""
    box = bounds(geohash)
    dlat, dlon = box.lat_max - box.lat_min, box.lon_max - box.lon_min
    clat, clon = (box.lat_min + box.lat_max) / 2, (box.lon_min + box.lon_max) / 2
    found: list[str] = []
    for dy in (1, 0, -1):
        for dx in (-1, 0, 1):
            lat = clat + dy * dlat
            if (dx, dy) == (0, 0) or not -90 < lat < 90:
                continue
            lon = (clon + dx * dlon + 180) % 360 - 180
            cell = encode(lat, lon, len(geohash))
            if cell != geohash and cell not in found:
                found.append(cell)
    return found


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres on a spherical Earth."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def distance_to_box_m(lat: float, lon: float, box: Box) -> float:
    """Distance from a point to the nearest point of a cell (0 inside it)."""
    if box.lon_min <= lon <= box.lon_max:  # straight along the meridian
        return distance_m(lat, lon, min(max(lat, box.lat_min), box.lat_max), lon)
    return min(_distance_to_edge_m(lat, lon, box.lon_min, box),
               _distance_to_edge_m(lat, lon, box.lon_max, box))


def _distance_to_edge_m(lat: float, lon: float, edge_lon: float, box: Box) -> float:
    """Distance from a point to a cell's edge on meridian `edge_lon`.

    The nearest point of a meridian is poleward of the point's own latitude (far from the
    equator, by more than a cell's width near a pole), so the point's latitude is not used:
    the nearest point is the perpendicular's foot, kept on the edge, or an end of the edge.
    """
    candidates = [box.lat_min, box.lat_max]
    c = math.cos(math.radians(edge_lon - lon))
    if c > 0:  # the foot is on this meridian, not on its continuation over the pole
        foot = math.degrees(math.atan2(math.sin(math.radians(lat)),
                                       math.cos(math.radians(lat)) * c))
        candidates.append(min(max(foot, box.lat_min), box.lat_max))
    return min(distance_m(lat, lon, la, edge_lon) for la in candidates)


def topic(cell: str, base: str = REQUESTS_BASE) -> str:
    """The MQTT topic requests for one precision-5 cell are published on, under `base`."""
    return f"{base}/{cell}"


def topics_for(lat: float, lon: float, base: str = REQUESTS_BASE) -> list[str]:
    """A device's subscriptions: its own cell's topic, nothing else.

    Publishers send a request to every cell its circle touches (`cells_covering`), so the
    own cell receives every request whose circle contains the device.
    """
    return [topic(encode(lat, lon, TOPIC_PRECISION), base)]


def cells_covering(lat: float, lon: float, radius_m: float,
                   precision: int = TOPIC_PRECISION) -> list[str]:
    """Every cell the circle touches (sorted); a publisher sends a request to each."""
    _check(lat, lon)
    if not (math.isfinite(radius_m) and radius_m >= 0):
        raise ValueError(f"bad radius {radius_m!r}")
    start = encode(lat, lon, precision)
    seen, todo = {start}, deque([start])
    # The touched cells form one connected patch around the centre, so a flood fill finds all.
    while todo:
        cell = todo.popleft()
        for nb in neighbours(cell):
            if nb in seen or distance_to_box_m(lat, lon, bounds(nb)) > radius_m + _COVER_SLACK_M:
                continue
            seen.add(nb)
            if len(seen) > _MAX_COVER_CELLS:
                raise ValueError("circle covers too many cells")
            todo.append(nb)
    return sorted(seen)
