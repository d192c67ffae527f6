"""A name lookup that never answers is cut at the call's deadline (getaddrinfo has no timeout
of its own). Runs in a private network and mount namespace whose resolv.conf points at a DNS
server on 127.0.0.1 that takes queries and never answers; nothing leaves the machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import require

REPO = Path(__file__).resolve().parents[3]
SCRIPT = r"""
import socket, threading, time
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 53))
tcp = socket.socket()
tcp.bind(("127.0.0.1", 53))
tcp.listen()

from config.upload import UploadConfig
from uplink.errors import DeadlineExceeded
from uplink.upload.transport import RequestsTransport

raw_done = threading.Event()
def raw_lookup():
    try:
        socket.getaddrinfo("files.agency.doorcam-test.example", 443)
    except OSError:
        pass
    raw_done.set()
threading.Thread(target=raw_lookup, daemon=True).start()

transport = RequestsTransport(UploadConfig())
start = time.monotonic()
try:
    transport.request("HEAD", "https://files.agency.doorcam-test.example/files/1", {}, None,
                      time.monotonic() + 1.5)
    print("answered")
except DeadlineExceeded as exc:
    print(f"deadline {time.monotonic() - start:.2f} {exc}")
print("raw lookup still blocked" if not raw_done.wait(4.0 - (time.monotonic() - start))
      else "raw lookup returned")
"""


def test_a_resolver_that_never_answers_is_cut_at_the_deadline(tmp_path: Path) -> None:
    require(os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"),
            "needs root, unshare and ip for a private network namespace")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:5 attempts:2\n")
    shell = (f"ip link set lo up && mount --bind {resolv} /etc/resolv.conf && "
             f'exec "{sys.executable}" -c "$SCRIPT"')
    done = subprocess.run(["unshare", "--mount", "--net", "sh", "-c", shell], cwd=REPO,
                          env={**os.environ, "SCRIPT": SCRIPT, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=60, check=False)
    require(done.returncode == 0 or "unshare" not in done.stderr,
            f"cannot make a namespace here: {done.stderr.strip()}")
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and len(lines) == 2, done.stdout + done.stderr
    word, seconds, *_ = lines[0].split()
    assert word == "deadline" and 1.4 <= float(seconds) < 2.5, lines[0]
    # The same lookup without the deadline is still waiting: the resolver really hangs.
    assert lines[1] == "raw lookup still blocked"
