"""Motion detection on the lores image: detector, guards, events and baselines."""

from motion.detector import MotionDetector
from motion.events import Box, EventTransition, FrameResult, MotionError

__all__ = ["Box", "EventTransition", "FrameResult", "MotionDetector", "MotionError"]
