"""Agency requests and consent-gated upload (issue 3)."""
