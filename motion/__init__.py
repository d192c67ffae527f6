"""Motion detection on the lores image: detector, guards and events."""

from motion.detector import MotionDetector
from motion.events import Box, EventTransition, FrameResult, MotionError

__all__ = ["Box", "EventTransition", "FrameResult", "MotionDetector", "MotionError"]
