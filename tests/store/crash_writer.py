"""Crash-test child: commit (and sometimes delete) clips in a loop until SIGKILLed.

Usage: PYTHONPATH=<repo> python crash_writer.py STORE_DIR LOG_FILE SEED
Prints "ready" once the store is open. LOG_FILE gets one line per finished step:
"begun ID", "committed ID", "deleting ID", "deleted ID" (written with os.write, so a
SIGKILL loses nothing that was reported).
"""

from __future__ import annotations

import hashlib
import os
import random
import sys

from config import StoreConfig
from device.store import ClipStore
from tests.store.helpers import meta


def thumb_for(clip_id: str) -> bytes:
    return b"\xff\xd8" + hashlib.sha256(clip_id.encode()).digest() + b"\xff\xd9"


def main(root: str, log_path: str, seed: int) -> None:
    rng = random.Random(seed)
    store = ClipStore(StoreConfig(path=root, max_age_days=0, max_size_mb=0, min_free_mb=0))
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def note(event: str, clip_id: str) -> None:
        os.write(log, f"{event} {clip_id}\n".encode())

    print("ready", flush=True)
    while True:
        existing = store.list(limit=20)
        if existing and rng.random() < 0.2:
            victim = rng.choice(existing).id
            note("deleting", victim)
            store.delete(victim)
            note("deleted", victim)
            continue
        handle = store.begin()
        note("begun", handle.id)
        with open(handle.tmp_path, "wb") as f:
            for _ in range(rng.randint(1, 8)):
                f.write(rng.randbytes(16_384))
        store.commit(handle, meta(start_wall=rng.uniform(1.6e9, 1.8e9),
                                  thumb=thumb_for(handle.id)))
        note("committed", handle.id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
