"""Fixtures for the people stage's tests: a real broker (tests/uplink)."""

from tests.uplink.conftest import broker, make_broker  # noqa: F401  (fixtures)
