"""The options ``render`` and ``watch`` share: what to build, where, in which formats, drawn how.

``build_options`` adds them to a command; ``sources`` and ``drawing_options``
turn their values into what ``bpdiagram.render_job`` builds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bpdiagram.errors import BpdiagramError
from bpdiagram.options import (
    DTYPES,
    FORMATS,
    JUMP_STYLES,
    PRECISIONS,
    THEMES,
    Dtype,
    Format,
    JumpStyle,
    Theme,
    parse_formats,
)
from bpdiagram.template_files import DEFAULT_TEMPLATE, template_path

if TYPE_CHECKING:
    from bpdiagram.render_job import Options, Source

DEFAULT_FORMATS = "svg,png,graphml"

F = TypeVar("F", bound=Callable[..., Any])


def build_options(func: F) -> F:
    """Add the options ``render`` and ``watch`` share to the command ``func``."""
    options = [
        click.argument("specs", nargs=-1, type=click.Path(path_type=Path)),
        click.option("-t", "--template", "templates", multiple=True, metavar="NAME",
                     help="Render a shipped template (repeatable; see 'bpdiagram templates')."),
        click.option("-o", "--output", "output", default="output", show_default=True,
                     type=click.Path(path_type=Path), help="Folder for the diagrams (created if missing)."),
        click.option("-f", "--formats", "formats", default=DEFAULT_FORMATS, show_default=True,
                     help=f"Comma-separated formats: {', '.join(FORMATS)}."),
        click.option("--name", "stem", metavar="STEM",
                     help="File name stem for the outputs (one SPEC or template only): DIR/STEM.<ext>."),
        click.option("--backprop-to", metavar="K|K,K,...|all",
                     help="Draw the backward pass from the loss down to layer K; a list (3,2,1) or 'all' "
                          "renders a series, DIR/<name>-to-<K>.<ext> for each K."),
        click.option("--show", metavar="KINDS", help="Edge kinds to draw, e.g. forward,cache,backward."),
        click.option("--shapes", is_flag=True, help="Show (n[l], m) shapes on tensor nodes."),
        click.option("--values", is_flag=True,
                     help="Show numbers on tensor nodes (the spec's values:, else seed 0 and batch 4)."),
        click.option("--jumps", type=click.Choice(JUMP_STYLES), default="arc", show_default=True,
                     help="How SVG and PNG draw a crossing that needs a jump (lines of different kinds, or a bent "
                          "line): an arc, a gap in one line, or none; all: an arc on every crossing."),
        click.option("--theme", type=click.Choice(THEMES), default="default", show_default=True,
                     help="default (colour) or print (grayscale-safe: kinds told apart by line style and "
                          "arrowhead)."),
        click.option("--steps", is_flag=True,
                     help="Write the slide build-up DIR/<name>-1 … -4 (forward; + cache; + backward; "
                          "+ update and derivative links), same layout in every step."),
        click.option("--wrap", metavar="N|auto",
                     help="Draw the network in tiers of N layers, stacked top to bottom (auto: the smallest N "
                          "whose picture is at most twice as wide as tall)."),
        click.option("--scale", type=click.FloatRange(min=0, min_open=True), metavar="S",
                     help="PNG pixels per SVG unit (default 2, less for a picture over 25 megapixels at 2)."),
        click.option("--width", "png_width", type=click.IntRange(min=1), metavar="PX",
                     help="PNG width in pixels; the height follows (instead of --scale)."),
        click.option("--memory", is_flag=True, default=None,
                     help="Show each cached value's shape and bytes, and the cache's total on its band."),
        click.option("--batch", type=int, metavar="M",
                     help="Batch size m --memory counts at (default: values.batch, else 64)."),
        click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
                     help="Number type --memory counts in."),
        click.option("--gradient-flow", "gradient_flow", is_flag=True, default=None,
                     help="Draw a strip of ‖dW[l]‖ bars (log scale) under the backward band (runs the numbers)."),
        click.option("--precision", type=click.Choice(PRECISIONS), default=None,
                     help="Judge every drawn gradient against this 16-bit format's range (needs values:)."),
        click.option("--loss-scale", "loss_scale", metavar="S|dynamic",
                     help="Multiply the loss by S before the 16-bit backward pass (with --precision); dynamic: "
                          "the scale a dynamic loss scaler settles on."),
        click.option("--code", "code", is_flag=True,
                     help="HTML: show the Python of 'bpdiagram code' beside the diagram, each statement linked to "
                          "its node."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def given_sources(specs: tuple[Path, ...], templates: tuple[str, ...]) -> list[Source]:
    """The SPEC files, then the templates ``-t NAME``, in the order given."""
    from bpdiagram.render_job import Source

    return [Source(p, p.stem) for p in specs] + [Source(template_path(name), name, template=name)
                                                 for name in templates]


def sources(specs: tuple[Path, ...], templates: tuple[str, ...], stem: str | None,
            made: tuple[Source, ...] = ()) -> list[Source]:
    """What to build: the SPEC files, the templates, then the ``made`` specs (the default template when none is
    given)."""
    from bpdiagram.render_job import Source

    found = given_sources(specs, templates) + list(made)
    if not found:
        found = [Source(template_path(DEFAULT_TEMPLATE), DEFAULT_TEMPLATE, template=DEFAULT_TEMPLATE)]
    if stem is not None:
        if len(found) > 1:
            raise click.UsageError(f"--name names the files of one diagram; {len(found)} SPECs and templates "
                                   "are given")
        if not stem or stem != Path(stem).name or stem in (".", ".."):
            raise click.BadParameter(f"{stem!r} is not a file name stem (no folders; use -o for those)",
                                     param_hint="--name")
        found = [dataclasses.replace(found[0], stem=stem)]
    return found


def check_stems(given: list[Source], output: Path) -> None:
    """Refuse a command whose sources would write the same files, before anything is written.

    Two specs named ``a.yaml`` in different folders both write ``output/a.*``: rendering the first and then
    refusing the second would leave half the output behind, so the clash is a mistake in the command line.
    """
    claimed: dict[str, Source] = {}
    for source in given:
        claim_stem(claimed, source, output)


def claim_stem(claimed: dict[str, Source], source: Source, output: Path) -> None:
    """Record that ``source`` writes ``output/<stem>.*``; refused when another source already does."""
    if source.stem in claimed:
        raise BpdiagramError(f"{source.label}: writes the same files as {claimed[source.stem].label} "
                             f"('{source.stem}.*' in {output}); rename one of them")
    claimed[source.stem] = source


def formats_option(value: str) -> tuple[Format, ...]:
    """``-f/--formats`` (at least one), or the usage error that names the option."""
    try:
        formats = parse_formats(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="-f/--formats") from None
    if not formats:
        raise click.BadParameter("give at least one format", param_hint="-f/--formats")
    return formats


def drawing_options(formats: str, backprop_to: str | None, show: str | None, shapes: bool, values: bool,
                    jumps: JumpStyle, theme: Theme, steps: bool, wrap: str | None, scale: float | None,
                    png_width: int | None, memory: bool | None, batch: int | None, dtype: Dtype,
                    gradient_flow: bool | None, code: bool, precision: str | None = None,
                    loss_scale: str | None = None) -> Options:
    """The build options the command line gives (``build_options``' values past the sources and the folder)."""
    from bpdiagram.render_job import Options, parse_backprop_to

    if scale is not None and png_width is not None:
        raise click.UsageError("give --scale or --width, not both")
    return Options(formats_option(formats), parse_backprop_to(backprop_to), show, shapes, values or None, jumps,
                   theme, steps, code=code, wrap=wrap, scale=scale, width=png_width, memory=memory, batch=batch,
                   dtype=dtype, gradient_flow=gradient_flow, precision=precision, loss_scale=loss_scale)
