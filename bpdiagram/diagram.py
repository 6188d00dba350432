"""A diagram: a validated spec, its model and its one layout, rendered to any format.

This is the library's front door: the CLI is a thin shell around it, and
notebooks use it directly (``bpdiagram.load`` returns one; Jupyter shows it
interactively through ``_repr_html_``). The model and the layout are computed
once, on first use, and shared by every format, theme and slide step.
"""

from __future__ import annotations

import copy as copying
import dataclasses
import threading
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpdiagram.atomic_write import write_all
from bpdiagram.errors import BpdiagramError, OutputError, SpecError
from bpdiagram.layout import Scene, layout_graph
from bpdiagram.layout.crossings import plan_jumps
from bpdiagram.layout.frame import MARGIN, place_legend
from bpdiagram.layout.overlays import annotate
from bpdiagram.layout.quality import Quality, measure
from bpdiagram.layout.steps import STEPS, only, step_scene
from bpdiagram.layout.tiers import choose_wrap, layout_tiers
from bpdiagram.model.build import BuildOptions, build_graph
from bpdiagram.model.code import Listing, link_to
from bpdiagram.model.graph import Graph
from bpdiagram.model.memory import DEFAULT_BATCH as DEFAULT_MEMORY_BATCH
from bpdiagram.model.memory import MAX_BATCH as MAX_MEMORY_BATCH
from bpdiagram.model.memory import CacheMemory, MemoryOptions, cache_memory
from bpdiagram.options import (
    DTYPES,
    EDGE_KINDS,
    FORMATS,
    JUMP_STYLES,
    THEMES,
    Dtype,
    EdgeKind,
    JumpStyle,
    Theme,
    parse_formats,
)
from bpdiagram.spec import ExpressionSpec, Spec, spec_from_text, validate
from bpdiagram.spec.load import check_data, parse_spec_text, read_spec_file
from bpdiagram.spec.network import ELEMENTWISE_WRAP, NetworkSpec, parse_show, parse_wrap
from bpdiagram.template_files import template_path
from bpdiagram.writers import get_writer

if TYPE_CHECKING:
    import networkx as nx


class Diagram:
    """A network or expression diagram ready to render.

    Args:
        spec: the validated spec.
        name: file stem for saved outputs.
        shapes: show (n[l], m) shapes on tensor nodes.
        values: show numbers on tensor nodes (the spec's ``values:``, else seed 0 and batch 4);
            None (the default) shows them exactly when the spec has a ``values:`` section.
        jumps: how SVG and PNG draw crossings: ``arc`` (a line jump), ``gap`` or ``none``.
        theme: ``default`` (colour) or ``print`` (grayscale-safe; see ``style.THEMES``).
        memory: show each cached value's shape and bytes and the cache's total; None (the default)
            follows the spec's ``diagram: {memory}``.
        batch: m for ``memory`` (default: the spec's ``values: {batch}``, else 64).
        dtype: the number type ``memory`` counts in (``float32``, ``float16``, ``float64``).
        gradient_flow: draw the strip of ‖dW[l]‖ bars under the backward band; None follows the
            spec's ``diagram: {gradient_flow}``.
        scale: PNG pixels per SVG unit (default 2).
        width: PNG width in pixels, the height following (instead of ``scale``).
        code: HTML pages show the module ``bpdiagram code`` writes in a panel beside the diagram,
            each statement linked to its node (other formats ignore it).

    Example:
        >>> import bpdiagram
        >>> d = bpdiagram.template("two-layer-binary")
        >>> d.name, d.theme
        ('two-layer-binary', 'default')
    """

    def __init__(self, spec: Spec, *, name: str = "diagram", shapes: bool = False, values: bool | None = None,
                 jumps: JumpStyle = "arc", theme: Theme = "default", memory: bool | None = None,
                 batch: int | None = None, dtype: Dtype = "float32", gradient_flow: bool | None = None,
                 code: bool = False, scale: float | None = None, width: int | None = None) -> None:
        if theme not in THEMES:
            raise BpdiagramError(f"unknown theme {theme!r}; valid themes: {', '.join(THEMES)}")
        if jumps not in JUMP_STYLES:
            raise BpdiagramError(f"unknown jump style {jumps!r}; valid choices: {', '.join(JUMP_STYLES)}")
        if dtype not in DTYPES:
            raise BpdiagramError(f"unknown dtype {dtype!r}; valid choices: {', '.join(DTYPES)}")
        if batch is not None and not 1 <= batch <= MAX_MEMORY_BATCH:
            raise SpecError(f"must be a number of examples from 1 to {MAX_MEMORY_BATCH:,} (got {batch})",
                            file=spec.file, key="--batch")
        self.spec = spec
        self.name = name
        self.shapes = shapes
        self.values = _shows_values(spec) if values is None else values
        self.jumps: JumpStyle = jumps
        self.theme: Theme = theme
        self.memory, self.gradient_flow = _cost_views(spec, memory, gradient_flow)
        self.batch = batch
        self.dtype: Dtype = dtype
        self.code = code
        self.scale = scale
        self.width = width
        if scale is not None and width is not None:
            raise BpdiagramError("give the PNG's scale or its width, not both (--scale or --width)")
        self._svgs: dict[tuple[int | None, str, str], bytes] = {}
        self._svg_lock = threading.Lock()
        """The CLI makes the PNG and the PDF in threads (``render_job``): each waits for the one SVG both use."""
        self._data: dict[str, Any] | None = None
        """The spec as plain data, when the diagram was made from data (``load``, ``template``, ``from_torch``)."""

    def to_spec(self) -> dict[str, Any]:
        """The spec as a plain mapping, ready for ``yaml.safe_dump`` or ``json.dumps`` (and for ``load``).

        It is the spec as it was given (a file, a template, a dict, a converted PyTorch model), with the
        ``diagram:`` options that ``with_options`` set (``backprop_to``, ``show``, ``wrap``); the drawing
        options (theme, shapes, values, ...) are the diagram's, not the spec's, and stay out.
        """
        if self._data is None:
            raise BpdiagramError("this diagram was made from a validated Spec object, not from spec data; "
                                 "use bpdiagram.load or bpdiagram.template to keep the spec's data")
        return copying.deepcopy(self._data)

    def memory_options(self) -> MemoryOptions:
        """The batch size and dtype the cache is counted at: ``batch``, else the spec's, else 64."""
        batch = self.batch
        if batch is None:
            given = self.spec.values if isinstance(self.spec, NetworkSpec) else None
            batch = given.batch if given is not None else DEFAULT_MEMORY_BATCH
        return MemoryOptions(batch, self.dtype)

    def cache(self) -> CacheMemory | None:
        """What the cache band holds, value by value, in bytes (None for an expression)."""
        if isinstance(self.spec, ExpressionSpec) or self.spec.diagram.view == "elementwise":
            return None
        return cache_memory(self.model, self.memory_options())

    @classmethod
    def load(cls, source: str | Path | dict[str, Any], *, name: str | None = None, **options: Any) -> Diagram:
        """A diagram from a spec path or an in-memory spec mapping."""
        stem = name or (Path(source).stem if not isinstance(source, dict) else "diagram")
        doc = check_data(source) if isinstance(source, dict) else read_spec_file(source)
        diagram = cls(validate(doc), name=stem, **options)
        diagram._data = doc.data
        return diagram

    @classmethod
    def from_text(cls, text: str, *, file: str = "<spec>", name: str = "diagram", **options: Any) -> Diagram:
        """A diagram of spec ``text`` (YAML, or JSON when ``file`` ends in ``.json``); errors name ``file``."""
        doc = parse_spec_text(text, file=file, is_json=file.lower().endswith(".json"))
        diagram = cls(validate(doc), name=name, **options)
        diagram._data = doc.data
        return diagram

    @classmethod
    def template(cls, template: str, **options: Any) -> Diagram:
        """A diagram of the shipped template ``template``."""
        doc = parse_spec_text(template_path(template).read_text(encoding="utf-8"), file=f"template {template}")
        diagram = cls(validate(doc), name=template, **options)
        diagram._data = doc.data
        return diagram

    def __repr__(self) -> str:
        size = f"expression {self.spec.source}" if isinstance(self.spec, ExpressionSpec) else \
            f"{len(self.spec.layers)} layers"
        return f"<Diagram {self.name!r} ({size}, theme {self.theme!r})>"

    def with_options(self, *, backprop_to: int | None = None, show: Iterable[str] | str | None = None,
                     shapes: bool | None = None, values: bool | None = None, jumps: JumpStyle | None = None,
                     theme: Theme | None = None, code: bool | None = None, wrap: int | str | None = None,
                     scale: float | None = None, width: int | None = None) -> Diagram:
        """A copy with the spec's ``diagram:`` options and the drawing options overridden (the CLI's).

        A copy that only changes how the picture is drawn (theme, jumps, the
        PNG's size) shares this diagram's layout: graphviz does not run again.
        """
        spec = self.spec
        if wrap is not None:
            spec = _wrapped(spec, wrap)
        if show is not None:
            kinds = parse_show(show if isinstance(show, str) else list(show))
            if isinstance(kinds, str):
                raise SpecError(kinds, file=spec.file, key="--show")
            spec = dataclasses.replace(spec, show=kinds) if isinstance(spec, ExpressionSpec) else \
                dataclasses.replace(spec, diagram=dataclasses.replace(spec.diagram, show=kinds))
        if backprop_to is not None:
            if isinstance(spec, ExpressionSpec):
                raise SpecError("applies to networks; an expression graph is drawn whole", file=spec.file,
                                key="--backprop-to")
            n = len(spec.layers)
            if not 1 <= backprop_to <= n:
                raise SpecError(f"must be a layer number from 1 to {n} (got {backprop_to})", file=spec.file,
                                key="--backprop-to")
            spec = dataclasses.replace(spec, diagram=dataclasses.replace(spec.diagram, backprop_to=backprop_to))
        copy = Diagram(spec, name=self.name, shapes=self.shapes if shapes is None else shapes,
                       values=self.values if values is None else values,
                       jumps=self.jumps if jumps is None else jumps, theme=self.theme if theme is None else theme,
                       memory=self.memory, batch=self.batch, dtype=self.dtype, gradient_flow=self.gradient_flow,
                       code=self.code if code is None else code,
                       scale=self.scale if scale is None else scale, width=self.width if width is None else width)
        copy._data = _with_diagram_keys(self._data, backprop_to=backprop_to, show=show, wrap=wrap)
        if spec == self.spec and (copy.shapes, copy.values) == (self.shapes, self.values):
            for shared in ("model", "layout", "_placed"):
                if shared in self.__dict__:
                    copy.__dict__[shared] = self.__dict__[shared]
        return copy

    @cached_property
    def model(self) -> Graph:
        """The typed model every layout reads (built once): nodes and edges in order, and the picture's data."""
        memory = self.memory_options() if self.memory else None
        return build_graph(self.spec, BuildOptions(shapes=self.shapes, values=self.values, memory=memory,
                                                   gradient_flow=self.gradient_flow))

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The model as a ``networkx.MultiDiGraph`` with plain attributes, for scripts (``model.to_networkx()``).

        Nothing on the render path reads it, so networkx is imported only when a script asks.
        """
        return self.model.to_networkx()

    @cached_property
    def layout(self) -> Scene:
        """The laid-out scene in the default theme and jump style (graphviz runs once per diagram, or per tier)."""
        return annotate(self._placed, self.model)

    @cached_property
    def _placed(self) -> Scene:
        """Every node and edge placed, before the overlays (band figures, gradient-flow strip) are added.

        A partial view without the forward edges (``show: [backward]``) has
        nothing to order its columns by, so the full diagram is placed and
        what is not shown is hidden: every drawn node keeps its place.
        """
        kinds = self.spec.show if isinstance(self.spec, ExpressionSpec) else self.spec.diagram.show
        if "forward" not in kinds:
            return self._partial(frozenset(kinds))
        wrap = self.spec.diagram.wrap if isinstance(self.spec, NetworkSpec) else None
        if wrap == "auto":
            return choose_wrap(self.model)
        if wrap is not None:
            return layout_tiers(self.model, wrap)
        return layout_graph(self.model)

    def _partial(self, kinds: frozenset[EdgeKind]) -> Scene:
        """The full diagram's placement with only the bands and edge kinds this view draws."""
        whole = self.with_options(show=EDGE_KINDS)._placed
        bands = {n.band for n in self.model}
        scene = only(whole, bands=frozenset(bands), kinds=kinds)
        x0, y0, _, _ = whole.legend_box  # the legend names what is drawn, from its left end
        legend, box = place_legend([e.kind for e in scene.legend], x0, y0, whole.width - MARGIN)
        kept = {e.id for e in scene.edges}  # a line jump over an edge not drawn would hop over nothing
        crossings = tuple(c for c in scene.crossings if c.over in kept and c.under in kept)
        return dataclasses.replace(scene, legend=legend, legend_box=box, crossings=crossings,
                                   jumps=plan_jumps(scene.edges, crossings))

    @property
    def scene(self) -> Scene:
        """The laid-out scene every writer reads, in this diagram's theme and jump style."""
        return dataclasses.replace(self.layout, theme=self.theme, jump_style=self.jumps,
                                   code=link_to(self.listing, self.model.nodes) if self.code else None)

    @cached_property
    def listing(self) -> Listing:
        """The Python module of this diagram (``bpdiagram code``), each line with the nodes it implements."""
        from bpdiagram.model.code import generate

        return generate(self.spec, source=self.name)

    def stats(self) -> Quality:
        """The picture's measured quality: counts by kind, crossings, jumps, overlaps, spills, grammar."""
        return measure(self.scene)

    def render(self, fmt: str = "svg", *, step: int | None = None) -> bytes:
        """The diagram in format ``fmt`` (``svg``, ``png``, ``graphml``, ``pdf``, ``html``, ``dot``, ``drawio``).

        With ``step`` (1 … 4), only that slide of the build-up: 1 the forward
        pass, 2 + the cache, 3 + the backward pass, 4 + update edges and
        derivative links — each with the full diagram's layout.
        """
        if fmt == "svg":
            return self._svg(step)
        writer = get_writer(fmt)
        chosen = {"scale": self.scale, "width": self.width}
        options = {k: chosen[k] for k in writer.options if chosen.get(k) is not None}
        if writer.from_svg is not None:
            return bytes(writer.from_svg(self._svg(step), self._scene(step), **options))
        return bytes(writer.render(self._scene(step), **options))

    def _scene(self, step: int | None) -> Scene:
        return self.scene if step is None else step_scene(self.scene, step)

    def _svg(self, step: int | None) -> bytes:
        """The SVG of the whole diagram or of one step, built once and shared by the formats made from it."""
        key = (step, self.theme, self.jumps)
        with self._svg_lock:
            if key not in self._svgs:
                self._svgs[key] = get_writer("svg").render(self._scene(step))
            return self._svgs[key]

    def outputs(self, path: str | Path, formats: Iterable[str] | None = None, *,
                steps: bool = False) -> list[Path]:
        """The files ``save`` with the same arguments writes, in order (nothing is rendered)."""
        return [target for target, _, _ in self._targets(path, formats, steps)]

    def targets(self, path: str | Path, formats: Iterable[str] | None = None, *,
                steps: bool = False) -> list[tuple[Path, str, int | None]]:
        """(file, format, slide step or None) for each file ``save`` with the same arguments writes."""
        return self._targets(path, formats, steps)

    def save(self, path: str | Path, formats: Iterable[str] | None = None, *, steps: bool = False) -> list[Path]:
        """Write the diagram; return the paths written.

        ``save("figs/net.pdf")`` writes that one file, the format taken from
        its suffix. ``save("figs", ["svg", "png"])`` (or ``"svg,png"``) writes
        ``figs/<name>.<ext>`` for each format. With ``steps=True`` each file
        becomes the four slides ``<stem>-1.<ext>`` … ``<stem>-4.<ext>``.
        Folders are created when missing; everything is rendered before
        anything is written, and the files are written all or none (see ``atomic_write.write_all``).
        """
        targets = self._targets(path, formats, steps)
        payloads = [(target, self.render(fmt, step=step)) for target, fmt, step in targets]
        for folder in dict.fromkeys(target.parent for target, _ in payloads):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"{folder}: cannot create output folder: {exc.strerror or exc}") from None
        return write_all(payloads)

    def _targets(self, path: str | Path, formats: Iterable[str] | None,
                 steps: bool) -> list[tuple[Path, str, int | None]]:
        """(file, format, step) for each file to write."""
        path = Path(path)
        files: list[tuple[Path, str, str]]  # (file for the whole diagram, its format, its suffix)
        if formats is None:
            by_suffix = {get_writer(f).extension: f for f in FORMATS}  # .tex is TikZ
            fmt = by_suffix.get(path.suffix.lower().lstrip("."), "")
            if not fmt:
                raise OutputError(f"{path}: cannot tell the format from the file name; use a suffix "
                                  f"({', '.join('.' + s for s in by_suffix)}) or give formats and a folder")
            files = [(path, fmt, path.suffix)]
        else:
            try:
                fmts = parse_formats(formats)  # an unknown format fails here, early
            except ValueError as exc:
                raise BpdiagramError(str(exc)) from None
            suffixes = ["." + get_writer(fmt).extension for fmt in fmts]
            files = [(path / f"{self.name}{suffix}", fmt, suffix) for fmt, suffix in zip(fmts, suffixes, strict=True)]
        if not steps:
            return [(file, fmt, None) for file, fmt, _ in files]
        return [(file.with_name(f"{file.stem}-{step}{suffix}"), fmt, step)
                for file, fmt, suffix in files for step in range(1, len(STEPS) + 1)]

    # Jupyter rich display: the interactive HTML where scripts run, the SVG elsewhere (e.g. nbconvert to PDF)
    def _repr_html_(self) -> str:
        from bpdiagram.writers.html import fragment

        return fragment(self.scene)

    def _repr_svg_(self) -> str:
        return self._svg(None).decode("utf-8")


def load_template(name: str) -> Spec:
    """The validated spec of template ``name``; errors name it ``template NAME``, not its installed path."""
    return spec_from_text(template_path(name).read_text(encoding="utf-8"), file=f"template {name}")


def _with_diagram_keys(data: dict[str, Any] | None, **keys: Any) -> dict[str, Any] | None:
    """Spec data with the ``diagram:`` keys ``with_options`` was given (None ones left as they are)."""
    given = {key: value for key, value in keys.items() if value is not None}
    if data is None or not given:
        return data
    if "show" in given and not isinstance(given["show"], str):
        given["show"] = list(given["show"])
    section = data.get("diagram")
    return {**data, "diagram": {**(section if isinstance(section, dict) else {}), **given}}


def _cost_views(spec: Spec, memory: bool | None, gradient_flow: bool | None) -> tuple[bool, bool]:
    """``memory`` and ``gradient_flow`` as asked, else as the spec's ``diagram:`` says; refused where they
    cannot be drawn (an expression has no batch and no layers; the element-wise view's cache is per unit)."""
    if isinstance(spec, ExpressionSpec):
        for asked, option in ((memory, "--memory"), (gradient_flow, "--gradient-flow")):
            if asked:
                raise SpecError("applies to networks; an expression's values are single numbers",
                                file=spec.file, key=option)
        return False, False
    memory = spec.diagram.memory if memory is None else memory
    if memory and spec.diagram.view == "elementwise":
        raise SpecError("counts the cache of the vectorized view, whose cache band holds the arrays "
                        "(the element-wise view draws the same values unit by unit)", file=spec.file, key="--memory")
    return memory, spec.diagram.gradient_flow if gradient_flow is None else gradient_flow


def _shows_values(spec: Spec) -> bool:
    """Whether numbers are drawn when not asked either way: the spec's ``show_values``, else if it has values."""
    if not isinstance(spec, ExpressionSpec) and spec.diagram.show_values is not None:
        return spec.diagram.show_values
    return spec.values is not None


def _wrapped(spec: Spec, wrap: int | str) -> Spec:
    """``spec`` drawn in tiers of ``wrap`` layers (``--wrap``), or the error that says why it cannot be."""
    if isinstance(spec, ExpressionSpec):
        raise SpecError("applies to networks (vectorized view); an expression graph is drawn whole",
                        file=spec.file, key="--wrap")
    try:
        tiers = parse_wrap(wrap)
    except ValueError as exc:
        raise SpecError(str(exc), file=spec.file, key="--wrap") from None
    if spec.diagram.view == "elementwise":
        raise SpecError(ELEMENTWISE_WRAP, file=spec.file, key="--wrap")
    return dataclasses.replace(spec, diagram=dataclasses.replace(spec.diagram, wrap=tiers))
