"""``bpdiagram code``: the forward and backward pass the diagram draws, as one Python module."""

from __future__ import annotations

from pathlib import Path

import click

from bpdiagram.commands.common import spec_or_template


@click.command()
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
    from bpdiagram.atomic_write import write_atomic
    from bpdiagram.errors import OutputError
    from bpdiagram.model.code import generate

    loaded = spec_or_template(spec, template)
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
