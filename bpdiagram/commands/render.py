"""``bpdiagram render``: build SPEC files and templates into a folder, skipping what is up to date."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

from bpdiagram.commands.common import EXIT_BAD_INPUT, fail
from bpdiagram.commands.drawing import build_options, check_stems, drawing_options, sources
from bpdiagram.commands.from_torch import torch_options, torch_spec_text
from bpdiagram.errors import BpdiagramError
from bpdiagram.options import Dtype, JumpStyle, Theme

if TYPE_CHECKING:
    from bpdiagram.render_job import Options, Source


@click.command()
@build_options
@click.option("--force", is_flag=True, help="Render even diagrams whose files are up to date.")
@click.option("-q", "--quiet", is_flag=True, help="Do not say which files are up to date (skipped).")
@click.option("--torch", "models", multiple=True, metavar="FILE.py:NAME",
              help="Render a PyTorch nn.Sequential (repeatable; as 'bpdiagram from-torch' reads it), to "
                   "DIR/<FILE>.<ext>.")
@torch_options
def render(specs: tuple[Path, ...], templates: tuple[str, ...], output: Path, formats: str, stem: str | None,
           backprop_to: str | None, show: str | None, shapes: bool, values: bool, jumps: JumpStyle, theme: Theme,
           steps: bool, wrap: str | None, scale: float | None, png_width: int | None, memory: bool | None,
           batch: int | None, dtype: Dtype, gradient_flow: bool | None, code: bool, force: bool,
           quiet: bool, models: tuple[str, ...], loss: str | None, input_shape: tuple[int, ...] | None,
           weights: bool) -> int:
    """Render SPEC files and/or templates to DIR/<name>.<ext>.

    With neither SPEC nor -t, renders the default template (two-layer-binary).
    A diagram is skipped when its files are up to date: written by this
    version of bpdiagram from the same spec text with the same options (each
    file's fingerprint is kept in DIR/.bpdiagram/); each skipped file is
    named on stderr ('up to date: PATH', silenced by -q). Written files are
    listed on stdout; on a terminal, a progress bar goes to stderr.

    \b
    Examples:
      bpdiagram render
      bpdiagram render -t three-layer-logistic --backprop-to 2 -f png
      bpdiagram render -t three-layer-logistic --backprop-to 3,2,1 -f svg,html
      bpdiagram render my-net.yaml --name my-net-relu --values -f png
      bpdiagram render -t two-layer-binary --values -f png
      bpdiagram render nets/*.yaml -o site/img -f svg,graphml
      bpdiagram render -t relu-mlp --jumps gap
      bpdiagram render my-net.yaml -f pdf --theme print --steps
      bpdiagram render -t three-layer-logistic --memory --batch 64 --dtype float16
      bpdiagram render -t vanishing-gradients --gradient-flow -f png
      bpdiagram render deep-net.yaml --wrap auto -f png --width 1920
      bpdiagram render -t two-layer-binary -f html --code
      bpdiagram render --torch mlp.py:model --loss bce --weights --values -f png
    """
    options = drawing_options(formats, backprop_to, show, shapes, values, jumps, theme, steps, wrap, scale, png_width,
                              memory, batch, dtype, gradient_flow, code)
    given = sources(specs, templates, stem, tuple(_model_source(m, loss, input_shape, weights) for m in models))
    check_stems(given, output)
    counts = {"rendered": 0, "skipped": 0, "failed": 0}
    with _Progress(len(given)) as progress:
        for source in given:
            progress.start(source.stem)
            try:
                counts[_build(source, options, output, progress, force=force, quiet=quiet)] += 1
            except BpdiagramError as exc:
                progress.clear()
                fail(str(exc))
                counts["failed"] += 1
            finally:
                progress.done()
    if len(given) > 1:
        progress.note(f"{counts['rendered']} rendered, {counts['skipped']} skipped (up to date), "
                      f"{counts['failed']} failed")
    return EXIT_BAD_INPUT if counts["failed"] else 0


def _model_source(reference: str, loss: str | None, input_shape: tuple[int, ...] | None, weights: bool) -> Source:
    """A PyTorch model to render: its spec is made when the build reads it, so its errors are the build's."""
    from bpdiagram.render_job import Source

    file = Path(reference.rpartition(":")[0] or reference)
    return Source(file, file.stem, made=(reference, lambda: torch_spec_text(reference, loss=loss,
                                                                            input_shape=input_shape,
                                                                            weights=weights)))


def _build(source: Source, options: Options, output: Path, progress: _Progress, *, force: bool, quiet: bool) -> str:
    """Build one source unless it is up to date: ``rendered`` or ``skipped``."""
    from bpdiagram.render_job import plan, up_to_date, write  # heavy: graphviz and the layout

    build = plan(source, options, output)
    if not force and up_to_date(build):
        if not quiet:
            for path in build.paths:
                progress.warn(f"up to date: {path}")
        return "skipped"
    for file in write(build):
        progress.echo(str(file))
    return "rendered"


class _Progress:
    """A progress bar on stderr while several specs render — only when stderr is a terminal.

    Notes (the closing count) are shown on a terminal only, so build logs
    stay quiet; written files always go to stdout, warnings (``up to date:``)
    always to stderr. The bar's line is
    cleared before anything else is printed, so lines never mix.
    """

    def __init__(self, total: int) -> None:
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        if self.tty and total > 1:
            self.bar = click.progressbar(length=total, label="rendering", file=sys.stderr, show_pos=True,
                                         item_show_func=lambda name: name)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.__exit__(kind, exc, tb)  # leaves the finished bar on its own line
            self.bar = None

    def start(self, name: str) -> None:
        """Show that ``name`` is being rendered."""
        if self.bar is not None:
            self.bar.current_item = name
            self.bar.render_progress()

    def done(self) -> None:
        """Count one spec as finished (rendered, skipped or failed)."""
        if self.bar is not None:
            self.bar.update(1)

    def clear(self) -> None:
        """Erase the bar's line, so the next line printed starts clean."""
        if self.bar is not None:
            click.echo("\r\x1b[K", nl=False, err=True)

    def echo(self, text: str) -> None:
        """A line on stdout (a written file)."""
        self.clear()
        click.echo(text)

    def warn(self, text: str) -> None:
        """A line on stderr, always."""
        self.clear()
        click.echo(text, err=True)

    def note(self, text: str) -> None:
        """A line on stderr, shown on a terminal only."""
        if self.tty:
            self.clear()
            click.echo(text, err=True)
