"""The owner's web app (`doorcam web`): its own process, never the daemon's."""
