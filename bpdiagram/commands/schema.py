"""``bpdiagram schema``: the JSON Schema of spec files, for editors' completion and checking."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bpdiagram.atomic_write import write_atomic


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the schema to this file instead of printing it.")
def schema(output: Path | None) -> int:
    """Print the JSON Schema (draft 2020-12) of network and expression specs.

    Point your editor's YAML support at it to complete keys and mark mistakes while you type.

    \b
    Examples:
      bpdiagram schema -o bpdiagram.schema.json
      # then, as the first line of a spec:
      # yaml-language-server: $schema=bpdiagram.schema.json
    """
    from bpdiagram.spec.schema import spec_schema  # the spec package loads PyYAML: not at every start-up

    text = json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text.encode("utf-8"))
    return 0
