"""Small ONNX models with YOLOX-Nano's interface, built here with the `onnx` package: input
`images` 1x3x416x416 float32, output `output` 1x3549x85. The output is a fixed table (the
anchors a test chooses) whose objectness column is scaled by the input's mean over 114, so
a blob that is not the letterboxed picture the model expects changes the answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIZE = 416
ANCHORS = sum((SIZE // s) ** 2 for s in (8, 16, 32))  # 3549


def anchor_index(stride: int, gx: int, gy: int) -> int:
    """Row of the output for grid cell (gx, gy) of a stride's grid."""
    offset = 0
    for s in (8, 16, 32):
        n = SIZE // s
        if s == stride:
            return offset + gy * n + gx
        offset += n * n
    raise ValueError(stride)


def raw_row(stride: int, cx: float, cy: float, w: float, h: float, obj: float,
            cls: int, p: float) -> np.ndarray:
    """An output row that decodes to a box centred (cx, cy), w x h input pixels."""
    row = np.zeros(85, np.float32)
    row[0] = cx / stride - int(cx // stride)
    row[1] = cy / stride - int(cy // stride)
    row[2], row[3] = np.log(w / stride), np.log(h / stride)
    row[4] = obj
    row[5 + cls] = p
    return row


def build(path: Path, rows: dict[int, np.ndarray], *, size: int = SIZE,
          anchors: int = ANCHORS, output: str = "output") -> Path:
    table = np.zeros((1, anchors, 85), np.float32)
    for i, row in rows.items():
        table[0, i] = row
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Div", ["mean", "pad"], ["factor"]),
        helper.make_node("Sub", ["factor", "one"], ["change"]),
        helper.make_node("Mul", ["objectness", "change"], ["adjust"]),
        helper.make_node("Add", ["one", "adjust"], ["scale"]),
        helper.make_node("Mul", ["table", "scale"], [output]),
    ]
    objectness = np.zeros(85, np.float32)
    objectness[4] = 1.0
    graph = helper.make_graph(
        nodes, "yolox_like",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, [1, anchors, 85])],
        initializer=[numpy_helper.from_array(table, "table"),
                     numpy_helper.from_array(np.array(114.0, np.float32), "pad"),
                     numpy_helper.from_array(np.array(1.0, np.float32), "one"),
                     numpy_helper.from_array(objectness, "objectness")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
