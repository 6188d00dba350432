"""Expression graphs: the backprop graph of an evaluated expression, gate by gate.

Each gate of the parsed expression becomes a forward op (with its value); its
backward rule node shows, per input, the catalogue's rule and the number it
gives. A variable's gradient ends in a node of its own, summed by an explicit
``+`` node when the variable is used more than once; so is the gradient
of a program's value that several later lines read. Values and gradients are
written on the wires, forward values in the forward band and gradients in
the backward band, as in the worked examples of course notes. The numbers
come from ``model.expression_values``.

The graph is laid out as a forward drawing and its mirror
(``layout.mirror``): every backward, sum and cached node names, as
``mirror``, the forward node whose column it stands in.
"""

from __future__ import annotations

import functools

from bpdiagram.model.catalogue import GATE_OPS
from bpdiagram.model.expression_values import (
    Evaluation,
    GateValue,
    evaluate,
    fill_gate,
    fmt,
    name_markup,
    var_node,
)
from bpdiagram.model.graph import Edge, Graph, GraphBuilder, Node
from bpdiagram.options import Band, EdgeKind, NodeKind
from bpdiagram.richtext import plain
from bpdiagram.spec.expression import ExpressionSpec

ROWS: dict[str, Band] = {"ops": "forward", "params": "forward", "cache": "cache", "chain": "backward",
                         "grads": "backward"}


def build_expression_graph(spec: ExpressionSpec) -> Graph:
    """The computational graph of ``spec`` with values and gradients."""
    return ExpressionBuilder(spec, evaluate(spec)).build()


class ExpressionBuilder:
    """One expression's graph, built in passes: forward ops, backward rules, gradient sums, the cache."""

    def __init__(self, spec: ExpressionSpec, ev: Evaluation) -> None:
        self.spec = spec
        self.ev = ev
        self.show = set(spec.show)
        self.g = GraphBuilder()
        self.fmt = functools.partial(fmt, decimals=spec.decimals)
        self.column = {gate.id: 2 * i + 1 for i, gate in enumerate(ev.gates)}
        self.var_id = {var: var_node(var) for var in spec.variables}
        readers: dict[str, int] = {}
        for gate in ev.gates:
            for wire in gate.inputs:
                if wire.node is not None and wire.var is None:
                    readers[wire.node] = readers.get(wire.node, 0) + 1
        self.fan_out = {gid for gid, n in readers.items() if n > 1}
        """A program's values read by several later operations: their gradients meet in a ``+``."""

    def node(self, node_id: str, kind: NodeKind, row: str, column: float, label: str,
             mirror: str | None = None) -> None:
        self.g.add_node(Node(node_id, kind, ROWS[row], row, column, 0, label, plain(label), mirror=mirror))

    def edge(self, kind: EdgeKind, source: str, target: str, label: str = "") -> None:
        """An edge of a shown kind; a second edge of one kind between two nodes gets its own key."""
        if kind in self.show and source in self.g and target in self.g:
            n = self.g.number_of_edges(source, target)
            key = kind if not self.g.has_edge(source, target, kind) else f"{kind}.{n}"
            self.g.add_edge(Edge(source, target, key, kind, label))

    def build(self) -> Graph:
        spec = self.spec
        title = spec.heading
        self.forward()
        backward = "backward" in self.show
        if backward:
            self.backward_nodes()
            self.backward_edges()
            if "cache" in self.show:
                self.cache()
            for gate in self.ev.gates:
                self.edge("derivative", gate.id, f"d.{gate.id}")
        return self.g.freeze(view="expression", title=title, rows=tuple(ROWS), notation="expression")

    def forward(self) -> None:
        """Variables (each just left of the gate that reads it first), the gates, and the wires between."""
        first_use: dict[str, str] = {}
        for gate in self.ev.gates:
            for wire in gate.inputs:
                if wire.var is not None and wire.var not in first_use:
                    first_use[wire.var] = gate.id
        for i, var in enumerate(self.spec.variables):
            col = self.column[first_use[var]] - 0.6 + 0.01 * i
            label = f"{name_markup(var)} = {self.fmt(self.spec.values[var])}"
            self.node(self.var_id[var], "input", "params", col, label)
        for gate in self.ev.gates:
            formula = fill_gate(GATE_OPS[gate.node.op].forward, gate)
            label = f"{gate.out.name} = {formula} = {self.fmt(gate.out.value)}"
            self.node(gate.id, "op", "ops", self.column[gate.id], label)
        for gate in self.ev.gates:
            for wire in gate.inputs:
                if wire.node is not None:
                    self.edge("forward", wire.node, gate.id, self.fmt(wire.value))

    def backward_nodes(self) -> None:
        """Each gate's rules under it; each variable's gradient (and its ``+`` when used twice) under it."""
        ev = self.ev
        for gate in ev.gates:
            op = GATE_OPS[gate.node.op]
            lines = [f"{fill_gate(rule, gate)} = {self.fmt(din)}"
                     for rule, wire, din in zip(op.rules, gate.inputs, gate.dins, strict=True) if wire.node is not None]
            self.node(f"d.{gate.id}", "grad", "chain", self.column[gate.id], "\n".join(lines) or f"d{gate.out.name}",
                      mirror=gate.id)
            if gate.id in self.fan_out:
                self.node(f"sum.{gate.id}", "sum", "chain", self.column[gate.id] + 0.2, "+", mirror=gate.id)
        for var in self.spec.variables:
            vid = self.var_id[var]
            col = self.g.node(vid).column
            self.node(f"grad.{var}", "grad", "grads", col - 0.2, f"d{name_markup(var)} = {self.fmt(ev.grads[var])}",
                      mirror=vid)
            if len(ev.contributions[var]) > 1:
                self.node(f"sum.{var}", "sum", "grads", col, "+", mirror=vid)

    def backward_edges(self) -> None:
        """dJ/df = 1 into the last gate's rule, then every gradient back along its wire, into the sums."""
        ev = self.ev
        final = ev.gates[-1]
        self.edge("backward", final.id, f"d.{final.id}", self.fmt(1.0))
        for gate in reversed(ev.gates):
            for wire, din in zip(gate.inputs, gate.dins, strict=True):
                if wire.node is None:
                    continue
                if wire.var is not None:
                    target = f"sum.{wire.var}" if f"sum.{wire.var}" in self.g else f"grad.{wire.var}"
                    self.edge("backward", f"d.{gate.id}", target, self.fmt(din))
                elif wire.node in self.fan_out:
                    self.edge("backward", f"d.{gate.id}", f"sum.{wire.node}", self.fmt(din))
                else:
                    self.edge("backward", f"d.{gate.id}", f"d.{wire.node}", self.fmt(din))
        for gate in ev.gates:
            if gate.id in self.fan_out:
                self.edge("backward", f"sum.{gate.id}", f"d.{gate.id}", self.fmt(gate.dout))
        for var in self.spec.variables:
            self.edge("backward", f"sum.{var}", f"grad.{var}", self.fmt(ev.grads[var]))

    def cache(self) -> None:
        """Each value a drawn backward rule reads, kept once under its producer and wired to every reader."""
        for gate in self.ev.gates:
            for kept in kept_reads(gate):
                wire = gate.out if kept == "o" else gate.inputs["ab".index(kept)]
                if wire.node is None:
                    continue
                cid = f"cache.{wire.node}"
                if cid not in self.g:
                    source = self.g.node(wire.node)
                    offset = 0.3 if source.kind == "op" else 0.0
                    self.node(cid, "cached", "cache", source.column + offset, f"{wire.name} = {self.fmt(wire.value)}",
                              mirror=wire.node)
                    self.edge("cache", wire.node, cid)
                self.edge("cache", cid, f"d.{gate.id}")


def kept_reads(gate: GateValue) -> list[str]:
    """The values (``a``, ``b``, ``o``) the drawn backward rules of ``gate`` read, among those it keeps.

    A rule is drawn only for an input that is not a constant, and a rule may
    read only a constant (``d$a = 2 · d$o`` for ``x · 2``): then nothing goes
    through the cache.
    """
    op = GATE_OPS[gate.node.op]
    read: set[str] = set()
    for rule, wire in zip(op.rules, gate.inputs, strict=True):
        if wire.node is None:
            continue
        rhs = rule.split(" = ", 1)[1].replace("d$o", "")
        read |= {v for v in "abo" if f"${v}" in rhs}
    return [k for k in op.keeps if k in read]

