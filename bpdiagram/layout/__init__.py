"""Stage 3 of the pipeline: lay the model out once, for every writer."""

from __future__ import annotations

from bpdiagram.layout.scene import BandRect, EdgeRoute, NodeBox, Scene
from bpdiagram.layout.views import layout_graph

__all__ = ["BandRect", "EdgeRoute", "NodeBox", "Scene", "layout_graph"]
