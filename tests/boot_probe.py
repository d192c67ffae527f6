#!/usr/bin/python3
"""Runs inside the booted test container as a oneshot unit (not imported by the tests).

Watches doorcam.service under the container's real systemd, writes what it saw to
/probe/result.json and powers the container off. Steps: ready, status, journal fields,
the clock (waiting for network time, marked clips), hardening, the web app (TLS, user, no
key), the registry refresh timer, reload, watchdog restart of a stopped (SIGSTOP) daemon,
clean stop, config error.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

UNIT = "doorcam.service"
result: dict = {}


def sh(*cmd: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def show() -> dict:
    out = sh("systemctl", "show", UNIT, "-p", "ActiveState,SubState,StatusText,MainPID,"
             "NRestarts,Result,ExecMainStatus,WatchdogUSec").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait(cond, timeout: float):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.2)
    return None


def fps(s: dict) -> float:
    m = re.search(r"([\d.]+) frames/s", s.get("StatusText", ""))
    return float(m[1]) if m else 0.0


def journal(*match: str) -> list:
    out = sh("journalctl", "-u", UNIT, "-o", "json", "--no-pager", *match).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def step_ready() -> None:
    t0 = time.monotonic()
    s = wait(lambda: (x := show())["SubState"] in ("running", "failed") and x, 90)
    if not s or s["SubState"] != "running":
        raise RuntimeError(f"doorcam did not start: {s or show()}")
    result["ready"] = {**(s or show()), "waited_s": round(time.monotonic() - t0, 1)}
    running = wait(lambda: (x := show()) and fps(x) > 0 and x, 60)
    result["status"] = (running or show())["StatusText"]


def step_journal() -> None:
    wait(lambda: journal("DOORCAM_EVENT=clip_stored"), 90)
    entries = journal()
    result["journal_fields"] = sorted({k for e in entries for k in e if k.startswith("DOORCAM")})
    result["journal_events"] = sorted({e.get("DOORCAM_EVENT") for e in entries} - {None})
    result["kernel_clock_unreadable"] = [e["MESSAGE"] for e in entries
                                         if "clock state cannot be read" in e.get("MESSAGE", "")]
    clips = sh("find", "/var/lib/doorcam", "-name", "*.mp4").stdout.split()
    result["clips"] = clips


def step_clock() -> None:
    """Network time: the unit waits for time-sync.target through systemd-time-wait-sync,
    whose wait our drop-in bounds; in a container nothing synchronises the clock, so the
    status says so and the clips are marked, until timesyncd's flag file appears."""
    unit = sh("systemctl", "show", UNIT, "-p", "After,Wants").stdout
    waiter = sh("systemctl", "show", "systemd-time-wait-sync.service", "-p",
                "LoadState,TimeoutStartUSec,DropInPaths").stdout
    clips = json.loads(sh("doorcam", "clips", "list", "--json").stdout or "[]")
    c = {"unit": dict(line.split("=", 1) for line in unit.splitlines() if "=" in line),
         "waiter": dict(line.split("=", 1) for line in waiter.splitlines() if "=" in line),
         "status_before": show()["StatusText"],
         "clips": [[x["clock_synced"], x["simulated"]] for x in clips]}
    flag = Path("/run/systemd/timesync/synchronized")
    flag.parent.mkdir(parents=True, exist_ok=True)
    flag.touch()
    after = wait(lambda: "clock not synchronised" not in (t := show()["StatusText"]) and t, 60)
    c["status_after"] = after or show()["StatusText"]
    flag.unlink()
    result["clock"] = c


def step_owner_cli() -> None:
    """The owner's `sudo doorcam clips list`: the installed config by default, and nothing it
    creates in the store is left owned by root (the daemon could not write it)."""
    out = sh("doorcam", "clips", "list", "--json")
    result["owner_cli"] = {"rc": out.returncode, "stderr": out.stderr[-500:],
                           "clips": len(json.loads(out.stdout)) if out.returncode == 0 else 0,
                           "root_owned": sh("find", "/var/lib/doorcam", "-uid", "0").stdout
                           .split()}


def step_hardening() -> None:
    pid = show()["MainPID"]
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(re.findall(r"^(\w+):\s*(.*)$", status, re.MULTILINE))
    result["proc"] = {k: fields.get(k) for k in ("Uid", "CapEff", "CapBnd", "NoNewPrivs",
                                                  "Seccomp")}
    uid = fields["Uid"].split()[0]
    gid = fields["Gid"].split()[0]
    enter = ("nsenter", "-t", pid, "-m", "-S", uid, "-G", gid)
    # As root in the service's mount namespace: only the read-only mount can refuse.
    as_root = ("nsenter", "-t", pid, "-m")
    result["write_usr"] = sh(*as_root, "touch", "/usr/doorcam-probe").stderr.strip()
    result["write_etc"] = sh(*as_root, "touch", "/etc/doorcam/probe").stderr.strip()
    result["write_var_lib"] = sh(*as_root, "touch", "/var/lib/doorcam-probe").stderr.strip()
    state = sh(*enter, "sh", "-c", "touch /var/lib/doorcam/.probe && rm /var/lib/doorcam/.probe")
    result["write_state_rc"] = state.returncode
    result["user"] = sh("id", "-nG", uid).stdout.strip()
    sec = sh("systemd-analyze", "security", "--no-pager", UNIT).stdout
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", sec)
    result["exposure"] = float(m[1]) if m else sec[-500:]


def step_web() -> None:
    """doorcam-web.service: serves /login over TLS, as doorcam without capabilities, and
    cannot read the device key that the same user can read outside its sandbox."""
    import ssl
    import urllib.request

    web = "doorcam-web.service"
    def state() -> dict:
        out = sh("systemctl", "show", web, "-p", "ActiveState,SubState,MainPID").stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # fingerprint compared below

    def login() -> int:
        try:
            with urllib.request.urlopen("https://127.0.0.1:8443/login", context=ctx,
                                        timeout=5) as r:
                return int(r.status)
        except OSError:
            return 0
    t0 = time.monotonic()
    status = wait(login, 60)
    w: dict = {"login_status": status, "waited_s": round(time.monotonic() - t0, 1), **state()}
    pid = w.get("MainPID", "0")
    fields = dict(re.findall(r"^(\w+):\s*(.*)$", Path(f"/proc/{pid}/status").read_text(),
                             re.MULTILINE))
    w["proc"] = {k: fields.get(k) for k in ("Uid", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp")}
    uid, gid = fields["Uid"].split()[0], fields["Gid"].split()[0]
    keys = {}
    for name in ("device_key.pem", "device_key.x25519.pem", "device_key.media.pem"):
        key = f"/var/lib/doorcam/{name}"
        inside = sh("nsenter", "-t", pid, "-m", "-S", uid, "-G", gid, "cat", key)
        outside = sh("setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "cat", key)
        keys[name] = {"inside": [inside.returncode, inside.stderr.strip()[-120:]],
                      "outside_rc": outside.returncode}
    w["keys"] = keys
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", 8443)))
    import hashlib
    w["served_fp"] = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    w["url"] = sh("doorcam", "web", "url").stdout
    sec = sh("systemd-analyze", "security", "--no-pager", web).stdout
    m = re.search(r"Overall exposure level for \S+: ([\d.]+)", sec)
    w["exposure"] = float(m[1]) if m else sec[-500:]
    result["web"] = w


def step_registry_timer() -> None:
    """The registry refresh timer: enabled and scheduled; its service skipped while no URL
    was ever installed, then (no network in here) failing with one line, seen by
    `systemctl --failed`."""
    timer, svc = "doorcam-registry-refresh.timer", "doorcam-registry-refresh.service"

    def props(unit: str, names: str) -> dict:
        out = sh("systemctl", "show", unit, "-p", names).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    r: dict = {"enabled": sh("systemctl", "is-enabled", timer).stdout.strip(),
               "listed": timer in sh("systemctl", "list-timers", "--all", "--no-pager").stdout,
               "timer": props(timer, "ActiveState,NextElapseUSecRealtime")}
    sh("systemctl", "start", svc, timeout=120)  # a oneshot: returns once it has run
    r["skipped"] = props(svc, "ActiveState,ConditionResult")
    source = Path("/var/lib/doorcam/registry.source")
    source.write_text('{"url": "https://127.0.0.1:9/registry.json", "ca_file": ""}')
    shutil.chown(source, "doorcam", "doorcam")
    sh("systemctl", "start", svc, timeout=120)
    r["run"] = props(svc, "ActiveState,Result,ExecMainStatus,ConditionResult")
    r["in_failed"] = svc in sh("systemctl", "--failed", "--no-pager", "--plain").stdout
    out = sh("journalctl", "-u", svc, "-o", "json", "--no-pager").stdout
    r["lines"] = [e.get("MESSAGE") for e in map(json.loads, out.splitlines())
                  if e.get("_TRANSPORT") == "stdout"]
    source.unlink()
    sh("systemctl", "reset-failed", svc)
    result["registry_timer"] = r


def step_reload() -> None:
    before = show()["MainPID"]
    sh("systemctl", "reload", UNIT)
    # The capture thread applies it at its next frame; a loaded machine can take a while.
    wait(lambda: any("reloaded" in e.get("MESSAGE", "") for e in journal()), 90)
    result["reload"] = {"same_pid": show()["MainPID"] == before,
                        "logged": any("reloaded" in e.get("MESSAGE", "") for e in journal())}


def retained() -> dict:
    """Every retained message on the container's broker, topic -> payload."""
    out = sh("mosquitto_sub", "-h", "127.0.0.1", "-t", "#", "-v", "--retained-only",
             "-W", "2").stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def step_mqtt() -> None:
    status = "doorcam/v1/device/doorcam/status"
    got = wait(lambda: (r := retained()).get(status) == "online" and
               any(t.startswith("homeassistant/") for t in r) and r, 60)
    got = got or retained()
    result["mqtt"] = {"availability": got.get(status),
                      "discovery": sorted(t for t in got if t.startswith("homeassistant/")),
                      "motion": got.get("doorcam/v1/device/doorcam/motion")}
    if result["mqtt"]["availability"] != "online":  # what went wrong, for the test's message
        result["mqtt"]["broker"] = sh("systemctl", "status", "--no-pager", "-n", "20",
                                      "mosquitto").stdout
        result["mqtt"]["sub"] = sh("mosquitto_sub", "-h", "127.0.0.1", "-t", "#", "-v",
                                   "-W", "2").stderr


def step_watchdog() -> None:
    s = show()
    pid, restarts = s["MainPID"], int(s["NRestarts"])
    os.kill(int(pid), signal.SIGSTOP)
    t0 = time.monotonic()
    back = wait(lambda: (x := show())["MainPID"] not in (pid, "0")
                and x["SubState"] == "running" and x, 90)
    msgs = sh("journalctl", "-u", UNIT, "--no-pager", "-o", "cat").stdout
    result["watchdog"] = {"old_pid": pid, "after": back or show(),
                          "restarts": int((back or show())["NRestarts"]) - restarts,
                          "seconds": round(time.monotonic() - t0, 1),
                          "timeout_logged": "Watchdog timeout" in msgs}


def step_stop() -> None:
    t0 = time.monotonic()
    sh("systemctl", "stop", UNIT, timeout=90)
    s = show()
    result["stop"] = {"seconds": round(time.monotonic() - t0, 1), "Result": s["Result"],
                      "availability": retained().get("doorcam/v1/device/doorcam/status"),
                      "ExecMainStatus": s["ExecMainStatus"],
                      "logged": any(e.get("MESSAGE") == "doorcam stopped" for e in journal())}


def step_config_error() -> None:
    path = Path("/etc/doorcam/doorcam.toml")
    text = path.read_text()
    path.write_text(re.sub(r"(?m)^threshold = \d+$", "threshold = 300", text, count=1))
    sh("systemctl", "reset-failed", UNIT)
    sh("systemctl", "start", UNIT, timeout=90)
    # A scheduled restart shows as activating/auto-restart; "failed" means none is coming.
    wait(lambda: show()["ActiveState"] == "failed", 60)
    s = show()
    lines = sh("journalctl", "-u", UNIT, "--no-pager", "-o", "cat").stdout
    result["config_error"] = {"ActiveState": s["ActiveState"],
                              "ExecMainStatus": s["ExecMainStatus"],
                              "NRestarts": s["NRestarts"],
                              "message": [x for x in lines.splitlines() if "config error" in x],
                              "priorities": sorted({e.get("PRIORITY") for e in journal()
                                                    if "config error" in e.get("MESSAGE", "")})}


def main() -> None:
    try:
        for step in (step_ready, step_journal, step_clock, step_owner_cli, step_hardening,
                     step_web, step_registry_timer,
                     step_reload,
                     step_mqtt, step_watchdog,
                     step_stop, step_config_error):
            result.setdefault("done", []).append(step.__name__)
            step()
    except Exception as exc:  # the test reads which step failed from here
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        result["journal_tail"] = sh("journalctl", "-u", UNIT, "--no-pager", "-n", "60",
                                    "-o", "short-monotonic").stdout
        with open("/probe/result.json.part", "w") as f:
            json.dump(result, f, indent=1)
        subprocess.run(["mv", "/probe/result.json.part", "/probe/result.json"])
        subprocess.run(["systemctl", "poweroff", "--no-block"])


main()
