"""Edits to the builder's graph that the engine relies on."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import helper

LM_HEAD_OPS = {"MatMul", "MatMulNBits", "Gemm"}
PASS_THROUGH_OPS = {"Cast", "Identity"}
INT64_MAX = 2**63 - 1


def slice_last_position_logits(graph_path: Path, logits: str = "logits") -> bool:
    """Compute the LM head for the last position only: logits [batch, 1, vocab].

    The builder's graph projects every prompt position onto the vocabulary during prefill,
    although only the last one is ever sampled: for a 2,000-token prompt that is 2,000 x 32,256
    logits (258 MB in fp32) and, on small models, most of the prefill's arithmetic.  We slice
    the hidden state [batch, seq, hidden] to its last position before the LM head.  The external
    weight file is untouched.  Returns False when the graph already does it.
    """
    model = onnx.load(str(graph_path), load_external_data=False)
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    head = producer[logits]
    while head.op_type in PASS_THROUGH_OPS:
        head = producer[head.input[0]]
    if head.op_type not in LM_HEAD_OPS:
        raise ValueError(f"unexpected LM head {head.op_type} ({head.name}) before {logits}")
    hidden = head.input[0]
    if hidden in producer and producer[hidden].op_type == "Slice":
        return False
    sliced = f"{hidden}/last_position"
    consts = {
        "starts": [-1],
        "ends": [INT64_MAX],
        "axes": [1],
    }
    nodes = [
        helper.make_node(
            "Constant",
            [],
            [f"{sliced}/{name}"],
            value=helper.make_tensor(f"{sliced}/{name}", onnx.TensorProto.INT64, [1], value),
        )
        for name, value in consts.items()
    ]
    nodes.append(
        helper.make_node(
            "Slice",
            [hidden, *(f"{sliced}/{name}" for name in consts)],
            [sliced],
            name="/lm_head/LastPositionSlice",
        )
    )
    head.input[0] = sliced
    index = list(graph.node).index(head)
    for offset, node in enumerate(nodes):
        graph.node.insert(index + offset, node)
    for output in graph.output:
        if output.name == logits:
            output.type.tensor_type.shape.dim[1].ClearField("dim_param")
            output.type.tensor_type.shape.dim[1].dim_value = 1
    onnx.save(model, str(graph_path))
    return True
