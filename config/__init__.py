"""Typed, validated configuration. Every package may import this one."""

from config.loader import ConfigError, Problem, load_config, parse_config
from config.schema import (
    CaptureConfig,
    Config,
    MotionConfig,
    RecordingConfig,
    StoreConfig,
)
from config.web import WebConfig

__all__ = [
    "CaptureConfig",
    "Config",
    "ConfigError",
    "MotionConfig",
    "Problem",
    "RecordingConfig",
    "StoreConfig",
    "WebConfig",
    "load_config",
    "parse_config",
]
