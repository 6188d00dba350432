"""The ``bpdiagram`` command line: a thin shell over ``Diagram``.

It parses arguments, calls the library and turns every ``BpdiagramError`` (and
click's usage errors) into one ``error:`` line on stderr with exit status 2.
Heavy modules (numpy, networkx, graphviz) are imported inside the commands
that need them, so ``--help`` and ``templates`` start fast; so are the light
ones only some commands use (json), since start-up is paid on every call
(``tests/test_startup.py`` keeps it so).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

from bpdiagram import __version__
from bpdiagram.errors import BpdiagramError, one_line
from bpdiagram.library import DEFAULT_TEMPLATE, template_description, template_names, template_path
from bpdiagram.options import DTYPES, FORMATS, JUMP_STYLES, THEMES, Dtype, JumpStyle, Theme

if TYPE_CHECKING:
    from bpdiagram.layout.quality import Quality

EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
DEFAULT_FORMATS = "svg,png,graphml"
KNOWN_FORMATS: tuple[str, ...] = FORMATS


def _fail(message: str) -> None:
    click.echo(f"error: {one_line(message)}", err=True)


class _Cli(click.Group):
    """A group whose errors are one ``error:`` line and exit status 2, never a traceback."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            code = super().main(args, prog_name or "bpdiagram", complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # plain ``bpdiagram``: the help, as --help shows it
            click.echo(exc.ctx.get_help() if exc.ctx else "")
            code = 0
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            _fail(exc.format_message() + hint)
            code = EXIT_BAD_INPUT
        except click.ClickException as exc:
            _fail(exc.format_message())
            code = EXIT_BAD_INPUT
        except BpdiagramError as exc:
            _fail(str(exc))
            code = EXIT_BAD_INPUT
        except click.Abort:
            _fail("aborted")
            code = 130
        except BrokenPipeError:  # the reader went away (``bpdiagram templates | head -1``): stop quietly
            sys.stderr.close()
            code = 0
        except SystemExit as exc:
            # with standalone_mode off, click exits by itself only when stdout's reader went away
            # (EPIPE, status 1); 1 is ours for a failed check, so a closed pipe ends quietly instead
            code = 0 if exc.code == 1 else exc.code
        except OSError as exc:  # stdout cannot be written (a full disk, /dev/full)
            _fail(f"cannot write the output: {exc.strerror or exc}")
            code = EXIT_BAD_INPUT
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(name="bpdiagram", cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bpdiagram")
def cli() -> None:
    """Draw backpropagation diagrams from a short layer spec.

    \b
    Examples:
      bpdiagram render                      # the default template into output/
      bpdiagram render my-net.yaml -f svg   # your spec, SVG only
      bpdiagram render my-net.yaml -f html  # an interactive page for web course notes
      bpdiagram render specs/*.yaml -o site/img -f svg,pdf
      bpdiagram templates                   # list the shipped templates
      bpdiagram templates relu-mlp > my-net.yaml
      bpdiagram check -t two-layer-binary   # gradients vs finite differences
      bpdiagram stats -t relu-mlp           # crossings, jumps and layout problems
      bpdiagram code -t two-layer-binary    # the forward and backward pass as Python
    """


def _formats(value: str) -> list[str]:
    formats = [f.strip() for f in value.split(",") if f.strip()]
    for fmt in formats:
        if fmt not in KNOWN_FORMATS:
            raise click.BadParameter(f"unknown format {fmt!r}; valid formats: {', '.join(KNOWN_FORMATS)}",
                                     param_hint="-f/--formats")
    if not formats:
        raise click.BadParameter("give at least one format", param_hint="-f/--formats")
    return list(dict.fromkeys(formats))


@cli.command()
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
@click.option("-t", "--template", "templates", multiple=True, metavar="NAME",
              help="Render a shipped template (repeatable; see 'bpdiagram templates').")
@click.option("-o", "--output", "output", default="output", show_default=True, type=click.Path(path_type=Path),
              help="Folder for the diagrams (created if missing).")
@click.option("-f", "--formats", "formats", default=DEFAULT_FORMATS, show_default=True,
              help=f"Comma-separated formats: {', '.join(KNOWN_FORMATS)}.")
@click.option("--backprop-to", type=int, metavar="K", help="Draw the backward pass from the loss down to layer K.")
@click.option("--show", metavar="KINDS", help="Edge kinds to draw, e.g. forward,cache,backward.")
@click.option("--shapes", is_flag=True, help="Show (n[l], m) shapes on tensor nodes.")
@click.option("--values", is_flag=True,
              help="Show numbers on tensor nodes (the spec's values:, else seed 0 and batch 4).")
@click.option("--jumps", type=click.Choice(JUMP_STYLES), default="arc", show_default=True,
              help="How SVG and PNG draw a crossing that needs a jump (lines of different kinds, or a bent line): "
                   "an arc, a gap in one line, or none; all: an arc on every crossing.")
@click.option("--theme", type=click.Choice(THEMES), default="default", show_default=True,
              help="default (colour) or print (grayscale-safe: kinds told apart by line style and arrowhead).")
@click.option("--steps", is_flag=True,
              help="Write the slide build-up DIR/<name>-1 … -4 (forward; + cache; + backward; "
                   "+ update and derivative links), same layout in every step.")
@click.option("--wrap", metavar="N|auto",
              help="Draw the network in tiers of N layers, stacked top to bottom (auto: the smallest N "
                   "whose picture is at most twice as wide as tall).")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), metavar="S",
              help="PNG pixels per SVG unit (default 2).")
@click.option("--width", "png_width", type=click.IntRange(min=1), metavar="PX",
              help="PNG width in pixels; the height follows (instead of --scale).")
@click.option("--force", is_flag=True, help="Render even specs whose outputs are newer than the spec.")
@click.option("--memory", is_flag=True, default=None,
              help="Show each cached value's shape and bytes, and the cache's total on its band.")
@click.option("--batch", type=int, metavar="M",
              help="Batch size m --memory counts at (default: values.batch, else 64).")
@click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
              help="Number type --memory counts in.")
@click.option("--gradient-flow", "gradient_flow", is_flag=True, default=None,
              help="Draw a strip of ‖dW[l]‖ bars (log scale) under the backward band (runs the numbers).")
@click.option("--code", "code", is_flag=True,
              help="HTML: show the Python of 'bpdiagram code' beside the diagram, each statement linked to its node.")
def render(specs: tuple[Path, ...], templates: tuple[str, ...], output: Path, formats: str,
           backprop_to: int | None, show: str | None, shapes: bool, values: bool, jumps: JumpStyle, theme: Theme,
           steps: bool, wrap: str | None, scale: float | None, png_width: int | None, force: bool,
           memory: bool | None, batch: int | None, dtype: Dtype, gradient_flow: bool | None, code: bool) -> int:
    """Render SPEC files and/or templates to DIR/<name>.<ext>.

    With neither SPEC nor -t, renders the default template (two-layer-binary).
    Specs whose outputs are all newer than the spec are skipped (rebuild them
    with --force, e.g. after changing options). Written files are listed on
    stdout; on a terminal, a progress bar and the skipped specs go to stderr.

    \b
    Examples:
      bpdiagram render
      bpdiagram render -t three-layer-logistic --backprop-to 2 -f png
      bpdiagram render -t two-layer-binary --values -f png
      bpdiagram render nets/*.yaml -o site/img -f svg,graphml
      bpdiagram render -t relu-mlp --jumps gap
      bpdiagram render nets/*.yaml -o site/img -f svg,html
      bpdiagram render my-net.yaml -f pdf --theme print --steps
      bpdiagram render -t three-layer-logistic --memory --batch 64 --dtype float16
      bpdiagram render -t vanishing-gradients --gradient-flow -f png
      bpdiagram render deep-net.yaml --wrap auto -f png --width 1920
      bpdiagram render -t two-layer-binary -f html --code
    """
    from bpdiagram.diagram import Diagram  # heavy: numpy, networkx, graphviz

    fmts = _formats(formats)
    if scale is not None and png_width is not None:
        raise click.UsageError("give --scale or --width, not both")
    sources: list[tuple[str, Path]] = [(p.stem, p) for p in specs]
    sources += [(name, template_path(name)) for name in templates]
    if not sources:
        sources = [(DEFAULT_TEMPLATE, template_path(DEFAULT_TEMPLATE))]
    failed = skipped = written = 0
    seen: dict[str, Path] = {}
    progress = _Progress(len(sources))
    with progress:
        for name, path in sources:
            progress.start(name)
            try:
                if name in seen:
                    raise BpdiagramError(f"{path}: writes the same files as {seen[name]} ('{name}.*' in {output});"
                                         " rename one of them")
                seen[name] = path
                diagram = Diagram.load(path, name=name, shapes=shapes, values=values or None, jumps=jumps,
                                       theme=theme, memory=memory, batch=batch, dtype=dtype,
                                       gradient_flow=gradient_flow, code=code)
                if not force and up_to_date(path, diagram.outputs(output, fmts, steps=steps)):
                    skipped += 1
                    progress.note(f"skipped {path}: its outputs are newer than the spec (--force renders it)")
                    continue
                diagram = diagram.with_options(backprop_to=backprop_to, show=show, wrap=wrap, scale=scale,
                                               width=png_width)
                for file in diagram.save(output, fmts, steps=steps):
                    progress.echo(str(file))
                written += 1
            except BpdiagramError as exc:
                progress.clear()
                _fail(str(exc))
                failed += 1
            finally:
                progress.done()
    if len(sources) > 1:
        progress.note(f"{written} rendered, {skipped} skipped (up to date), {failed} failed")
    return EXIT_BAD_INPUT if failed else 0


def up_to_date(spec: Path, outputs: list[Path]) -> bool:
    """Whether every output exists and was modified after ``spec`` (make's rule, so a rebuild is never missed)."""
    try:
        since = spec.stat().st_mtime_ns
        return all(out.stat().st_mtime_ns > since for out in outputs)
    except OSError:
        return False


class _Progress:
    """A progress bar on stderr while several specs render — only when stderr is a terminal.

    Notes (skipped specs, the closing count) are shown on a terminal only, so
    build logs stay quiet; written files always go to stdout. The bar's line is
    cleared before anything else is printed, so lines never mix.
    """

    def __init__(self, total: int) -> None:
        self.tty = _stderr_is_tty()
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

    def note(self, text: str) -> None:
        """A line on stderr, shown on a terminal only."""
        if self.tty:
            self.clear()
            click.echo(text, err=True)


def _stderr_is_tty() -> bool:
    return sys.stderr.isatty()


@cli.command()
@click.argument("spec", required=False, type=click.Path(path_type=Path))
@click.option("-t", "--template", "template", metavar="NAME", help="Check a shipped template instead of a SPEC file.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (ok, loss, gradients).")
def check(spec: Path | None, template: str | None, as_json: bool) -> int:
    """Check every gradient the diagram shows against finite differences.

    Runs the network with the spec's values: (else seed 0 and batch 4) and
    compares dW, db, dZ and dA with central differences of the loss; for an
    expression, compares each variable's gradient with central differences
    of f. Exit status 0 when all agree, 1 when one does not, 2 for bad input.

    \b
    Examples:
      bpdiagram check -t two-layer-binary
      bpdiagram check -t expression-add-mul --json
      bpdiagram check my-net.yaml --json
    """
    import json

    from bpdiagram.model.build import default_title
    from bpdiagram.model.gradcheck import (  # heavy: numpy
        check_expression,
        check_gradients,
        format_expression_table,
        format_table,
    )
    from bpdiagram.spec import ExpressionSpec, load_spec

    if spec is not None and template is None:
        source = spec
    elif template is not None and spec is None:
        source = template_path(template)
    else:
        raise click.UsageError("give either a SPEC file or -t NAME (exactly one)")
    loaded = load_spec(source)
    name = template if template is not None else str(spec)
    if isinstance(loaded, ExpressionSpec):
        expression = check_expression(loaded)
        if as_json:
            click.echo(json.dumps(expression.to_json()))
        else:
            click.echo(format_expression_table(expression, title=f"{name} (f = {loaded.source})"))
        return 0 if expression.ok else EXIT_CHECK_FAILED
    report = check_gradients(loaded)
    if as_json:
        click.echo(json.dumps(report.to_json()))
    else:
        title = loaded.title if loaded.title is not None else default_title(loaded)
        click.echo(format_table(report, title=f"{name} ({title})"))
    return 0 if report.ok else EXIT_CHECK_FAILED


@cli.command()
@click.argument("spec", required=False, type=click.Path(path_type=Path))
@click.option("-t", "--template", "template", metavar="NAME", help="Export a shipped template instead of a SPEC file.")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), metavar="FILE",
              help="Write the module to FILE instead of printing it.")
def code(spec: Path | None, template: str | None, output: Path | None) -> int:
    """Write the forward and backward pass the diagram draws as one Python module.

    The module needs numpy only. Its statements follow the diagram's bands
    (forward, cache, backward), each under a comment with the formula of the
    node it implements, names as on the diagram (Z1, A1, dZ2, dW2). Run as a
    script, it computes J (or f) and every gradient on the spec's numbers.

    \b
    Examples:
      bpdiagram code -t two-layer-binary
      bpdiagram code my-net.yaml -o my_net.py && python my_net.py
    """
    from bpdiagram.diagram import write_atomic
    from bpdiagram.errors import OutputError
    from bpdiagram.model.code import generate
    from bpdiagram.spec import load_spec

    if (spec is None) == (template is None):
        raise click.UsageError("give either a SPEC file or -t NAME (exactly one)")
    source = spec if spec is not None else template_path(str(template))
    listing = generate(load_spec(source), source=str(spec) if spec is not None else f"the template {template}")
    if output is None:
        click.echo(listing.text, nl=False)
        return 0
    if output.is_dir():
        raise OutputError(f"{output}: is a folder; give a file name such as {output / 'network.py'}")
    if not output.parent.is_dir():
        raise OutputError(f"{output.parent}: no such folder")
    write_atomic(output, listing.text.encode("utf-8"))
    click.echo(str(output))
    return 0


@cli.command()
@click.argument("name", required=False)
def templates(name: str | None) -> int:
    """List the shipped templates, or print template NAME's YAML.

    \b
    Examples:
      bpdiagram templates
      bpdiagram templates two-layer-binary > my-net.yaml
    """
    if name is None:
        names = template_names()
        width = max(len(n) for n in names)
        for n in names:
            click.echo(f"{n.ljust(width)}  {template_description(n)}")
        return 0
    click.echo(template_path(name).read_text(encoding="utf-8"), nl=False)
    return 0


@cli.command()
@click.argument("spec", required=False, type=click.Path(path_type=Path))
@click.option("-t", "--template", "template", metavar="NAME", help="Measure a shipped template instead of a SPEC.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON (keys in the README).")
@click.option("--backprop-to", type=int, metavar="K", help="As for render: backward pass down to layer K.")
@click.option("--show", metavar="KINDS", help="As for render: edge kinds to draw.")
@click.option("--shapes", is_flag=True, help="As for render: (n[l], m) shapes on tensor nodes.")
@click.option("--jumps", type=click.Choice(JUMP_STYLES), default="arc", show_default=True,
              help="As for render: the jump style whose jumps are counted.")
@click.option("--wrap", metavar="N|auto", help="As for render: tiers of N layers (or auto).")
@click.option("--memory", is_flag=True, default=None, help="As for render: shapes and bytes on cached values.")
@click.option("--batch", type=int, metavar="M", help="Batch size the cache is counted at (default: values.batch, "
                                                      "else 64).")
@click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
              help="Number type the cache is counted in.")
def stats(spec: Path | None, template: str | None, as_json: bool, backprop_to: int | None, show: str | None,
          shapes: bool, jumps: JumpStyle, memory: bool | None, batch: int | None, dtype: Dtype,
          wrap: str | None) -> int:
    """Measure the picture of SPEC (or template NAME): counts, crossings, jumps, layout problems.

    Reports nodes and edges by kind, crossings and the line jumps drawn on
    them, overlapping nodes, labels spilling out of their node, edges against
    the visual grammar, edges through other nodes, backward ops not under
    the forward op they differentiate (misaligned), cache lines that turn
    back (detours), and the picture's size.
    Render's picture options apply, so it measures what render draws.

    \b
    Examples:
      bpdiagram stats -t two-layer-binary
      bpdiagram stats my-net.yaml --json
      bpdiagram stats -t three-layer-logistic --backprop-to 2
    """
    if (spec is None) == (template is None):
        raise click.UsageError("give either a SPEC file or -t NAME")
    from bpdiagram.diagram import Diagram  # heavy: numpy, networkx, graphviz

    path = spec if spec is not None else template_path(str(template))
    name = spec.stem if spec is not None else str(template)
    diagram = Diagram.load(path, name=name, shapes=shapes, jumps=jumps, memory=memory, batch=batch,
                           dtype=dtype).with_options(backprop_to=backprop_to, show=show, wrap=wrap)
    quality = diagram.stats()
    cache = diagram.cache()
    if as_json:
        import json

        extra = {"cache": cache.to_json()} if cache is not None else {}
        click.echo(json.dumps({"name": diagram.name, **quality.to_dict(), **extra}, ensure_ascii=False, indent=2))
        return 0
    click.echo(format_stats(diagram.name, quality))
    if cache is not None:
        from bpdiagram.model.memory import human

        click.echo(f"  cache (batch {cache.batch}, {cache.dtype}): {human(cache.bytes)} ({cache.bytes:,} bytes) in "
                   f"{len(cache.values)} values")
    return 0


def format_stats(name: str, quality: Quality) -> str:
    """The ``stats`` report as aligned text lines, problems listed under their count."""

    def by_kind(counts: dict[str, int]) -> str:
        return f"{sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in counts.items())})"

    per_tier = f"{quality.wrap} layer{'s' * (quality.wrap > 1)}"
    rows: list[tuple[str, str, tuple[str, ...]]] = [
        ("size", f"{quality.width:g} × {quality.height:g} px", ()),
        ("tiers", str(quality.tiers) + (f" ({per_tier} per tier)" if quality.wrap else ""), ()),
        ("text at 16 cm", f"{quality.text_pt:g} pt (small print {quality.small_text_pt:g} pt)", ()),
        ("nodes", by_kind(quality.nodes), ()),
        ("edges", by_kind(quality.edges), ()),
        ("crossings", str(quality.crossings), ()),
        ("jumps", str(quality.jumps), ()),
        ("overlapping nodes", str(len(quality.overlapping_nodes)), quality.overlapping_nodes),
        ("spilling labels", str(len(quality.spilling_labels)), quality.spilling_labels),
        ("grammar violations", str(len(quality.grammar_violations)), quality.grammar_violations),
        ("edges through nodes", str(len(quality.edges_through_nodes)), quality.edges_through_nodes),
        ("misaligned", str(len(quality.misaligned)), quality.misaligned),
        ("detours", str(len(quality.detours)), quality.detours),
    ]
    width = max(len(label) for label, _, _ in rows)
    lines = [name]
    for label, value, details in rows:
        lines.append(f"  {label.ljust(width)}  {value}")
        lines += [f"  {'':{width}}  - {d}" for d in details]
    return "\n".join(lines)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="bpdiagram")
