"""``bpdiagram templates``: the shipped templates, listed, or one of them as YAML."""

from __future__ import annotations

import click

from bpdiagram.template_files import template_description, template_names, template_path


@click.command()
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
