"""The connection settings of an MQTT broker, shared by [mqtt] (the agency broker) and
[owner_mqtt] (the home broker): one definition, the same keys and checks in both."""

from __future__ import annotations

from dataclasses import dataclass

from config.fields import secret, setting


@dataclass(frozen=True)
class BrokerConnection:
    """Where a broker is and how the device logs in to it."""

    host: str = setting("127.0.0.1", "Broker host name or address.", restart=True)
    port: int = setting(1883, "Broker TCP port (8883 is usual with TLS).",
                        min=1, max=65535, restart=True)
    client_id: str = setting("", "MQTT client id; empty = one made from the device id.",
                             restart=True)
    username: str = setting("", "Broker user name; empty = connect anonymously.", restart=True)
    password: str = secret(setting("", "Broker password (used only with a user name).",
                                   restart=True))
    tls: bool = setting(False, "Connect with TLS.", restart=True)
    ca_file: str = setting("", "CA certificate file for TLS; empty = the system's CAs.",
                           restart=True)
    cert_file: str = setting("", "Client certificate file for TLS; empty = none.",
                             restart=True)
    key_file: str = setting("", "Private key file of the client certificate.", restart=True)
    keepalive_s: int = setting(30, "Seconds between keep-alive pings when idle.",
                               min=5, max=3600, restart=True)
