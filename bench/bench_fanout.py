"""Fan-out of agency requests over one mosquitto: N devices spread over a city's geohash cells,
each subscribed exactly as the daemon subscribes (`topics_for`: its own cell, QoS 1), and an
agency publishing signed requests to every cell they cover (`cells_covering`, QoS 1, as
`doorcam agency publish` does).

Usage: .venv/bin/python bench/bench_fanout.py [--devices N] [--requests N] [--compare-ring]
       [--out results.json]

Every device is a real MQTT v5 connection of its own (own client id, own subscriptions) to one
mosquitto started for the bench. 10,000 paho clients (a thread or a socket loop each) do not
fit one Python process on 2 cores, so the devices are a minimal asyncio MQTT v5 client written
for the bench: CONNECT, SUBSCRIBE, PUBLISH and PUBACK only, all in one event loop.

Reported: connection + subscription set-up time; request publish → "received by a device"
latency (p50/p99 over every device that received a request, and of the last device per
request), measured in this one process, so it includes the time the process takes to read
thousands of sockets in turn; the real validation (signature, registry, policy) timed apart,
to add for "shown"; and correctness: a device must receive only requests published to its
own subscriptions (misdelivered must be 0), every device inside a request's circle must
receive it (missed must be 0), and how many deliveries land on devices outside the circle
(the daemon keeps those as "not here"). `--compare-ring` runs the same devices and requests
again, on a fresh broker, subscribed as earlier releases did (own cell + its 8 neighbours),
and reports the deliveries per request of both. Figures are from one run on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import statistics
import struct
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from device.cli.localbroker import MosquittoBroker, mosquitto_path  # noqa: E402
from uplink.agency.compose import (  # noqa: E402
    AgencySpec,
    compose_request,
    public_text,
    sign_registry,
)
from uplink.protocol import generate_keypair, location_in_area, parse_request  # noqa: E402
from uplink.protocol.geo import (  # noqa: E402
    cells_covering,
    encode,
    neighbours,
    topic,
    topics_for,
)
from uplink.protocol.ledger import RequestLedger  # noqa: E402
from uplink.protocol.registry import parse_registry  # noqa: E402
from uplink.protocol.request import AgencyRequest  # noqa: E402
from uplink.protocol.validator import RequestValidator  # noqa: E402

# A 24 km × 24 km city (Lyon's centre): precision-5 cells are 3.4 km × 4.9 km here, so devices
# sit in about 48 cells (the edges included).
CITY_LAT, CITY_LON, CITY_HALF_M = 45.7600, 4.8400, 12_000.0
AGENCY_ID, AGENCY_KID = "lyon-police", "lyon-police-2026"
UPLOAD_URL = "https://evidence.example.org/files/"


# -- a minimal MQTT v5 client: just what a subscribed device and a publisher need ---------------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, byte = divmod(n, 128)
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("!H", len(raw)) + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _varint(len(body)) + body


def connect_packet(client_id: str) -> bytes:
    # v5, clean start, keep-alive off (no PINGs to skew the figures), no properties.
    return _packet(0x10, _str("MQTT") + bytes([5, 0x02]) + struct.pack("!H", 0) + b"\x00"
                   + _str(client_id))


def subscribe_packet(packet_id: int, topics: list[str]) -> bytes:
    return _packet(0x82, struct.pack("!H", packet_id) + b"\x00"
                   + b"".join(_str(t) + b"\x01" for t in topics))


def publish_packet(topic_name: str, payload: bytes, packet_id: int) -> bytes:
    return _packet(0x32, _str(topic_name) + struct.pack("!H", packet_id) + b"\x00" + payload)


def _read_varint(buf: bytes | bytearray, i: int) -> tuple[int, int] | None:
    value, shift = 0, 0
    while i < len(buf):
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            return value, i
        shift += 7
    return None


class Stream:
    """Splits a byte stream into (first byte, body) MQTT packets."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf += data
        out: list[tuple[int, bytes]] = []
        while len(self.buf) >= 2:
            got = _read_varint(self.buf, 1)
            if got is None:
                break
            length, start = got
            if len(self.buf) < start + length:
                break
            out.append((self.buf[0], bytes(self.buf[start:start + length])))
            del self.buf[:start + length]
        return out


def parse_publish(first: int, body: bytes) -> tuple[str, int | None, bytes]:
    n = struct.unpack_from("!H", body)[0]
    topic_name = body[2:2 + n].decode("utf-8")
    i = 2 + n
    packet_id = None
    if (first >> 1) & 3:
        packet_id = struct.unpack_from("!H", body, i)[0]
        i += 2
    got = _read_varint(body, i)
    assert got is not None
    props, i = got
    return topic_name, packet_id, body[i + props:]


class Client(asyncio.Protocol):
    """One MQTT connection: connects, subscribes to `topics` (if any), acknowledges and hands
    every PUBLISH to `on_message(client, topic, payload, perf_counter at arrival)`."""

    def __init__(self, client_id: str, topics: list[str], sim: Simulation) -> None:
        self.client_id, self.topics, self.sim = client_id, topics, sim
        self.stream = Stream()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.acked = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(connect_packet(self.client_id))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        assert self.transport is not None
        for first, body in self.stream.feed(data):
            kind = first >> 4
            if kind == 3:
                topic_name, packet_id, payload = parse_publish(first, body)
                if packet_id is not None:
                    self.transport.write(b"\x40\x02" + struct.pack("!H", packet_id))
                self.sim.on_message(self, topic_name, payload, now)
            elif kind == 2:  # CONNACK: flags, reason code
                if body[1] != 0:
                    self._fail(f"CONNACK reason {body[1]:#x}")
                elif self.topics:
                    self.transport.write(subscribe_packet(1, self.topics))
                else:
                    self.ready.set_result(None)
            elif kind == 9:  # SUBACK: packet id, properties, one reason code per filter
                got = _read_varint(body, 2)
                assert got is not None
                codes = body[got[1] + got[0]:]
                if len(codes) != len(self.topics) or any(c >= 0x80 for c in codes):
                    self._fail(f"SUBACK {codes.hex()}")
                elif not self.ready.done():
                    self.ready.set_result(None)
            elif kind == 4:
                self.acked += 1

    def _fail(self, why: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(f"{self.client_id}: {why}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.sim.lost += 1
        self._fail(f"connection lost: {exc}")


# -- the simulation ------------------------------------------------------------------------------

@dataclass
class Device:
    lat: float
    lon: float
    topics: frozenset[str]
    client: Client | None = None


@dataclass
class Published:
    request: AgencyRequest
    topics: list[str]
    expected: set[int]
    t0: float = 0.0
    first: dict[int, float] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Simulation:
    def __init__(self, devices: list[Device]) -> None:
        self.devices = devices
        self.index: dict[int, int] = {}  # id(client) → device number
        self.by_payload: dict[bytes, Published] = {}
        self.lost = 0
        self.deliveries = 0
        self.duplicates = 0
        self.misdelivered = 0
        self.misdelivered_devices: set[int] = set()
        self.unknown = 0

    def on_message(self, client: Client, topic_name: str, payload: bytes, now: float) -> None:
        n = self.index.get(id(client))
        pub = self.by_payload.get(payload)
        if n is None or pub is None:
            self.unknown += 1
            return
        self.deliveries += 1
        device = self.devices[n]
        if topic_name not in device.topics or topic_name not in pub.topics:
            self.misdelivered += 1
            self.misdelivered_devices.add(n)
        if n in pub.first:
            self.duplicates += 1  # one copy per covered cell it subscribes to
            return
        pub.first[n] = now
        if n in pub.expected and pub.expected <= pub.first.keys():
            pub.done.set()


def place_devices(n: int, rng: random.Random) -> list[tuple[float, float]]:
    dlat = CITY_HALF_M / 111_195.0
    dlon = dlat / math.cos(math.radians(CITY_LAT))
    return [(CITY_LAT + rng.uniform(-dlat, dlat), CITY_LON + rng.uniform(-dlon, dlon))
            for _ in range(n)]


def ring_topics(lat: float, lon: float) -> list[str]:
    """How earlier releases subscribed: the own cell and the 8 around it."""
    cell = encode(lat, lon)
    return [topic(c) for c in [cell, *neighbours(cell)]]


DESIGNS = {"own": topics_for, "ring": ring_topics}


def make_requests(count: int, rng: random.Random, agency_key: Any, now: int,
                  places: list[tuple[float, float]]) -> list[bytes]:
    """Signed requests centred near random devices (a request is about where people live)."""
    out = []
    for i in range(count):
        lat, lon = rng.choice(places)
        out.append(json.dumps(compose_request(
            key=agency_key, kid=AGENCY_KID, agency_id=AGENCY_ID, agency_name="Police de Lyon",
            case_number=f"2026-{i:05d}", incident_type="burglary",
            description="Bench request.", investigator="Insp. Bench", contact="+33 4 00 00 00 00",
            lat=lat + rng.uniform(-0.002, 0.002), lon=lon + rng.uniform(-0.002, 0.002),
            radius_m=rng.randint(150, 640), start=now - 5400, end=now - 3600,
            upload_url=UPLOAD_URL, now=now)).encode("utf-8"))
    return out


def time_validation(payloads: list[bytes], agency_key: Any, now: int, work: Path,
                    rounds: int) -> list[float]:
    """The device's real check of each request (parse, policy, registry, Ed25519, URL, ledger
    lookup), in ms; the daemon's "shown" adds this to the delivery."""
    registry_key, _ = generate_keypair()
    spec = AgencySpec(AGENCY_ID, "Police de Lyon", [(AGENCY_KID, public_text(agency_key))],
                      ["evidence.example.org"], CITY_LAT, CITY_LON, 40_000)
    doc = sign_registry([spec], registry_key, "registry-bench", version=1, now=now)
    registry = parse_registry(json.dumps(doc).encode("utf-8"), registry_key.public_key(), now)
    ledger = RequestLedger(work / "ledger.sqlite")
    validator = RequestValidator(registry, ledger)
    times = []
    for _ in range(rounds):
        for payload in payloads:
            t = time.perf_counter()
            validator.validate(payload, now)
            times.append((time.perf_counter() - t) * 1000)
    ledger.close()
    return times


def _proc_stat(pid: int) -> tuple[float, int]:
    """CPU seconds and RSS (KiB) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text()
               .splitlines() if line.startswith("VmRSS:"))
    return cpu, rss


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def run(args: argparse.Namespace, broker: MosquittoBroker, design: str,
              places: list[tuple[float, float]], payloads: list[bytes]) -> dict[str, Any]:
    """Connect every device subscribed as `design` says, publish `payloads`, measure."""
    subscriptions = DESIGNS[design]
    devices = [Device(lat, lon, frozenset(subscriptions(lat, lon))) for lat, lon in places]
    sim = Simulation(devices)
    by_topic: dict[str, list[int]] = defaultdict(list)
    for n, d in enumerate(devices):
        for t in d.topics:
            by_topic[t].append(n)
    loop = asyncio.get_running_loop()

    # Set-up: every device connects and subscribes; `batch` at a time (the listen backlog).
    gate = asyncio.Semaphore(args.batch)
    failures: list[str] = []

    async def bring_up(n: int) -> None:
        async with gate:
            d = devices[n]
            try:
                _, client = await loop.create_connection(
                    lambda: Client(f"dev-{n:05d}", sorted(d.topics, key=_own_first(d)), sim),
                    "127.0.0.1", broker.port)
                sim.index[id(client)] = n
                await asyncio.wait_for(client.ready, 60)
                d.client = client
            except (TimeoutError, OSError, RuntimeError) as exc:
                failures.append(f"dev-{n}: {exc}")

    t_setup = time.perf_counter()
    await asyncio.gather(*(bring_up(n) for n in range(len(devices))))
    setup_s = time.perf_counter() - t_setup
    connected = sum(d.client is not None for d in devices)
    assert broker.pid is not None
    cpu0, rss_connected = _proc_stat(broker.pid)

    _, agency = await loop.create_connection(lambda: Client("agency", [], sim), "127.0.0.1",
                                             broker.port)
    await asyncio.wait_for(agency.ready, 10)
    assert agency.transport is not None

    published: list[Published] = []
    packet_id = 0
    timeouts = 0
    for payload in payloads:
        req = parse_request(payload)
        topics = [topic(c) for c in cells_covering(req.lat, req.lon, req.radius_m)]
        expected = {n for t in topics for n in by_topic.get(t, ())
                    if devices[n].client is not None}
        pub = Published(req, topics, expected)
        sim.by_payload[payload] = pub
        published.append(pub)
        pub.t0 = time.perf_counter()
        for t in topics:
            packet_id = packet_id % 65535 + 1
            agency.transport.write(publish_packet(t, payload, packet_id))
        if expected:
            try:
                await asyncio.wait_for(pub.done.wait(), 30)
            except TimeoutError:
                timeouts += 1
        await asyncio.sleep(args.gap_s)  # requests are rare; let the previous one drain
    cpu1, rss_end = _proc_stat(broker.pid)
    lost = sim.lost
    for d in devices:
        if d.client is not None and d.client.transport is not None:
            d.client.transport.close()
    if agency.transport is not None:
        agency.transport.close()

    latencies: list[float] = []
    first: list[float] = []
    last: list[float] = []
    own_cell = 0
    receivers: list[int] = []
    missed = in_area = outside_deliveries = 0
    for pub in published:
        lat_ms = [(t - pub.t0) * 1000 for t in pub.first.values()]
        latencies += lat_ms
        if lat_ms:
            first.append(min(lat_ms))
            last.append(max(lat_ms))
        own_cell += sum(topic(encode(devices[n].lat, devices[n].lon)) in pub.topics
                        for n in pub.first)
        receivers.append(len(pub.first))
        for n, d in enumerate(devices):
            inside = location_in_area(d.lat, d.lon, pub.request)
            if inside and d.client is not None:
                in_area += 1
                missed += n not in pub.first
            if n in pub.first and not inside:
                outside_deliveries += 1
    received_total = sum(receivers)
    return {
        "design": design, "devices": len(devices), "connected": connected,
        "topics_per_device": round(statistics.mean(len(d.topics) for d in devices), 2),
        "setup_failures": len(failures), "setup_failure_sample": failures[:3],
        "connections_lost": lost,
        "setup_s": round(setup_s, 2), "cells": len({encode(d.lat, d.lon) for d in devices}),
        "requests": len(published), "timeouts": timeouts,
        "topics_per_request_mean": round(statistics.mean(len(p.topics) for p in published), 2),
        "receivers_per_request_mean": round(statistics.mean(receivers), 1),
        "receivers_per_request_max": max(receivers),
        "deliveries": sim.deliveries, "duplicate_copies": sim.duplicates,
        "deliveries_per_request_mean": round(sim.deliveries / max(1, len(published)), 1),
        "latency_ms_p50": round(pct(latencies, 0.50), 2),
        "latency_ms_p99": round(pct(latencies, 0.99), 2),
        "first_device_ms_p50": round(pct(first, 0.50), 2),
        "first_device_ms_p99": round(pct(first, 0.99), 2),
        "last_device_ms_p50": round(pct(last, 0.50), 2),
        "last_device_ms_p99": round(pct(last, 0.99), 2),
        "misdelivered": sim.misdelivered,
        "misdelivered_device_fraction": len(sim.misdelivered_devices) / max(1, connected),
        "in_area_pairs": in_area, "missed_in_area": missed,
        "outside_circle_fraction": round(outside_deliveries / max(1, received_total), 4),
        "own_cell_fraction": round(own_cell / max(1, received_total), 3),
        "unknown_messages": sim.unknown,
        "broker_rss_mib_connected": round(rss_connected / 1024, 1),
        "broker_rss_mib_end": round(rss_end / 1024, 1),
        "broker_cpu_s_publishing": round(cpu1 - cpu0, 2),
    }


def _own_first(d: Device) -> Any:
    own = topic(encode(d.lat, d.lon))
    return lambda t: (t != own, t)


def broker_config(port: int, nodelay: bool) -> str:
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false",
             "max_connections -1", "log_dest stderr", "log_type error", "log_type warning",
             "connection_messages false", f"set_tcp_nodelay {str(nodelay).lower()}"]
    if os.geteuid() == 0:
        lines.append("user root")
    return "\n".join(lines) + "\n"


def one_design(args: argparse.Namespace, work: Path, design: str,
               places: list[tuple[float, float]], payloads: list[bytes]) -> dict[str, Any]:
    """One design on a broker of its own, so nothing of another run stays in it."""
    broker = MosquittoBroker(work_dir=work / f"broker-{design}")  # inherits the raised fd limit
    broker.config_path.write_text(broker_config(broker.port, args.tcp_nodelay), encoding="utf-8")
    broker.start()
    try:
        return asyncio.run(run(args, broker, design, places, payloads))
    finally:
        broker.stop()


def report(r: dict[str, Any]) -> None:
    print(f"[{r['design']}] devices {r['connected']}/{r['devices']} connected and subscribed in "
          f"{r['setup_s']} s over {r['cells']} cells ({r['topics_per_device']:g} topics each); "
          f"broker RSS {r['broker_rss_mib_connected']} MiB")
    print(f"[{r['design']}] requests {r['requests']}: {r['topics_per_request_mean']} cells each, "
          f"{r['receivers_per_request_mean']} receiving devices on average "
          f"(max {r['receivers_per_request_max']}), {r['deliveries_per_request_mean']} "
          f"deliveries per request, {r['timeouts']} timeouts")
    print(f"[{r['design']}] publish → received: p50 {r['latency_ms_p50']} ms, p99 "
          f"{r['latency_ms_p99']} ms; first device of a request p50 {r['first_device_ms_p50']}"
          f" ms, p99 {r['first_device_ms_p99']} ms; last p50 {r['last_device_ms_p50']} ms, "
          f"p99 {r['last_device_ms_p99']} ms; broker CPU {r['broker_cpu_s_publishing']} s")
    print(f"[{r['design']}] misdelivered {r['misdelivered']} "
          f"(devices {r['misdelivered_device_fraction']:.4f}),"
          f" missed inside the circle {r['missed_in_area']} of {r['in_area_pairs']},"
          f" deliveries outside the circle {r['outside_circle_fraction']:.1%}, through the"
          f" device's own cell {r['own_cell_fraction']:.1%}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=2000,
                        help="simulated devices, one MQTT connection each (10000 for the "
                             "figures in docs/fanout.md)")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--gap-s", type=float, default=0.05)
    parser.add_argument("--batch", type=int, default=200, help="connections opened at once")
    parser.add_argument("--validation-rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tcp-nodelay", action="store_true",
                        help="mosquitto's set_tcp_nodelay (off by default, as in its own)")
    parser.add_argument("--compare-ring", action="store_true",
                        help="also run the same devices and requests subscribed as earlier "
                             "releases did (own cell + 8 neighbours), on a fresh broker")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if mosquitto_path() is None:
        print("bench_fanout: mosquitto not installed (apt install mosquitto)", file=sys.stderr)
        return 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.devices + 200
    if hard != resource.RLIM_INFINITY and hard < need:
        print(f"bench_fanout: {args.devices} connections need {need} file descriptors per "
              f"process, the hard limit is {hard} (ulimit -Hn)", file=sys.stderr)
        return 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need) if hard ==
                                                resource.RLIM_INFINITY else hard, hard))
    rng = random.Random(args.seed)
    places = place_devices(args.devices, rng)
    now = int(time.time())
    agency_key, _ = generate_keypair()
    payloads = make_requests(args.requests, rng, agency_key, now, places)
    designs = ["own", "ring"] if args.compare_ring else ["own"]
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        work = Path(tmp)
        runs = [one_design(args, work, d, places, payloads) for d in designs]
        validation = time_validation(payloads, agency_key, now, work, args.validation_rounds)
    result = dict(runs[0])
    result["validation_ms_p50"] = round(pct(validation, 0.50), 3)
    result["validation_ms_p99"] = round(pct(validation, 0.99), 3)
    result["python_peak_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    for r in runs:
        report(r)
    if len(runs) > 1:
        ring = runs[1]
        result["ring"] = ring
        result["deliveries_ring_to_own"] = round(
            ring["deliveries"] / max(1, result["deliveries"]), 2)
        result["receivers_ring_to_own"] = round(
            ring["receivers_per_request_mean"] / max(1, result["receivers_per_request_mean"]), 2)
        print(f"per request, own cell vs own cell + 8 neighbours: deliveries "
              f"{result['deliveries_per_request_mean']} vs {ring['deliveries_per_request_mean']}"
              f" ({result['deliveries_ring_to_own']}x), receiving devices "
              f"{result['receivers_per_request_mean']} vs {ring['receivers_per_request_mean']}"
              f" ({result['receivers_ring_to_own']}x)")
    print(f"validation (add for 'shown'): p50 {result['validation_ms_p50']} ms, p99 "
          f"{result['validation_ms_p99']} ms")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    ok = all(r["misdelivered"] == 0 and r["missed_in_area"] == 0 and r["timeouts"] == 0
             and r["connected"] == r["devices"] for r in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
