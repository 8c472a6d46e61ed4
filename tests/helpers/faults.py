"""Faults planted in exported model folders, for the tests of the parity gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper


def scale_one_weight(folder: Path) -> None:
    """Scale one MLP weight of the folder's fp32 graph by 1.01 (a planted fault); rewrites both files."""
    model = onnx.load(str(folder / "model.onnx"), load_external_data=True)
    weight = next(t for t in model.graph.initializer if t.name.endswith("layers.1.mlp.down_proj.MatMul.weight"))
    scaled = numpy_helper.to_array(weight) * np.float32(1.01)
    weight.CopyFrom(numpy_helper.from_array(scaled, weight.name))
    (folder / "model.onnx.data").unlink()
    onnx.save(model, str(folder / "model.onnx"), save_as_external_data=True, location="model.onnx.data")
