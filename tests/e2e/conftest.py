"""Fixtures for end-to-end tests: brokers from tests/uplink (real mosquitto)."""

from tests.uplink.conftest import broker, make_broker  # noqa: F401  (fixtures)
