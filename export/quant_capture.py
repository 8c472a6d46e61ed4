"""int4/int8 quantization one MatMul at a time, with onnxruntime's own quantizer, replayed at save.

The stock builder quantizes at save time: it serializes the whole fp32 graph to a protobuf and runs
``MatMulNBitsQuantizer`` over it (tens of GB for a 6.7B model).  Here each quantizable node is
quantized as soon as its module is converted: the node and its weight go into a one-node model,
the same quantizer with the same arguments processes it, and the packed weights and scales it
produces are spilled to disk.  At save time the quantizer runs once more over the whole graph, whose
weights are now only references, with its per-node step replaced by a replay of what was captured:
node names, attribute order, initializer order, opset updates and the clean-up of the fp32 weights
all come from onnxruntime's own code, so the saved model is byte-identical to the stock builder's.
"""

from __future__ import annotations

import logging

import onnx
import onnx_ir as ir
from onnx import ModelProto, NodeProto, TensorProto, helper
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer, get_initializer

from .spill import Spill, as_shape

log = logging.getLogger("magicoder-export")

GHOST_LOCATION = "quantized-at-conversion"  # a weight already replaced by its quantized form


class Captured:
    def __init__(self, nodes: list[NodeProto], initializers: list[TensorProto]):
        self.nodes = nodes
        self.initializers = initializers


class QuantCapture:
    """Quantizes one node at a time with the arguments the stock ``to_nbits`` would use, and replays it."""

    def __init__(self, quantizer_args: dict, model: ir.Model, spill: Spill):
        self.args = quantizer_args
        self.model = model  # the graph being built: its opsets and IR version
        self.spill = spill
        self.captured: dict[str, Captured] = {}
        self.late = 0

    def wants(self, node: ir.Node) -> bool:
        """The node selection of MatMulNBitsQuantizer._process_subgraph (no nodes_to_include in this mode)."""
        return node.name not in self.args["nodes_to_exclude"] and node.op_type in self.args["op_types_to_quantize"]

    def _one_node_model(self, node: ir.Node) -> tuple[ModelProto, set[str]]:
        """The node alone, its constant inputs as initializers, the others as typed graph inputs."""
        inits, inputs, consts = [], [], set()
        for value in node.inputs:
            if value is None:
                continue
            if value.const_value is not None and value.is_initializer() and value.name:
                inits.append(ir.serde.serialize_tensor(value.const_value))
                consts.add(value.name)
            else:
                inputs.append(ir.serde.serialize_value(value))
        outputs = [ir.serde.serialize_value(v) for v in node.outputs]
        graph = helper.make_graph([ir.serde.serialize_node(node)], "one-node", inputs, outputs, inits)
        opsets = [helper.make_opsetid(domain, version) for domain, version in self.model.opset_imports.items()]
        model = helper.make_model(graph, opset_imports=opsets)
        model.ir_version = self.model.ir_version
        return model, consts

    def quantize(self, node: ir.Node, graph: ir.Graph) -> None:
        """Quantize ``node`` now; its fp32 weight leaves the graph's memory (and, at save, the graph)."""
        assert node.name, "the builder names every node"
        model, consts = self._one_node_model(node)
        before = model.graph.node[0].SerializeToString()
        quantizer = MatMulNBitsQuantizer(model=model, **self.args)  # processes ``model`` in place
        quantizer.process()
        result = quantizer.model.model.graph
        kept = {init.name for init in result.initializer}
        if [n.SerializeToString() for n in result.node] == [before]:
            return  # left alone (a non-constant weight): the save-time pass leaves it alone as well
        new_inits = [init for init in result.initializer if init.name not in consts]
        for init in new_inits:
            self.spill.externalize_proto(init)
        # Standalone copies: a message taken from ``model`` would keep its whole arena (the fp32 weight) alive.
        self.captured[node.name] = Captured([_copy(n) for n in result.node], [_copy(i) for i in new_inits])
        for name in consts - kept:
            value = graph.initializers[name]
            weight = value.const_value
            if weight is not None and len(value.uses()) == 1:
                # Dropped by the save-time clean-up; until then a reference that is never read.
                value.const_value = ir.ExternalTensor(
                    GHOST_LOCATION, 0, weight.nbytes, weight.dtype, shape=as_shape(weight.shape), name=name
                )

    def replay(self, model: ModelProto) -> ModelProto:
        """onnxruntime's quantizer over the whole (reference-only) graph, per-node work replayed."""
        quantizer = MatMulNBitsQuantizer(model=model, **self.args)
        quantizer.node_quantizer = _Replay(self, quantizer.node_quantizer)
        quantizer.process()
        if self.captured:
            raise RuntimeError(f"quantized nodes missing from the graph at save: {sorted(self.captured)[:5]}")
        return quantizer.model.model


def _copy(message):
    return type(message).FromString(message.SerializeToString())


class _Replay:
    """Stands in for the quantizer's per-node step: captured results, or the real step for anything new."""

    def __init__(self, capture: QuantCapture, real):
        self.capture = capture
        self.real = real

    def quantize(self, node: NodeProto, graph_stack: list[onnx.GraphProto]) -> list[NodeProto]:
        done = self.capture.captured.pop(node.name, None)
        if done is not None:
            graph_stack[-1].initializer.extend(done.initializers)
            return done.nodes
        # Not seen at conversion time: quantize it now, in memory, exactly as the stock pass would.
        tensor, _ = get_initializer(node.input[1], graph_stack) if len(node.input) > 1 else (None, None)
        if tensor is not None and tensor.data_location == TensorProto.EXTERNAL:
            self.capture.spill.inline_proto(tensor)
            self.capture.late += 1
            log.debug("quantizing %s at save time", node.name)
        return self.real.quantize(node, graph_stack)
