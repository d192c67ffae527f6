"""Write a synthetic scene to an H.264 MP4, for benchmarks that need a camera-like file."""

from __future__ import annotations

import av

from capture.sources import open_source
from config import CaptureConfig


def write_synthetic(dest: str, spec: str, gop: int = 30) -> int:
    source = open_source(spec, CaptureConfig(), pace=None)
    info = source.info
    frames = 0
    with av.open(dest, "w") as out:
        stream = out.add_stream("libx264", rate=round(info.fps))
        stream.width, stream.height, stream.pix_fmt = info.width, info.height, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(gop), "tune": "zerolatency"}
        for frame in source.frames():
            vf = av.VideoFrame.from_ndarray(frame.main.to_bgr(), format="bgr24")
            for pkt in stream.encode(vf):
                out.mux(pkt)
            frames += 1
        for pkt in stream.encode(None):
            out.mux(pkt)
    source.close()
    return frames
