"""Run an MqttLink in its own process until killed (for the last-will test).

Usage: python device_proc.py PORT DEVICE_ID. Prints "connected" once the link is ready (it
has announced `online`).
"""

from __future__ import annotations

import sys
import threading

from config.mqtt import MqttConfig
from uplink.mqtt import MqttLink


def main() -> None:
    port, device_id = int(sys.argv[1]), sys.argv[2]
    link = MqttLink(MqttConfig(host="127.0.0.1", port=port, keepalive_s=5), device_id)
    link.start()
    print("connected" if link.wait_ready(10) else "not connected", flush=True)
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main()
