"""Push tests: a loopback push service, and the request-desk world of tests/uplink/desk."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.uplink.desk.conftest import device  # noqa: F401  (fixture: a real request desk)
from tests.web.push.pushservice import PushService


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService().start()
    yield service
    service.stop()
