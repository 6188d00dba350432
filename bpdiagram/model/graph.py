"""The model every builder produces and the layout reads: typed nodes and edges, in a fixed order.

A builder (``model.vectorized``, ``model.elementwise``, ``model.expression``)
decides what is drawn and the hints the layout follows: each node's band, its
row within the band and its column (an ordering hint), each edge's kind and
label. It adds them to a ``GraphBuilder`` and freezes the result into a
``Graph``; from there on nothing changes, so every format, theme and slide
step reads the same model.

Order is part of the contract: nodes keep the order they were added in, and
edges the order networkx gives a ``MultiDiGraph`` built the same way (by
source in node order, then by target in the order the source first reached
it, then by key). Layouts break ties by it, so output stays byte-identical
across runs.

``Graph.to_networkx()`` gives the same model as a ``networkx.MultiDiGraph``
with plain attributes, for scripts (``Diagram.graph``); networkx is imported
only then, never on the render path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from bpdiagram.options import EDGE_KINDS, Band, EdgeKind, NodeKind

if TYPE_CHECKING:
    import networkx as nx

    from bpdiagram.model.memory import Dims

EdgeKey = tuple[str, str, str]
"""An edge's (source, target, key): two edges may join the same nodes (an expression reading x twice)."""
View = Literal["vectorized", "elementwise", "expression"]
"""Which builder made the graph, and so which layout draws it (graphviz, the grid, the mirror)."""
FlowNorm = tuple[int, float, str | None]
"""(l, ‖dW[l]‖_F, the node computing dW[l] or None) for the gradient-flow strip."""


@dataclass(frozen=True, slots=True)
class Node:
    """One box of the diagram: a value, an op or a gradient, with where the builder wants it."""

    id: str
    kind: NodeKind
    band: Band
    row: str
    """The sub-row of the band (``ops``, ``params``, ``cache``, ``chain`` …), top to bottom as ``Graph.rows``."""
    column: float
    """An ordering hint left to right: layer l owns columns 2l−1 (its linear step) and 2l (its activation)."""
    layer: int
    label: str
    """Richtext markup (``Z^{[1]} = W^{[1]}X``), lines split by ``\\n``."""
    plain: str
    """The label as plain text, for tooltips and search."""
    name: str | None = None
    """The value's short name (``A^{[1]}``), which a wrapped diagram writes on a tier's stand-in."""
    array: str | None = None
    """The tensor the node holds (``A1``), for counting the cache's bytes."""
    dims: Dims | None = None
    """That tensor's dimensions (``(4, "m")``)."""
    mirror: str | None = None
    """Expression graphs: the forward node whose column this backward or cached node stands in."""
    unit: tuple[str, int] | None = None
    """The element-wise view: what the node is for one unit (``z``, ``a``, ``w``, ``dz``, ``dw``, ``input``,
    ``target``) and the unit's number in its layer (1 … n[l])."""
    alert: bool = False
    """Mixed precision: the node's arrays lose entries in the 16-bit format (its label carries the badge)."""


@dataclass(frozen=True, slots=True)
class Edge:
    """One line of the diagram: what flows from ``source`` to ``target``."""

    source: str
    target: str
    key: str
    kind: EdgeKind
    label: str = ""
    value: str | None = None
    """The value flowing along the edge when it is not the source's own name (vectorized view)."""

    @property
    def ends(self) -> EdgeKey:
        """The edge's (source, target, key), unique in its graph."""
        return (self.source, self.target, self.key)


@dataclass(frozen=True, eq=False)
class Graph:
    """The frozen model of one diagram: nodes and edges in order, and what the picture says about itself."""

    view: View
    title: str
    rows: tuple[str, ...]
    """Every row that holds a node, top to bottom."""
    notation: str
    nodes: Mapping[str, Node]
    edges: tuple[Edge, ...]
    loss: str | None = None
    learning_rate: str | None = None
    fused: bool = False
    """Whether the output layer's backward step is the fused rule (dZ = A − Y) rather than the general chain."""
    band_titles: Mapping[str, str] = field(default_factory=dict)
    """A band's title with a figure in it (``CACHE · 3.02 MiB``), by band."""
    gradient_flow: tuple[FlowNorm, ...] = ()
    """‖dW[l]‖ of every layer drawn, when the strip under the backward band is asked for (times S under precision)."""
    flow_limits: tuple[str, float, float, float] | None = None
    """Under mixed precision: the format, its smallest subnormal and largest finite value, and S, for the strip."""
    flow_lost: Mapping[int, float] = field(default_factory=dict)
    """Under mixed precision: the share of dW[l]'s entries lost, by layer, for the strip's bars."""
    _out: dict[str, tuple[Edge, ...]] = field(init=False, repr=False)
    _in: dict[str, tuple[Edge, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # read-only views: a frozen model whose node table could still be changed would not be frozen
        object.__setattr__(self, "nodes", MappingProxyType(dict(self.nodes)))
        object.__setattr__(self, "band_titles", MappingProxyType(dict(self.band_titles)))
        out: dict[str, list[Edge]] = {n: [] for n in self.nodes}
        into: dict[str, list[Edge]] = {n: [] for n in self.nodes}
        for e in self.edges:
            out[e.source].append(e)
            into[e.target].append(e)
        object.__setattr__(self, "_out", {n: tuple(es) for n, es in out.items()})
        object.__setattr__(self, "_in", {n: tuple(es) for n, es in into.items()})

    def __contains__(self, node_id: object) -> bool:
        """Whether a node of this id is in the graph (``"A1" in g``; ids, as ``node`` takes)."""
        return node_id in self.nodes

    def __iter__(self) -> Iterator[Node]:
        """The nodes themselves, in the order they were added."""
        return iter(self.nodes.values())

    def node(self, node_id: str) -> Node:
        """The node ``node_id`` (a KeyError names it when it is not in the graph)."""
        return self.nodes[node_id]

    def out_edges(self, node_id: str) -> tuple[Edge, ...]:
        """The edges leaving ``node_id``, in the graph's edge order."""
        return self._out[node_id]

    def in_edges(self, node_id: str) -> tuple[Edge, ...]:
        """The edges entering ``node_id``, in the graph's edge order."""
        return self._in[node_id]

    def edge(self, key: EdgeKey) -> Edge:
        """The edge with these (source, target, key)."""
        for e in self._out[key[0]]:
            if e.ends == key:
                return e
        raise KeyError(key)

    def layers(self) -> int:
        """The deepest layer any node belongs to (0 for an expression, whose nodes have no layer)."""
        return max((n.layer for n in self), default=1)

    def node_order(self) -> list[str]:
        """Node ids sorted by row, then column, then id: the stable order of every output."""
        return sorted(self.nodes, key=lambda n: (self.rows.index(self.nodes[n].row), self.nodes[n].column, n))

    def edge_order(self) -> list[EdgeKey]:
        """Edges sorted by kind, then by the order of their ends, then key: the order (and ids) of every output."""
        rank = {n: i for i, n in enumerate(self.node_order())}
        return [e.ends for e in sorted(self.edges, key=lambda e: (EDGE_KINDS.index(e.kind), rank[e.source],
                                                                  rank[e.target], e.key))]

    def to_networkx(self) -> nx.MultiDiGraph:
        """The model as a networkx ``MultiDiGraph`` with plain attributes (for scripts; imports networkx)."""
        import networkx as nx

        g = nx.MultiDiGraph()
        g.graph.update(self.meta())
        for n in self:
            g.add_node(n.id, **node_data(n))
        for e in self.edges:
            data: dict[str, Any] = {"kind": e.kind, "label": e.label}
            if e.value is not None:
                data["value"] = e.value
            g.add_edge(e.source, e.target, key=e.key, **data)
        return g

    def meta(self) -> dict[str, Any]:
        """What the graph says about itself, as the plain mapping ``to_networkx`` puts on ``g.graph``."""
        data: dict[str, Any] = {"title": self.title, "rows": self.rows, "notation": self.notation,
                                "view": self.view, "fused": self.fused}
        if self.view == "expression":
            data["layout"] = "mirror"
        if self.loss is not None:
            data["loss"] = self.loss
        if self.learning_rate is not None:
            data["learning_rate"] = self.learning_rate
        if self.band_titles:
            data["band_titles"] = dict(self.band_titles)
        if self.gradient_flow:
            data["gradient_flow"] = self.gradient_flow
        return data


def node_data(n: Node) -> dict[str, Any]:
    """A node's attributes as a plain mapping (the optional ones only when set)."""
    data: dict[str, Any] = {"kind": n.kind, "band": n.band, "row": n.row, "column": n.column, "layer": n.layer,
                            "label": n.label, "plain": n.plain}
    for key in ("name", "array", "dims", "mirror", "unit"):
        value = getattr(n, key)
        if value is not None:
            data[key] = value
    return data


class GraphBuilder:
    """Nodes and edges as a builder adds them; ``freeze`` makes the ``Graph``.

    Edges are kept in networkx's order for a ``MultiDiGraph`` built the same
    way (per source, targets in first-reached order, then keys), which every
    layout's tie-breaking was measured with.
    """

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._adj: dict[str, dict[str, dict[str, Edge]]] = {}

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nodes

    def add_node(self, node: Node) -> None:
        """Add ``node`` (a node of the same id is replaced in place)."""
        self.nodes[node.id] = node
        self._adj.setdefault(node.id, {})

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def add_edge(self, edge: Edge) -> None:
        """Add ``edge``; both its ends must be nodes already."""
        if edge.source not in self.nodes or edge.target not in self.nodes:
            raise KeyError(f"edge {edge.ends} joins a node not in the graph")
        self._adj[edge.source].setdefault(edge.target, {})[edge.key] = edge

    def has_edge(self, source: str, target: str, key: str) -> bool:
        return key in self._adj.get(source, {}).get(target, {})

    def number_of_edges(self, source: str, target: str) -> int:
        """How many edges join ``source`` to ``target``."""
        return len(self._adj.get(source, {}).get(target, {}))

    def edges(self) -> tuple[Edge, ...]:
        """Every edge, in the graph's order."""
        return tuple(e for n in self.nodes for targets in self._adj[n].values() for e in targets.values())

    def freeze(self, *, view: View, title: str, rows: tuple[str, ...], notation: str, loss: str | None = None,
               learning_rate: str | None = None, fused: bool = False,
               band_titles: Mapping[str, str] | None = None) -> Graph:
        """The frozen ``Graph`` of what was added, with what the graph says about itself."""
        return Graph(view, title, rows, notation, dict(self.nodes), self.edges(), loss, learning_rate, fused,
                     dict(band_titles or {}))

