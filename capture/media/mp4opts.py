"""The options every MP4 that doorcam writes is muxed with."""

from __future__ import annotations


def mp4_options(**extra: str) -> dict[str, str]:
    """FFmpeg's mov muxer options: `extra` plus no edit list.

    A stream with B-frames starts with a negative decode time, which FFmpeg maps with an
    edit list by default. GStreamer's MP4 demuxer and H.264 parser (the pipeline ONVIF's
    Media Signing validator reads clips through) then lose the first access unit: the GOP's
    anchor slice never reaches the validator and it reports the clip altered. Without the
    edit list the first picture is shown a frame's time after zero, which players accept.
    """
    return {"use_editlist": "0", **extra}
