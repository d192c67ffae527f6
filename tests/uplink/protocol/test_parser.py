"""The request parser on hostile input: only RequestRejected ever escapes, with its reason."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.uplink.protocol.world import request_body
from uplink.errors import RequestRejected
from uplink.protocol.canonical import nesting_depth, parse_json
from uplink.protocol.request import parse_request

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reason_of(payload: bytes) -> str:
    with pytest.raises(RequestRejected) as info:
        parse_request(payload)
    return info.value.reason


def encode(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def test_valid_body_parses() -> None:
    req = parse_request(encode({**request_body(), "kid": "k1", "sig": "x"}))
    assert (req.lat, req.lon, req.radius_m) == (40.6928, -73.9903, 300)
    assert req.window_end - req.window_start == 3600


@pytest.mark.parametrize(("payload", "reason"), [
    (b'{"a":1,"a":2}', "bad_json"),
    (b'{"a":NaN}', "bad_json"),
    (b'{"a":-Infinity}', "bad_json"),
    (b'{"a":1.5}', "schema"),
    (b'{"a":1e3}', "schema"),
    (b'{"a":' + b"9" * 30 + b"}", "schema"),
    (b'{"a":"\\ud800"}', "schema"),
    (b"[1]", "schema"),
    (b'"text"', "schema"),
    (b"", "bad_json"),
    (b'{"A":1}', "schema"),
    (b"\xc3\x28", "bad_utf8"),
    (b'{"a":[[[[[[[[[1]]]]]]]]]}', "bad_json"),
])
def test_malformed_json(payload: bytes, reason: str) -> None:
    assert reason_of(payload) == reason


def test_nesting_is_measured_outside_strings() -> None:
    assert nesting_depth('{"a":"[[[[{{{{"}') == 1
    assert nesting_depth('{"a":"\\"[[["}') == 1
    assert nesting_depth("[[{}]]") == 3
    assert parse_json(b'{"a":"[[[[[[[[[[[[[[[[[["}', max_depth=1) == {"a": "[" * 18}


@pytest.mark.parametrize(("path", "value"), [
    (("request_id",), "3F2C8A4E-1B7D-4C1E-9A52-6D0F8E7B1C23"),
    (("request_id",), 7),
    (("agency", "id"), "Upper Case"),
    (("case_number",), ""),
    (("case_number",), "x" * 65),
    (("description",), "y" * 2001),
    (("investigator", "name"), "Det.\u202eevil"),
    (("investigator", "contact"), "line\nbreak"),
    (("location", "lat"), 40.69),
    (("location", "lat"), "40.12345678"),
    (("location", "lat"), "90.0000001"),
    (("location", "lon"), "+73.9"),
    (("location", "radius_m"), "300"),
    (("location", "radius_m"), True),
    (("window", "start"), "2025-06-15T12:00:00+00:00"),
    (("window", "start"), "2025-06-15T12:00:00.5Z"),
    (("window", "start"), "2025-02-30T12:00:00Z"),
    (("issued_at",), 1750000000),
    (("type",), "registry"),
    (("agency", "extra"), "no"),
    (("kid",), "bad kid with spaces"),
])
def test_schema_violations(path: tuple[str, ...], value: Any) -> None:
    doc = request_body()
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert reason_of(encode(doc)) == "schema"


@pytest.mark.parametrize("field", sorted(request_body()))
def test_each_missing_field_is_a_schema_error(field: str) -> None:
    doc = request_body()
    del doc[field]
    assert reason_of(encode(doc)) in {"schema", "unsupported_version"}


@FAST
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_only_ever_reject(data: bytes) -> None:
    with pytest.raises(RequestRejected):
        parse_request(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=30,
)


@FAST
@given(json_values)
def test_arbitrary_json_only_ever_rejects(value: Any) -> None:
    with pytest.raises(RequestRejected):
        parse_request(json.dumps(value).encode("utf-8"))


def _paths(doc: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, value in doc.items():
        out.append((*prefix, key))
        if isinstance(value, dict):
            out.extend(_paths(value, (*prefix, key)))
    return out


PATHS = _paths(request_body())


@FAST
@given(st.sampled_from(PATHS), json_values)
def test_one_field_replaced_by_anything_never_escapes(path: tuple[str, ...], value: Any) -> None:
    doc = request_body()
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    try:
        req = parse_request(json.dumps(doc).encode("utf-8"))
    except RequestRejected:
        return
    # Whatever got through was a well-typed value for that field.
    assert isinstance(req.radius_m, int) and -90 <= req.lat <= 90


@FAST
@given(st.integers(min_value=0, max_value=len(encode(request_body())) - 1), st.binary(min_size=1,
                                                                                      max_size=8))
def test_spliced_garbage_never_escapes(at: int, junk: bytes) -> None:
    raw = encode(request_body())
    with contextlib.suppress(RequestRejected):
        parse_request(raw[:at] + junk + raw[at:])
