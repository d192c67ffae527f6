"""Push tests: a loopback push service, and the request-desk world of tests/uplink/desk."""

from __future__ import annotations

from tests.uplink.desk.conftest import device  # noqa: F401  (fixture: a real request desk)

