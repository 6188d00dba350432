"""Build the model of a spec: five edge kinds, three bands, in the view the spec asks for.

The model is a typed ``model.graph.Graph``: every node has a kind, a band,
a row (a sub-row of the band), a column (an ordering hint), a layer and a
label in richtext markup; every edge a kind and an optional label. Layout
reads rows and columns; writers never see the spec. ``model.vectorized``
builds the vectorized view, ``model.elementwise`` the element-wise one and
``model.expression`` the computational graph of an expression.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bpdiagram.model.conv_pass import conv_layer_norms, run_conv
from bpdiagram.model.conv_view import ConvBuilder
from bpdiagram.model.elementwise import build_elementwise
from bpdiagram.model.expression import build_expression_graph
from bpdiagram.model.graph import FlowNorm, Graph
from bpdiagram.model.layer_labels import default_title, output_fusion
from bpdiagram.model.memory import MemoryOptions
from bpdiagram.model.numeric_pass import layer_norms, run
from bpdiagram.model.vectorized import VectorizedBuilder
from bpdiagram.spec.expression import ExpressionSpec
from bpdiagram.spec.network import NetworkSpec

__all__ = ["BuildOptions", "build_graph", "gradient_norms"]


@dataclass(frozen=True)
class BuildOptions:
    """Model-level switches that do not come from the spec's ``diagram:`` section."""

    shapes: bool = False
    """Show symbolic shapes such as (n[1], m) = (4, m) on tensor nodes."""
    values: bool = False
    """Show numbers (the spec's ``values:``, else seed 0 and batch 4); they bring concrete shapes with them."""
    memory: MemoryOptions | None = None
    """Show each cached value's shape and bytes at this batch size and dtype, and the total on the cache band."""
    gradient_flow: bool = False
    """Record ‖dW[l]‖_F of every layer drawn (``Graph.gradient_flow``) for the strip under the backward band."""


def build_graph(spec: NetworkSpec | ExpressionSpec, options: BuildOptions | None = None) -> Graph:
    """The model of ``spec``: nodes and edges of every shown kind, in the view the spec asks for."""
    if isinstance(spec, ExpressionSpec):
        return build_expression_graph(spec)
    options = options or BuildOptions()
    if spec.diagram.view == "elementwise":
        title = spec.title if spec.title is not None else default_title(spec)
        g = build_elementwise(spec, shapes=options.shapes, fused=output_fusion(spec), title=title)
    elif spec.conv:
        g = ConvBuilder(spec, options).build()
    else:
        g = VectorizedBuilder(spec, options).build()
    if options.gradient_flow:
        g = dataclasses.replace(g, gradient_flow=gradient_norms(spec))
    return g


def gradient_norms(spec: NetworkSpec) -> tuple[FlowNorm, ...]:
    """(l, ‖dW[l]‖_F, the node computing dW[l]) for every layer the backward pass reaches.

    The numbers are the spec's (else seed 0 and batch 4). The element-wise view has no single
    node computing dW[l] (None): its bar stands under the layer's backward nodes. Each norm is kept
    to six significant digits: the last bits of a matrix product depend on the BLAS kernel numpy picks
    for the CPU, and everything drawn from the norm (the bar's height, its label, the tooltip) must
    come out the same on every machine.
    """
    vectorized = spec.diagram.view == "vectorized"
    norms = conv_layer_norms(run_conv(spec)) if spec.conv else layer_norms(run(spec))
    return tuple((n.layer, significant(n.dW_norm), f"dW{n.layer}" if vectorized else None)
                 for n in norms if n.layer >= spec.diagram.backprop_to)


def significant(value: float, digits: int = 6) -> float:
    """``value`` rounded to ``digits`` significant digits (inf and nan unchanged)."""
    return float(f"{value:.{digits}g}")

