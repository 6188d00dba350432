"""``bpdiagram watch``: render, then render again on every change of a SPEC file, optionally serving the pages."""

from __future__ import annotations

from pathlib import Path

import click

from bpdiagram.commands.common import fail
from bpdiagram.commands.drawing import build_options, check_stems, drawing_options, sources
from bpdiagram.errors import BpdiagramError
from bpdiagram.options import Dtype, JumpStyle, Theme


@click.command()
@build_options
@click.option("--serve", is_flag=True,
              help="Also serve the diagrams' interactive pages at http://127.0.0.1:PORT/, reloading after each "
                   "build.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port for --serve (loopback only; 0 picks a free one).")
def watch(specs: tuple[Path, ...], templates: tuple[str, ...], output: Path, formats: str, stem: str | None,
          backprop_to: str | None, show: str | None, shapes: bool, values: bool, jumps: JumpStyle, theme: Theme,
          steps: bool, wrap: str | None, scale: float | None, png_width: int | None, memory: bool | None,
          batch: int | None, dtype: Dtype, gradient_flow: bool | None, code: bool,
           precision: str | None, loss_scale: str | None, serve: bool, port: int) -> int:
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
    from bpdiagram.watcher import Watcher  # heavy: graphviz, the layout, watchfiles

    options = drawing_options(formats, backprop_to, show, shapes, values, jumps, theme, steps, wrap, scale, png_width,
                              memory, batch, dtype, gradient_flow, code, precision, loss_scale)
    given = sources(specs, templates, stem)
    check_stems(given, output)
    for source in given:
        if not source.path.parent.is_dir():
            raise BpdiagramError(f"{source.label}: folder {source.path.parent} does not exist")
    site = server = None
    if serve:
        from bpdiagram.serve import Site
        from bpdiagram.serve import serve as start_server

        site = Site([source.stem for source in given])
        server = start_server(site, port)
    watcher = Watcher(given, options, output, echo=click.echo, fail=fail, site=site)
    try:
        watcher.build_all()
        if server is not None:
            click.echo(f"serving http://{server.server_address[0]!s}:{server.server_port}/", err=True)
        what = "1 spec" if len(given) == 1 else f"{len(given)} specs"
        click.echo(f"watching {what} (Ctrl-C stops)", err=True)
        watcher.watch()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    return 0
