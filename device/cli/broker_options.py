"""Broker options shared by the commands that talk to MQTT from outside the daemon."""

from __future__ import annotations

import argparse
import os

from config.mqtt import MqttConfig


def port(text: str) -> int:
    """An argparse type: a TCP port number (0 lets the system choose, where that makes sense)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number 0..65535, not {text!r}")
    return value


def add_broker_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="the broker (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=1883, help="its port (default 1883)")
    parser.add_argument("--username", default="", help="broker user name")
    parser.add_argument("--password-env", metavar="VAR", default="DOORCAM_MQTT_PASSWORD",
                        help="environment variable holding the broker password")
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument("--ca-file", default="", help="CA certificate for TLS")


def broker_config(args: argparse.Namespace) -> MqttConfig:
    return MqttConfig(host=args.host, port=args.port, username=args.username,
                      password=os.environ.get(args.password_env, ""), tls=args.tls,
                      ca_file=args.ca_file)
