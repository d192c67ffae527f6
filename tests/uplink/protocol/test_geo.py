"""Geohash cells, topics, the publisher's covering, and the location/window matchers."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.uplink.protocol.world import request_body
from uplink.protocol.fields import format_time
from uplink.protocol.geo import (
    EARTH_RADIUS_M,
    bounds,
    cells_covering,
    distance_m,
    distance_to_box_m,
    encode,
    neighbours,
    topic,
    topics_for,
)
from uplink.protocol.request import AgencyRequest, location_in_area, parse_request, window_overlaps

lats = st.floats(-85, 85, allow_nan=False)
lons = st.floats(-180, 180, allow_nan=False, exclude_max=True)


def destination(lat: float, lon: float, bearing_deg: float, d: float) -> tuple[float, float]:
    """The point `d` metres from (lat, lon) along `bearing_deg`, on the same sphere."""
    p1, l1, b = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    a = d / EARTH_RADIUS_M
    p2 = math.asin(math.sin(p1) * math.cos(a) + math.cos(p1) * math.sin(a) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(a) * math.cos(p1),
                         math.cos(a) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


def request(**top: Any) -> AgencyRequest:
    return parse_request(json.dumps(request_body(**top)).encode())


def test_known_geohashes() -> None:
    assert encode(42.605, -5.603, 5) == "ezs42"  # the classic example
    assert encode(57.64911, 10.40744, 11) == "u4pruydqqvj"
    box = bounds("ezs42")
    assert box.lat_min <= 42.605 <= box.lat_max and box.lon_min <= -5.603 <= box.lon_max


def test_neighbours_of_a_known_cell() -> None:
    assert sorted(neighbours("ezs42")) == sorted(
        ["ezs48", "ezs49", "ezs43", "ezs41", "ezs40", "ezefp", "ezefr", "ezefx"])


def test_neighbours_wrap_the_antimeridian_and_stop_at_the_pole() -> None:
    west_edge = encode(0.01, -179.99)
    assert any(bounds(n).lon_max == 180 for n in neighbours(west_edge))
    assert len(neighbours(encode(89.99, 0.0))) == 5


def test_a_device_subscribes_to_its_own_cell_only() -> None:
    assert topics_for(40.6928, -73.9903) == ["doorcam/v1/requests/" + encode(40.6928, -73.9903, 5)]


def _lyon_cell() -> Any:
    return bounds(encode(45.76, 4.84))


# A device 1 m inside its cell's border, inside a request circle centred in another cell.
# (device lat, lon), bearing from the device to the centre, radius, distance to the centre.
ACROSS = {
    "corner": ((_lyon_cell().lat_min + 1e-5, _lyon_cell().lon_min + 1e-5), 225.0, 150, 148.0),
    "edge": (((_lyon_cell().lat_min + _lyon_cell().lat_max) / 2, _lyon_cell().lon_max - 1e-5),
             90.0, 640, 630.0),
    "antimeridian": ((-16.5, 180 - 1e-5), 90.0, 300, 295.0),
    "southern corner": ((bounds(encode(-33.87, 151.21)).lat_max - 1e-5,
                         bounds(encode(-33.87, 151.21)).lon_max - 1e-5), 45.0, 200, 197.0),
}


def _centre_near_the_pole() -> tuple[tuple[float, float], tuple[float, float], int]:
    """Near a pole a meridian's nearest point is far poleward of a point's own latitude."""
    centre = (89.99421, -123.8408)
    return centre, destination(*centre, 16.0, 576.0), 640


@pytest.mark.parametrize("case", [*ACROSS, "near the pole"])
def test_the_own_cell_receives_a_circle_centred_in_another_cell(case: str) -> None:
    if case == "near the pole":
        centre, device, radius = _centre_near_the_pole()
    else:
        device, bearing, radius, away = ACROSS[case]
        centre = destination(*device, bearing, away)
    req = request(location={"lat": f"{centre[0]:.7f}", "lon": f"{centre[1]:.7f}",
                            "radius_m": radius})
    assert encode(*device) != encode(req.lat, req.lon)
    assert location_in_area(*device, req)
    published = {topic(c) for c in cells_covering(req.lat, req.lon, req.radius_m)}
    assert topics_for(*device)[0] in published


@settings(max_examples=200, deadline=None)
@given(st.floats(89.9, 90), st.booleans(), lons, st.floats(0, 360), st.floats(0, 2000),
       st.floats(0, 1), st.floats(0, 1))
def test_distance_to_a_cell_near_a_pole_never_exceeds_the_distance_to_a_point_of_it(
        lat: float, south: bool, lon: float, bearing: float, d: float, fy: float, fx: float
) -> None:
    # Near a pole the nearest point of a cell's side is well poleward of the point's latitude.
    lat = -lat if south else lat
    box = bounds(encode(*destination(lat, lon, bearing, d)))
    point = (box.lat_min + fy * (box.lat_max - box.lat_min),
             box.lon_min + fx * (box.lon_max - box.lon_min))
    assert distance_to_box_m(lat, lon, box) <= distance_m(lat, lon, *point) + 1e-6


@settings(max_examples=200, deadline=None)
@given(lats, lons, st.integers(144, 642), st.floats(0, 360), st.floats(0, 1))
def test_covering_contains_the_cell_of_every_point_in_the_circle(
        lat: float, lon: float, radius: int, bearing: float, frac: float) -> None:
    plat, plon = destination(lat, lon, bearing, frac * radius)
    assert encode(plat, plon) in cells_covering(lat, lon, radius)


@settings(max_examples=100, deadline=None)
@given(lats, lons, st.integers(144, 642))
def test_covering_is_small_and_only_touched_cells(lat: float, lon: float, radius: int) -> None:
    cells = cells_covering(lat, lon, radius)
    assert encode(lat, lon) in cells and len(cells) <= 9


@settings(max_examples=300, deadline=None)
@given(lats, lons, st.integers(144, 642), st.floats(0, 360), st.floats(0, 0.99))
def test_point_inside_the_radius_matches(lat: float, lon: float, radius: int, bearing: float,
                                         frac: float) -> None:
    req = request(location={"lat": f"{lat:.7f}", "lon": f"{lon:.7f}", "radius_m": radius})
    plat, plon = destination(req.lat, req.lon, bearing, frac * radius)
    assert location_in_area(plat, plon, req)


@settings(max_examples=300, deadline=None)
@given(lats, lons, st.integers(144, 642), st.floats(0, 360), st.floats(1.01, 50))
def test_point_outside_the_radius_does_not(lat: float, lon: float, radius: int, bearing: float,
                                           factor: float) -> None:
    req = request(location={"lat": f"{lat:.7f}", "lon": f"{lon:.7f}", "radius_m": radius})
    plat, plon = destination(req.lat, req.lon, bearing, factor * radius)
    assert not location_in_area(plat, plon, req)


def test_distance_agrees_with_a_degree_of_latitude() -> None:
    assert distance_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)


times = st.integers(1_700_000_000, 1_700_100_000)


@settings(max_examples=300, deadline=None)
@given(times, times, st.integers(0, 50_000))
def test_window_overlap_matches_interval_arithmetic(start: int, clip_start: int, length: int
                                                   ) -> None:
    req = request(window={"start": format_time(start), "end": format_time(start + 3600)})
    clip_end = clip_start + length
    expected = max(start, clip_start) <= min(start + 3600, clip_end)
    assert window_overlaps(clip_start, clip_end, req) is expected
    # A clip covering the whole window, or inside it, always overlaps.
    assert window_overlaps(start - length, start + 3600 + length, req)
    assert window_overlaps(start + 1, start + 2, req)


def test_window_edges_touching_count_and_bad_spans_raise() -> None:
    req = request()
    assert window_overlaps(req.window_end, req.window_end + 10, req)
    assert not window_overlaps(req.window_end + 0.5, req.window_end + 10, req)
    assert not window_overlaps(req.window_start - 10, req.window_start - 0.001, req)
    with pytest.raises(ValueError):
        window_overlaps(10, 5, req)
    with pytest.raises(ValueError):
        window_overlaps(float("nan"), 5, req)
