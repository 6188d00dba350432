"""Edge routes a model may ask for by name (edge attribute ``route``), drawn by ``layout.lanes``.

Most edges are routed by graphviz. A model whose picture is a grid (the
element-wise view) names the route of its edges instead: straight lines
between neighbouring columns, and orthogonal lines that run in vertical
lanes between the columns, clear of the boxes stacked in them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Side = Literal["left", "right", "top", "bottom"]


@dataclass(frozen=True)
class Straight:
    """A straight line between the facing sides of the two boxes (right to left, or bottom to top)."""


@dataclass(frozen=True)
class CorridorLane:
    """Lane ``slot`` (0 = leftmost) of the corridor the graph declares at ``column``.

    The graph's ``corridors`` attribute maps each corridor column to (number
    of lanes, room in px beside them); the layout holds that room open.
    """

    column: int
    slot: int


@dataclass(frozen=True)
class BesideLane:
    """The ``slot``-th lane (0 = nearest) beside ``side`` of node ``node``."""

    node: str
    side: Literal["left", "right"]
    slot: int


@dataclass(frozen=True)
class Lane:
    """Leave the source by ``exit``, run along ``lane``, enter the target by ``enter``.

    Edges on one lane share their vertical run, like a bus.
    """

    lane: CorridorLane | BesideLane
    exit: Side
    enter: Side


Route = Straight | Lane
