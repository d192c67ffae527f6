"""The [owner_mqtt] config section: the home's own broker (e.g. Home Assistant's), which
carries the owner channel and Home Assistant status, never the agency broker."""

from __future__ import annotations

import os
from dataclasses import dataclass

from config.fields import setting
from config.mqtt import MqttConfig, _no_wildcards, _optional_topic, _secret


@dataclass(frozen=True)
class OwnerMqttConfig:
    """The home broker: the owner's sealed view and decisions, Home Assistant status."""

    enabled: bool = setting(
        False, "Connect to the home broker. Off: no remote owner channel and no Home "
        "Assistant (neither ever goes to the agency broker of [mqtt]).", restart=True)
    host: str = setting("127.0.0.1", "Home broker host name or address.", restart=True)
    port: int = setting(1883, "Home broker TCP port (8883 is usual with TLS).",
                        min=1, max=65535, restart=True)
    client_id: str = setting(
        "", "MQTT client id; empty = 'doorcam-<device id>-home'.", restart=True)
    username: str = setting("", "Broker user name; empty = connect anonymously.", restart=True)
    password: str = _secret(setting("", "Broker password (used only with a user name).",
                                    restart=True))
    password_env: str = setting(
        "", "Environment variable holding the password instead (e.g. from a systemd "
        "credential); used when password is empty.", restart=True)
    tls: bool = setting(False, "Connect with TLS.", restart=True)
    ca_file: str = setting("", "CA certificate file for TLS; empty = the system's CAs.",
                           restart=True)
    cert_file: str = setting("", "Client certificate file for TLS; empty = none.",
                             restart=True)
    key_file: str = setting("", "Private key file of the client certificate.", restart=True)
    keepalive_s: int = setting(30, "Seconds between keep-alive pings when idle.",
                               min=5, max=3600, restart=True)
    max_packet_kb: int = setting(
        1024, "Largest MQTT packet accepted (the owner's view carries each pending "
        "request's signed document).", min=1, max=256 * 1024, restart=True)
    topic_prefix: str = setting("doorcam/v1", "First levels of every topic on this broker.",
                                check=_no_wildcards, restart=True)
    owner_topic: str = setting(
        "", "Base of the owner topics (view, audit head, decisions); empty = "
        "'<topic_prefix>/owner/<device id>'.", check=_optional_topic, restart=True)

    def link_config(self, device_id: str) -> MqttConfig:
        """The connection settings as the MQTT link takes them."""
        return MqttConfig(
            host=self.host, port=self.port, client_id=self.effective_client_id(device_id),
            username=self.username,
            password=self.password or (os.environ.get(self.password_env, "")
                                       if self.password_env else ""),
            tls=self.tls, ca_file=self.ca_file, cert_file=self.cert_file,
            key_file=self.key_file, keepalive_s=self.keepalive_s,
            max_packet_kb=self.max_packet_kb, topic_prefix=self.topic_prefix,
            owner_topic=self.owner_topic)

    def effective_client_id(self, device_id: str) -> str:
        return self.client_id or f"doorcam-{device_id}-home"

    def effective_owner_topic(self, device_id: str) -> str:
        return self.owner_topic or f"{self.topic_prefix}/owner/{device_id}"
