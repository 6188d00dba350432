"""Stage 3 of the pipeline: lay the model out once, for every writer."""

from __future__ import annotations

from bpdiagram.layout.layout import layout_graph
from bpdiagram.layout.scene import BandRect, EdgeRoute, NodeBox, Scene

__all__ = ["BandRect", "EdgeRoute", "NodeBox", "Scene", "layout_graph"]
