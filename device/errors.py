"""Exit codes and the mapping of component errors to one-line user messages.

Every error a user can cause is a subclass of one of these component exceptions:
config.ConfigError (bad config file), capture.frame.SourceError (video/camera input),
capture.recording.RecordingError (writing a clip), motion.MotionError (detector input),
motion.people.PeopleError (the people detector: its model),
device.store.StoreError (the clip store, including InvalidClipId and ClipNotFound).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # bad arguments, config or input file
EXIT_CONFIG_DAEMON = 78  # EX_CONFIG, for the daemon under systemd


class UserError(Exception):
    """A failure the user can fix; printed as one line."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def user_error(exc: BaseException) -> UserError | None:
    """Translate a component exception into a UserError; None for real bugs."""
    from capture.frame import SourceError
    from capture.recording import RecordingError
    from device.store import StoreError
    from motion import MotionError
    from motion.people import PeopleError
    from uplink.errors import UplinkError

    if isinstance(exc, SourceError):
        return UserError(str(exc), EXIT_USAGE)
    if isinstance(exc, StoreError):
        return UserError(f"store: {exc}", EXIT_USAGE)
    if isinstance(exc, RecordingError):
        return UserError(f"recording: {exc}", EXIT_FAILURE)
    if isinstance(exc, MotionError):
        return UserError(f"motion: {exc}", EXIT_USAGE)
    if isinstance(exc, PeopleError):
        return UserError(f"people: {exc}", EXIT_USAGE)
    if isinstance(exc, UplinkError):
        return UserError(str(exc), EXIT_USAGE)
    if isinstance(exc, OSError):
        return UserError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
                         EXIT_FAILURE)
    return None


def input_damage(source: object, name: str) -> UserError | None:
    """A one-line error when the source had to skip or stop early on damaged input."""
    error = getattr(source, "error", None)
    skipped = int(getattr(source, "skipped", 0) or 0)
    if not error and not skipped:
        return None
    parts = []
    if skipped:
        parts.append(f"{skipped} damaged frame(s) skipped or concealed")
    if error:
        parts.append(f"input ended early: {error}")
    return UserError(f"{name}: {'; '.join(parts)} (everything decodable was processed)")

