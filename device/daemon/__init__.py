"""The device daemon (`doorcam run`): its sides, each owning its threads, and the supervisor."""
