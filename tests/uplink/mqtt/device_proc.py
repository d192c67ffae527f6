"""Run an MqttLink in its own process until killed (for the last-will test).

Usage: python device_proc.py PORT DEVICE_ID. Prints "connected" once the link is up.
"""

from __future__ import annotations

import sys
import time

from config.mqtt import MqttConfig
from uplink.mqtt import MqttLink


def main() -> None:
    port, device_id = int(sys.argv[1]), sys.argv[2]
    link = MqttLink(MqttConfig(host="127.0.0.1", port=port, keepalive_s=5), device_id)
    link.start()
    deadline = time.monotonic() + 10
    while not link.connected and time.monotonic() < deadline:
        time.sleep(0.02)
    print("connected" if link.connected else "not connected", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
