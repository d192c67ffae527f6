"""Recording: the pre-roll of encoded packets, the clip state machine, the sink contract."""

from capture.recording.clip import CommittedClip, RecordingError
from capture.recording.recorder import Recorder

__all__ = ["CommittedClip", "Recorder", "RecordingError"]
