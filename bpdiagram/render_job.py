"""One build: a spec (or template) rendered with a set of options into a folder.

``render`` and ``watch`` both build through here. A build knows the files it
writes (one set per ``--backprop-to`` value of a series, plus the series'
one HTML page), whether they are up to date, and how to write them.

Up to date means: every file exists, unchanged since bpdiagram wrote it, and
was written from the same *fingerprint* — a hash of the spec's text, every
option that shapes the file, the file's format and bpdiagram's version. The
fingerprint of each file is kept beside the outputs, in ``DIR/.bpdiagram/``
(one small JSON record per file), so changing ``--theme`` or ``--values`` or
a single character of the spec re-renders, and touching a spec does not.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bpdiagram import __version__
from bpdiagram.atomic_write import write_all, write_atomic
from bpdiagram.diagram import Diagram
from bpdiagram.errors import BpdiagramError, OutputError, SpecError
from bpdiagram.options import Dtype, JumpStyle, Theme
from bpdiagram.spec import ExpressionSpec, spec_from_text
from bpdiagram.spec.load import decode_spec, read_spec_bytes
from bpdiagram.spec.network import with_precision_options

RECORDS = ".bpdiagram"
"""The folder, inside the output folder, that keeps each written file's fingerprint."""

Series = tuple[int, ...] | Literal["all"] | None


def parse_backprop_to(text: str | None) -> Series:
    """``--backprop-to``: ``None``, one layer (``2``), a series (``3,2,1``) or ``all``.

    >>> parse_backprop_to("3, 2,1"), parse_backprop_to("all"), parse_backprop_to(None)
    ((3, 2, 1), 'all', None)
    """
    if text is None:
        return None
    if text.strip().lower() == "all":
        return "all"
    parts = [p.strip() for p in text.split(",")]
    if not parts or not all(p.isdigit() for p in parts):
        raise BpdiagramError(f"--backprop-to: expected a layer number, a list such as 3,2,1, or 'all' (got {text!r})")
    values = tuple(int(p) for p in parts)
    if len(set(values)) != len(values):
        raise BpdiagramError(f"--backprop-to: a layer is given twice in {text!r}")
    return values


@dataclass(frozen=True)
class Options:
    """Everything the command line says about how to render, beside the spec itself."""

    formats: tuple[str, ...] = ("svg", "png", "graphml")
    backprop_to: Series = None
    show: str | None = None
    shapes: bool = False
    values: bool | None = None
    jumps: JumpStyle = "arc"
    theme: Theme = "default"
    steps: bool = False
    code: bool = False
    """HTML pages show the module of ``bpdiagram code`` beside the diagram."""
    wrap: str | None = None
    scale: float | None = None
    width: int | None = None
    memory: bool | None = None
    batch: int | None = None
    dtype: Dtype = "float32"
    gradient_flow: bool | None = None
    precision: str | None = None
    loss_scale: str | None = None

    def key(self) -> dict[str, object]:
        """The options as plain data, for the fingerprint."""
        return {"formats": list(self.formats), "backprop_to": self.backprop_to, "show": self.show,
                "shapes": self.shapes, "values": self.values, "jumps": self.jumps, "theme": self.theme,
                "steps": self.steps, "code": self.code, "wrap": self.wrap, "scale": self.scale, "width": self.width,
                "memory": self.memory, "batch": self.batch, "dtype": self.dtype, "gradient_flow": self.gradient_flow,
                "precision": self.precision, "loss_scale": self.loss_scale}


@dataclass(frozen=True)
class Source:
    """A spec to build: its file, the stem of its outputs and how errors name it."""

    path: Path
    stem: str
    template: str | None = None
    made: tuple[str, Callable[[], bytes]] | None = None
    """A spec made rather than read (``render --torch``): how messages name it, and what makes its text."""

    @property
    def label(self) -> str:
        """How messages name it: the path as given, ``template NAME``, or what a made spec comes from."""
        if self.made is not None:
            return self.made[0]
        return f"template {self.template}" if self.template else str(self.path)

    def read(self) -> bytes:
        """The spec's bytes (its fingerprint's main part), read as every spec file is read (or made)."""
        if self.made is not None:
            return self.made[1]()
        return read_spec_bytes(self.path, self.label)

    def diagram(self, options: Options) -> tuple[Diagram, bytes]:
        """The diagram with the drawing options applied (not yet the series), and the spec's bytes.

        The spec is parsed from the very bytes the fingerprint is made of, so
        a file saved again mid-build is never recorded with the wrong hash.
        """
        data = self.read()
        is_json = self.path.suffix.lower() == ".json"
        spec = spec_from_text(decode_spec(data, self.label), file=self.label, is_json=is_json)
        spec = with_precision_options(spec, options.precision, options.loss_scale)
        return Diagram(spec, name=self.stem, shapes=options.shapes, values=options.values, jumps=options.jumps,
                       theme=options.theme, memory=options.memory, batch=options.batch, dtype=options.dtype,
                       gradient_flow=options.gradient_flow, code=options.code), data


@dataclass
class Plan:
    """The files of one build, each with how to make its bytes, and the fingerprint each is written with."""

    files: list[tuple[Path, Callable[[], bytes], str]] = field(default_factory=list)
    html_page: Callable[[], bytes] | None = None
    """The build's interactive page (the series page for a series), for ``watch --serve``."""

    @property
    def paths(self) -> list[Path]:
        """The files, in the order they are written."""
        return [path for path, _, _ in self.files]


def series_values(diagram: Diagram, series: Series) -> list[int | None]:
    """The ``--backprop-to`` values to render: ``[None]`` (the spec's own), one value, or a series."""
    if series is None:
        return [None]
    spec = diagram.spec
    if isinstance(spec, ExpressionSpec):
        raise SpecError("applies to networks; an expression graph is drawn whole", file=spec.file,
                        key="--backprop-to")
    return list(range(len(spec.layers), 0, -1)) if series == "all" else list(series)


def plan(source: Source, options: Options, output: Path) -> Plan:
    """What building ``source`` with ``options`` into ``output`` writes (validates the spec, renders nothing)."""
    base, data = source.diagram(options)
    values = series_values(base, options.backprop_to)
    is_series = len(values) > 1
    digest = hashlib.sha256(data).hexdigest()

    def fingerprint(file: Path, fmt: str, variant: int | None) -> str:
        key = {"bpdiagram": __version__, "spec": digest, "file": file.name, "format": fmt, "variant": variant,
               "options": {**options.key(), "backprop_to": values}}  # 'all' and 3,2,1 make the same files
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()

    result = Plan()
    variants: list[tuple[int | None, Diagram]] = []
    for k in values:
        variant = base.with_options(backprop_to=k, show=options.show, wrap=options.wrap, scale=options.scale,
                                    width=options.width)
        if is_series:
            variant.name = f"{source.stem}-to-{k}"
        variants.append((k, variant))
    page_in_files = "html" in options.formats and is_series and not options.steps
    per_variant = [f for f in options.formats if not (page_in_files and f == "html")]
    for k, variant in variants:
        for file, fmt, step in variant.targets(output, per_variant, steps=options.steps):
            result.files.append((file, _renderer(variant, fmt, step), fingerprint(file, fmt, k)))
    if is_series:
        from bpdiagram.writers.series import render_series

        frames = [(f"backprop to layer {k}", f"to-{k}", variant) for k, variant in variants]
        result.html_page = lambda: render_series([(label, anchor, v.scene) for label, anchor, v in frames],
                                                 title=base.scene.title)
        if page_in_files:
            page = output / f"{source.stem}.html"
            result.files.append((page, result.html_page, fingerprint(page, "html", None)))
    else:
        only = variants[0][1]
        result.html_page = lambda: only.render("html")
    return result


def _renderer(diagram: Diagram, fmt: str, step: int | None) -> Callable[[], bytes]:
    return lambda: diagram.render(fmt, step=step)


def _record_path(file: Path) -> Path:
    return file.parent / RECORDS / f"{file.name}.json"


def up_to_date(build: Plan) -> bool:
    """Whether every file of ``build`` exists as bpdiagram last wrote it, from the same fingerprint."""
    return all(_fresh(file, fingerprint) for file, _, fingerprint in build.files)


def _fresh(file: Path, fingerprint: str) -> bool:
    try:
        record = json.loads(_record_path(file).read_text(encoding="utf-8"))
        st = file.stat()
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record == {"fingerprint": fingerprint, "size": st.st_size,
                                                   "mtime_ns": st.st_mtime_ns}


RASTERISED = frozenset({".png", ".pdf"})
"""Files librsvg's ``rsvg-convert`` makes from the SVG: a process of their own, run beside the Python writers."""


def _render_all(files: list[tuple[Path, Callable[[], bytes], str]]) -> list[bytes]:
    """Every file's bytes, in order; the rasterised ones in threads, so that ``rsvg-convert`` runs on one core
    while Python writes the other formats on the other (the wall time of a big diagram's PNG and PDF is then
    mostly hidden; CPU time is the same). They start once the first other file is made, so the layout (cached
    on the diagram) is computed once, on this thread; the bytes do not depend on which thread made them."""
    rasters = {k for k, (file, _, _) in enumerate(files) if file.suffix in RASTERISED}
    if not rasters or len(rasters) == len(files):
        return [make() for _, make, _ in files]
    out: dict[int, bytes] = {}
    with ThreadPoolExecutor(max_workers=min(2, len(rasters))) as pool:
        started: dict[int, Future[bytes]] = {}
        for k, (_, make, _) in enumerate(files):
            if k in rasters:
                continue
            out[k] = make()
            if not started:
                started = {j: pool.submit(files[j][1]) for j in sorted(rasters)}
        for j, future in started.items():
            out[j] = future.result()
    return [out[k] for k in range(len(files))]


def write(build: Plan) -> list[Path]:
    """Render every file in memory, then write each atomically with its fingerprint record; the paths written."""
    payloads = [(file, data, fingerprint)
                for (file, _, fingerprint), data in zip(build.files, _render_all(build.files), strict=True)]
    for folder in dict.fromkeys(file.parent for file, _, _ in payloads):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot create output folder: {exc.strerror or exc}") from None
    for file, _, _ in payloads:
        _record_path(file).unlink(missing_ok=True)  # a file being replaced is never taken as up to date
    written = write_all([(file, data) for file, data, _ in payloads])  # all of a build's files, or none
    for file, _, fingerprint in payloads:  # the records only once every file is in place
        _record_path(file).parent.mkdir(exist_ok=True)
        st = os.stat(file)
        record = {"fingerprint": fingerprint, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        write_atomic(_record_path(file), json.dumps(record, sort_keys=True).encode("utf-8"))
    return written
