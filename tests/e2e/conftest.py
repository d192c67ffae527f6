"""Fixtures for end-to-end tests: brokers from tests/uplink (real mosquitto)."""

from tests.e2e.test_consent_e2e import scene  # noqa: F401  (the daemon's world)
from tests.uplink.conftest import broker, make_broker  # noqa: F401  (fixtures)
