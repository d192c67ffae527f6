"""The kinds of signed clip (tests/signing/kinds.py), each made once per test session."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.signing.kinds import KINDS, NEEDS_FOOTAGE, Made


@pytest.fixture(scope="session")
def made_kind(tmp_path_factory: pytest.TempPathFactory,
              request: pytest.FixtureRequest) -> Callable[[str], Made]:
    made: dict[str, Made] = {}

    def make(kind: str) -> Made:
        if kind not in made:
            maker = KINDS[kind]
            root = tmp_path_factory.mktemp("kind")
            if maker in NEEDS_FOOTAGE:
                made[kind] = maker(root, request.getfixturevalue("test_data"))
            else:
                made[kind] = maker(root)
        return made[kind]

    return make
