"""The owner's web app (HTTP endpoints, pages) and its push notifications."""
