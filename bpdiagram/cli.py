"""The ``bpdiagram`` command line: a thin shell over ``Diagram``.

It parses arguments, calls the library and turns every ``BpdiagramError`` (and
click's usage errors) into one ``error:`` line on stderr with exit status 2.
Heavy modules (numpy, networkx, graphviz) are imported inside the commands
that need them, so ``--help`` and ``templates`` start fast; so are the light
ones only some commands use (json), since start-up is paid on every call
(``tests/test_startup.py`` keeps it so).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

from bpdiagram import __version__
from bpdiagram.errors import BpdiagramError, one_line
from bpdiagram.options import DTYPES, FORMATS, JUMP_STYLES, THEMES, Dtype, Format, JumpStyle, Theme, parse_formats
from bpdiagram.template_files import DEFAULT_TEMPLATE, template_description, template_names, template_path

if TYPE_CHECKING:
    from bpdiagram.build import Options, Source
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


def _formats(value: str) -> tuple[Format, ...]:
    try:
        return parse_formats(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="-f/--formats") from None


def _build_options(func: Any) -> Any:
    """The options ``render`` and ``watch`` share: what to build, where, in which formats, drawn how."""
    options = [
        click.argument("specs", nargs=-1, type=click.Path(path_type=Path)),
        click.option("-t", "--template", "templates", multiple=True, metavar="NAME",
                     help="Render a shipped template (repeatable; see 'bpdiagram templates')."),
        click.option("-o", "--output", "output", default="output", show_default=True,
                     type=click.Path(path_type=Path), help="Folder for the diagrams (created if missing)."),
        click.option("-f", "--formats", "formats", default=DEFAULT_FORMATS, show_default=True,
                     help=f"Comma-separated formats: {', '.join(KNOWN_FORMATS)}."),
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
                     help="PNG pixels per SVG unit (default 2)."),
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
        click.option("--code", "code", is_flag=True,
                     help="HTML: show the Python of 'bpdiagram code' beside the diagram, each statement linked to "
                          "its node."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _sources(specs: tuple[Path, ...], templates: tuple[str, ...], stem: str | None) -> list[Source]:
    """What to build: the SPEC files, then the templates (the default template when neither is given)."""
    from bpdiagram.build import Source

    sources = [Source(p, p.stem) for p in specs]
    sources += [Source(template_path(name), name, template=name) for name in templates]
    if not sources:
        sources = [Source(template_path(DEFAULT_TEMPLATE), DEFAULT_TEMPLATE, template=DEFAULT_TEMPLATE)]
    if stem is not None:
        if len(sources) > 1:
            raise click.UsageError(f"--name names the files of one diagram; {len(sources)} SPECs and templates "
                                   "are given")
        if not stem or stem != Path(stem).name or stem in (".", ".."):
            raise click.BadParameter(f"{stem!r} is not a file name stem (no folders; use -o for those)",
                                     param_hint="--name")
        sources = [dataclasses.replace(sources[0], stem=stem)]
    return sources


def _options(formats: str, backprop_to: str | None, show: str | None, shapes: bool, values: bool,
             jumps: JumpStyle, theme: Theme, steps: bool, wrap: str | None, scale: float | None,
             png_width: int | None, memory: bool | None, batch: int | None, dtype: Dtype,
             gradient_flow: bool | None, code: bool) -> Options:
    from bpdiagram.build import Options, parse_backprop_to

    if scale is not None and png_width is not None:
        raise click.UsageError("give --scale or --width, not both")
    return Options(_formats(formats), parse_backprop_to(backprop_to), show, shapes, values or None, jumps,
                   theme, steps, code=code, wrap=wrap, scale=scale, width=png_width, memory=memory, batch=batch,
                   dtype=dtype, gradient_flow=gradient_flow)


@cli.command()
@_build_options
@click.option("--force", is_flag=True, help="Render even diagrams whose files are up to date.")
@click.option("-q", "--quiet", is_flag=True, help="Do not say which files are up to date (skipped).")
def render(specs: tuple[Path, ...], templates: tuple[str, ...], output: Path, formats: str, stem: str | None,
           backprop_to: str | None, show: str | None, shapes: bool, values: bool, jumps: JumpStyle, theme: Theme,
           steps: bool, wrap: str | None, scale: float | None, png_width: int | None, memory: bool | None,
           batch: int | None, dtype: Dtype, gradient_flow: bool | None, code: bool, force: bool,
           quiet: bool) -> int:
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
    """
    from bpdiagram.build import plan, up_to_date, write  # heavy: numpy, networkx, graphviz

    options = _options(formats, backprop_to, show, shapes, values, jumps, theme, steps, wrap, scale, png_width,
                       memory, batch, dtype, gradient_flow, code)
    sources = _sources(specs, templates, stem)
    failed = skipped = written = 0
    seen: dict[str, Source] = {}
    progress = _Progress(len(sources))
    with progress:
        for source in sources:
            progress.start(source.stem)
            try:
                if source.stem in seen:
                    raise BpdiagramError(f"{source.label}: writes the same files as {seen[source.stem].label} "
                                         f"('{source.stem}.*' in {output}); rename one of them")
                seen[source.stem] = source
                build = plan(source, options, output)
                if not force and up_to_date(build):
                    skipped += 1
                    if not quiet:
                        for path in build.paths:
                            progress.warn(f"up to date: {path}")
                    continue
                for file in write(build):
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


@cli.command()
@_build_options
@click.option("--serve", is_flag=True,
              help="Also serve the diagrams' interactive pages at http://127.0.0.1:PORT/, reloading after each "
                   "build.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port for --serve (loopback only; 0 picks a free one).")
def watch(specs: tuple[Path, ...], templates: tuple[str, ...], output: Path, formats: str, stem: str | None,
          backprop_to: str | None, show: str | None, shapes: bool, values: bool, jumps: JumpStyle, theme: Theme,
          steps: bool, wrap: str | None, scale: float | None, png_width: int | None, memory: bool | None,
          batch: int | None, dtype: Dtype, gradient_flow: bool | None, code: bool, serve: bool, port: int) -> int:
    """Render, then render again whenever a SPEC file changes, until Ctrl-C.

    Takes render's arguments. Each build prints one line: 'rendered: PATH
    ...' on stdout, or its 'error: ...' line on stderr, and watching goes on.
    Every build renders (nothing is skipped as up to date). With --serve the
    diagrams' interactive HTML pages are served at http://127.0.0.1:PORT/
    (an index lists them), and an open page reloads itself after each build,
    keeping its edge-kind toggles; a spec with an error shows the error on
    its page. Ctrl-C stops it with exit status 0.

    \b
    Examples:
      bpdiagram watch my-net.yaml -f svg,png
      bpdiagram watch my-net.yaml --serve        # then open http://127.0.0.1:8765/
      bpdiagram watch lecture/*.yaml -o figs --backprop-to all --serve --port 8000
    """
    from bpdiagram.watch import Watcher  # heavy: numpy, networkx, graphviz, watchfiles

    options = _options(formats, backprop_to, show, shapes, values, jumps, theme, steps, wrap, scale, png_width,
                       memory, batch, dtype, gradient_flow, code)
    sources = _sources(specs, templates, stem)
    stems: dict[str, Source] = {}
    for source in sources:
        if source.stem in stems:
            raise BpdiagramError(f"{source.label}: writes the same files as {stems[source.stem].label} "
                                 f"('{source.stem}.*' in {output}); rename one of them")
        stems[source.stem] = source
        if not source.path.parent.is_dir():
            raise BpdiagramError(f"{source.label}: folder {source.path.parent} does not exist")
    site = server = None
    if serve:
        from bpdiagram.serve import Site
        from bpdiagram.serve import serve as start_server

        site = Site([source.stem for source in sources])
        server = start_server(site, port)
    watcher = Watcher(sources, options, output, echo=click.echo, fail=_fail, site=site)
    try:
        watcher.build_all()
        if server is not None:
            click.echo(f"serving http://{server.server_address[0]!s}:{server.server_port}/", err=True)
        what = "1 spec" if len(sources) == 1 else f"{len(sources)} specs"
        click.echo(f"watching {what} (Ctrl-C stops)", err=True)
        watcher.watch()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    return 0


class _Progress:
    """A progress bar on stderr while several specs render — only when stderr is a terminal.

    Notes (the closing count) are shown on a terminal only, so build logs
    stay quiet; written files always go to stdout, warnings (``up to date:``)
    always to stderr. The bar's line is
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

    def warn(self, text: str) -> None:
        """A line on stderr, always."""
        self.clear()
        click.echo(text, err=True)

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

    from bpdiagram.diagram import load_template
    from bpdiagram.model.build import default_title
    from bpdiagram.model.gradcheck import (  # heavy: numpy
        check_expression,
        check_gradients,
        format_expression_table,
        format_table,
    )
    from bpdiagram.spec import ExpressionSpec, load_spec

    if spec is not None and template is None:
        loaded = load_spec(spec)
    elif template is not None and spec is None:
        loaded = load_template(template)
    else:
        raise click.UsageError("give either a SPEC file or -t NAME (exactly one)")
    name = template if template is not None else str(spec)
    if isinstance(loaded, ExpressionSpec):
        expression = check_expression(loaded)
        if as_json:
            click.echo(expression.to_json())
        else:
            click.echo(format_expression_table(expression, title=f"{name} (f = {loaded.source})"))
        return 0 if expression.ok else EXIT_CHECK_FAILED
    report = check_gradients(loaded)
    if as_json:
        click.echo(report.to_json())
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
    from bpdiagram.diagram import load_template, write_atomic
    from bpdiagram.errors import OutputError
    from bpdiagram.model.code import generate
    from bpdiagram.spec import load_spec

    if (spec is None) == (template is None):
        raise click.UsageError("give either a SPEC file or -t NAME (exactly one)")
    loaded = load_spec(spec) if spec is not None else load_template(str(template))
    listing = generate(loaded, source=str(spec) if spec is not None else f"the template {template}")
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
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
@click.option("-t", "--template", "templates", multiple=True, metavar="NAME",
              help="Measure a shipped template (repeatable).")
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
def stats(specs: tuple[Path, ...], templates: tuple[str, ...], as_json: bool, backprop_to: int | None,
          show: str | None, shapes: bool, jumps: JumpStyle, memory: bool | None, batch: int | None, dtype: Dtype,
          wrap: str | None) -> int:
    """Measure the picture of each SPEC (or template NAME): counts, crossings, jumps, layout problems.

    Reports nodes and edges by kind, crossings and the line jumps drawn on
    them, overlapping nodes, labels spilling out of their node, edges against
    the visual grammar (with the order of layers along each band), edges
    through other nodes, backward ops not under the forward op they
    differentiate (misaligned), cache lines that turn back (detours), and the
    picture's size. Render's picture options apply, so it measures what
    render draws. Several SPECs and templates are measured one after the
    other (with --json: a list, one object each).

    \b
    Examples:
      bpdiagram stats -t two-layer-binary
      bpdiagram stats my-net.yaml --json
      bpdiagram stats -t three-layer-logistic --backprop-to 2
      bpdiagram stats -t relu-mlp -t two-layer-binary --show backward
    """
    if not specs and not templates:
        raise click.UsageError("give a SPEC file or -t NAME (or several)")
    from bpdiagram.build import Options, Source
    from bpdiagram.diagram import Diagram  # heavy: numpy, networkx, graphviz

    sources = [Source(p, p.stem) for p in specs] + [Source(template_path(t), t, template=t) for t in templates]
    reports: list[dict[str, Any]] = []
    texts: list[str] = []
    failed = False
    for source in sources:
        try:
            base: Diagram = source.diagram(Options(shapes=shapes, jumps=jumps, memory=memory, batch=batch,
                                                   dtype=dtype))[0]
            diagram = base.with_options(backprop_to=backprop_to, show=show, wrap=wrap)
            quality = diagram.stats()
            cache = diagram.cache()
        except BpdiagramError as exc:
            _fail(str(exc))
            failed = True
            continue
        extra = {"cache": cache.to_json()} if cache is not None else {}
        reports.append({"name": diagram.name, **quality.to_dict(), **extra})
        text = format_stats(diagram.name, quality)
        if cache is not None:
            from bpdiagram.model.memory import human

            text += (f"\n  cache (batch {cache.batch}, {cache.dtype}): {human(cache.bytes)} ({cache.bytes:,} bytes) "
                     f"in {len(cache.values)} values")
        texts.append(text)
    if as_json:
        import json

        if reports:
            data: Any = reports[0] if len(sources) == 1 else reports
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif texts:
        click.echo("\n\n".join(texts))
    return EXIT_BAD_INPUT if failed else 0


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
