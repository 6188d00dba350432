"""A diagram: a validated spec, its model and its one layout, rendered to any format.

This is the library's front door: the CLI is a thin shell around it, and
notebooks use it directly. The model and the layout are computed once, on
first use, and shared by every format.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx

from bpdiagram.errors import BpdiagramError, OutputError, SpecError
from bpdiagram.layout import Scene, layout_graph
from bpdiagram.layout.quality import Quality, measure
from bpdiagram.library import template_path
from bpdiagram.model.build import BuildOptions, build_graph
from bpdiagram.options import JUMP_STYLES, JumpStyle
from bpdiagram.spec import ExpressionSpec, Spec, load_spec
from bpdiagram.spec.network import parse_show
from bpdiagram.writers import get_writer


class Diagram:
    """A network diagram ready to render.

    Args:
        spec: the validated spec.
        name: file stem for saved outputs.
        shapes: show (n[l], m) shapes on tensor nodes.
        values: show numbers on tensor nodes (the spec's ``values:``, else seed 0 and batch 4);
            None (the default) shows them exactly when the spec has a ``values:`` section.
        jumps: how SVG and PNG draw crossings: ``arc`` (a line jump), ``gap`` or ``none``.
    """

    def __init__(self, spec: Spec, *, name: str = "diagram", shapes: bool = False,
                 values: bool | None = None, jumps: JumpStyle = "arc") -> None:
        if jumps not in JUMP_STYLES:
            raise BpdiagramError(f"unknown jump style {jumps!r}; valid choices: {', '.join(JUMP_STYLES)}")
        self.spec = spec
        self.name = name
        self.shapes = shapes
        self.values = spec.values is not None if values is None else values
        self.jumps: JumpStyle = jumps

    @classmethod
    def load(cls, source: str | Path | dict[str, Any], *, name: str | None = None, **options: Any) -> Diagram:
        """A diagram from a spec path or an in-memory spec mapping."""
        stem = name or (Path(source).stem if not isinstance(source, dict) else "diagram")
        return cls(load_spec(source), name=stem, **options)

    @classmethod
    def template(cls, template: str, **options: Any) -> Diagram:
        """A diagram of the shipped template ``template``."""
        return cls(load_spec(template_path(template)), name=template, **options)

    def with_options(self, *, backprop_to: int | None = None, show: Iterable[str] | str | None = None,
                     shapes: bool | None = None, values: bool | None = None) -> Diagram:
        """A copy with the spec's ``diagram:`` options (and ``shapes``, ``values``) overridden: the render options."""
        spec = self.spec
        kinds = None
        if show is not None:
            parsed = parse_show(show if isinstance(show, str) else list(show))
            if isinstance(parsed, str):
                raise SpecError(parsed, file=spec.file, key="--show")
            kinds = parsed
        shapes = self.shapes if shapes is None else shapes
        values = self.values if values is None else values
        if isinstance(spec, ExpressionSpec):
            if backprop_to is not None:
                raise SpecError("applies to networks; an expression graph is drawn whole", file=spec.file,
                                key="--backprop-to")
            if kinds is not None:
                spec = dataclasses.replace(spec, show=kinds)
            return Diagram(spec, name=self.name, shapes=shapes, values=values, jumps=self.jumps)
        diagram = spec.diagram
        if backprop_to is not None:
            n = len(spec.layers)
            if not 1 <= backprop_to <= n:
                raise SpecError(f"must be a layer number from 1 to {n} (got {backprop_to})", file=spec.file,
                                key="--backprop-to")
            diagram = dataclasses.replace(diagram, backprop_to=backprop_to)
        if kinds is not None:
            diagram = dataclasses.replace(diagram, show=kinds)
        return Diagram(dataclasses.replace(spec, diagram=diagram), name=self.name, shapes=shapes, values=values,
                       jumps=self.jumps)

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The model graph (built once)."""
        return build_graph(self.spec, BuildOptions(shapes=self.shapes, values=self.values))

    @cached_property
    def scene(self) -> Scene:
        """The laid-out scene (graphviz runs once per diagram)."""
        return layout_graph(self.graph, jumps=self.jumps)

    def stats(self) -> Quality:
        """The picture's measured quality: counts by kind, crossings, jumps, overlaps, spills, grammar."""
        return measure(self.scene)

    def render(self, fmt: str) -> bytes:
        """The diagram in format ``fmt`` (``svg``, ``png``, ``graphml``)."""
        return get_writer(fmt).render(self.scene)

    def save(self, directory: str | Path, formats: Iterable[str]) -> list[Path]:
        """Write ``directory/<name>.<ext>`` for each format; all are rendered before any is written."""
        writers = [get_writer(f) for f in formats]
        payloads = [(w.extension, w.render(self.scene)) for w in writers]
        folder = Path(directory)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot create output folder: {exc.strerror or exc}") from None
        return [write_atomic(folder / f"{self.name}.{ext}", data) for ext, data in payloads]


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder, so no reader sees half a file."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return path
