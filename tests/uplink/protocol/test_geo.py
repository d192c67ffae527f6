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
    encode,
    neighbours,
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


def test_topics_are_own_cell_then_neighbours() -> None:
    topics = topics_for(40.6928, -73.9903)
    assert len(topics) == 9 and len(set(topics)) == 9
    assert topics[0] == "doorcam/v1/requests/" + encode(40.6928, -73.9903, 5)


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
