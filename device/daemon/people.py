"""The people stage's own thread: the motion thread hands it checks through a queue of two
that drops the oldest rather than wait, and takes its answers back without waiting either.

A detector that stalls costs people labels (checks dropped and counted), never frames."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence

from common.dropqueue import DropQueue
from device.daemon.workers import Worker
from device.wiring.people import PeopleCheck, PeopleFound, run_check
from motion.people import PeopleDetector, PeopleError

log = logging.getLogger("doorcam")
QUEUE = 2  # checks waiting; a newer check makes the oldest one go
FINISH_S = 2.0  # at the end of input, how long the checks already queued may still take


class PeopleThread:
    """`Runner` on a worker thread named `people`."""

    def __init__(self, detector: PeopleDetector) -> None:
        self.detector = detector
        self.checks: DropQueue[PeopleCheck] = DropQueue(QUEUE)
        self._done: queue.SimpleQueue[PeopleFound] = queue.SimpleQueue()
        self._busy = 0  # submitted and not yet answered (nor dropped)
        self._changed = threading.Condition()
        self._gone = False
        self.answered = 0
        self.seconds = 0.0  # the detector's time, all checks
        self.failures = 0
        # Not critical: without people labels the camera still records every event.
        self.worker = Worker("people", self._step, on_start=self._started,
                             on_stop=self._stopped, max_silence=60.0, critical=False)

    @property
    def dropped(self) -> int:
        return self.checks.dropped

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop(timeout=5.0)

    def workers(self) -> Sequence[Worker]:
        return (self.worker,)

    def submit(self, check: PeopleCheck) -> None:
        with self._changed:
            self._busy += 1
            before = self.checks.dropped
            self.checks.put(check)
            self._busy -= self.checks.dropped - before

    def results(self) -> list[PeopleFound]:
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    def finish(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._busy == 0 or self._gone,
                                   timeout=FINISH_S)

    def _started(self) -> None:
        with self._changed:
            self._gone = False  # run again after a failure: answers come again

    def _stopped(self) -> None:
        with self._changed:
            self._gone = True
            self._changed.notify_all()  # nobody waits for a thread that is gone

    def _step(self, stop: threading.Event) -> None:
        check = self.checks.get(timeout=0.5)
        if check is None:
            return
        try:
            found = run_check(self.detector, check)
        except PeopleError as exc:
            self.failures += 1
            log.error("people check of frame %d failed: %s", check.seq, exc)
            found = PeopleFound(check.event_id, check.seq, check.pts, (), 0.0)
        except BaseException:
            with self._changed:
                self._busy -= 1  # this check gets no answer: `finish` does not wait for it
            raise
        self.seconds += found.seconds
        self.answered += 1
        self._done.put(found)
        with self._changed:
            self._busy -= 1
            self._changed.notify_all()
