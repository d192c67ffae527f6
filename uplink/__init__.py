"""Agency requests and consent-gated upload: the protocol, the request desk, the upload
client, MQTT, the audit log, and the agency side's tools (`uplink.agency`)."""
