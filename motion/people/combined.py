"""Several detectors as one: a person is whatever any of them sees (each covers a range)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from motion.people.base import PeopleDetector, Person


class AnyOf:
    def __init__(self, detectors: Sequence[PeopleDetector]) -> None:
        self.detectors = tuple(detectors)
        self.name = "+".join(d.name for d in self.detectors)

    def detect(self, image: np.ndarray) -> list[Person]:
        found: list[Person] = []
        for d in self.detectors:
            found.extend(d.detect(image))
        return found
