"""Mixed precision on the diagram: each drawn gradient judged against a 16-bit format's range, after loss scaling.

``precision_report`` runs the spec's float64 pass, picks S (the spec's, or the
dynamic scaler's) and judges dZ[l], dW[l], db[l] and dA[l−1] of every layer
with the catalogue's ``judge``. ``with_precision`` writes what that means into
the model's labels, so every format carries it: the loss node says × S, a
backward op whose arrays lose entries gets a badge line with the shares, and
the update edges say they unscale (÷ S) into float32 master weights.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bpdiagram.model.catalogue import FLOAT_FORMATS, FloatFormat, Shares, dynamic_scale, judge
from bpdiagram.model.graph import Graph
from bpdiagram.model.numeric_pass import Pass, run
from bpdiagram.options import Precision
from bpdiagram.richtext import plain
from bpdiagram.spec.network import NetworkSpec

__all__ = ["LayerPrecision", "PrecisionReport", "percent", "power_text", "precision_report", "scale_text",
           "with_precision"]


@dataclass(frozen=True)
class LayerPrecision:
    """The shares one layer's gradients lose: dZ[l] (per example, as drawn), dW[l], db[l], dA[l] (None if not drawn)."""

    layer: int
    dZ: Shares
    dW: Shares
    db: Shares
    dA: Shares | None


@dataclass(frozen=True)
class PrecisionReport:
    """The format, the loss scale S used (the dynamic scaler's when ``dynamic``), and every layer's shares."""

    format: FloatFormat
    loss_scale: float
    dynamic: bool
    layers: tuple[LayerPrecision, ...]

    def to_dict(self) -> dict[str, Any]:
        """``check --json``'s ``precision``: dtype, S (a number, also for dynamic) and each layer's shares."""
        return {"dtype": self.format.name, "loss_scale": self.loss_scale,
                "layers": [{"layer": x.layer, "dW_underflow": x.dW.underflow, "dW_overflow": x.dW.overflow,
                            "dZ_underflow": x.dZ.underflow} for x in self.layers]}


def precision_report(spec: NetworkSpec, p: Pass | None = None) -> PrecisionReport | None:
    """The judgement of ``spec``'s gradients under its ``diagram: {precision, loss_scale}``; None without one."""
    dtype: Precision | None = spec.diagram.precision
    if dtype is None:
        return None
    fmt = FLOAT_FORMATS[dtype]
    p = p if p is not None else run(spec)
    asked = spec.diagram.loss_scale
    if asked == "dynamic":
        scale = dynamic_scale([g for layer in p.layers for g in (layer.dW, layer.db)], fmt)
    else:
        scale = float(asked)
    layers = []
    for k, x in enumerate(p.layers, start=1):
        previous = p.layers[k - 2].dA if k > 1 else None  # dA[l−1], computed (and drawn) by layer l's op
        layers.append(LayerPrecision(k, judge(x.dZ, scale, fmt), judge(x.dW, scale, fmt), judge(x.db, scale, fmt),
                                     judge(previous, scale, fmt) if previous is not None else None))
    return PrecisionReport(fmt, scale, asked == "dynamic", tuple(layers))


def percent(share: float) -> str:
    """A share as a percentage for a label: ``94%``, ``0.69%``, ``< 0.1%`` for a tiny nonzero one, ``0``.

    >>> percent(0.9375), percent(0.0069), percent(0.0), percent(1e-5)
    ('94%', '0.69%', '0', '< 0.1%')
    """
    if share == 0:
        return "0"
    value = share * 100
    if value < 0.1:
        return "< 0.1%"
    return f"{value:.2g}%" if value < 10 else f"{value:.0f}%"


def power_text(s: float) -> str:
    """S as markup: ``1024``, ``2^{20}`` for a power of two past 2¹⁰ (its decimal form is long), else 6 digits.

    >>> power_text(1024.0), power_text(2.0 ** 20), power_text(3.5)
    ('1024', '2^{20}', '3.5')
    """
    k = int(s).bit_length() - 1 if s.is_integer() else -1
    return f"2^{{{k}}}" if k >= 11 and 2.0 ** k == s else f"{s:.6g}"


def scale_text(report: PrecisionReport) -> str:
    """S as drawn (``power_text``), with ``dynamic`` when the scaler chose it."""
    text = power_text(report.loss_scale)
    return f"{text} (dynamic)" if report.dynamic else text


def _badge(report: PrecisionReport, arrays: list[tuple[str, Shares | None]]) -> str | None:
    """One badge line per array that loses entries: ``float16: dW 94% → 0``, or None when none lose any."""
    parts = []
    for name, shares in arrays:
        if shares is None or not (shares.underflow or shares.overflow):
            continue
        lost = []
        if shares.underflow:
            lost.append(f"{percent(shares.underflow)} → 0")
        if shares.overflow:
            lost.append(f"{percent(shares.overflow)} → inf")
        parts.append(f"{name} {', '.join(lost)}")
    if not parts:
        return None
    return f"⚠ {report.format.name}: " + "; ".join(parts)


def _exact(report: PrecisionReport, arrays: list[tuple[str, Shares | None]]) -> str:
    """The exact shares of every array of a node, for its tooltip (six significant digits)."""
    parts = [f"{name}: {shares.underflow:.6g} flushed to zero, {shares.overflow:.6g} overflowed "
             f"(of {shares.size} entries)" for name, shares in arrays if shares is not None]
    return f" / {report.format.name} at loss scale {report.loss_scale:.6g}: " + "; ".join(parts)


def with_precision(graph: Graph, report: PrecisionReport, *, values: bool = False) -> Graph:
    """``graph`` with the loss × S, a badge on every backward op that loses entries, updates that unscale.

    ``values``: the nodes show numbers, so the loss node's last line is J's value and stays last.
    """
    by_layer = {x.layer: x for x in report.layers}
    nodes = dict(graph.nodes)
    s = scale_text(report)
    for node in graph.nodes.values():
        arrays: list[tuple[str, Shares | None]] | None = None
        x = by_layer.get(node.layer)
        if node.kind == "loss":
            extra = f"× S = {s} ({report.format.name} loss scaling)"
            lines = node.label.split("\n")
            at = len(lines) - 1 if values else len(lines)  # the loss's value stays its last line
            lines.insert(at, extra)
            nodes[node.id] = dataclasses.replace(node, label="\n".join(lines),
                                                 plain=f"{node.plain} / {plain(extra)}")
            continue
        if x is None or node.band != "backward":
            continue
        if node.id == f"dZ{node.layer}":
            arrays = [("dZ", x.dZ)]
        elif node.id == f"dW{node.layer}":
            arrays = [("dW", x.dW), ("db", x.db), ("dA", x.dA)]
        if arrays is None:
            continue
        badge = _badge(report, arrays)
        label = f"{node.label}\n{badge}" if badge else node.label
        nodes[node.id] = dataclasses.replace(node, label=label, plain=node.plain + _exact(report, arrays),
                                             alert=badge is not None)
    unscale = f"÷ {power_text(report.loss_scale)} → float32 master"
    edges = tuple(dataclasses.replace(e, label=f"{unscale}, {e.label}" if e.label else unscale)
                  if e.kind == "update" else e for e in graph.edges)
    lost = {x.layer: x.dW.underflow + x.dW.overflow for x in report.layers}
    return dataclasses.replace(graph, nodes=nodes, edges=edges, flow_lost=lost)
