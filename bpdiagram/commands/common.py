"""What every command shares: exit statuses, the ``error:`` line and the one spec a command reads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bpdiagram.errors import one_line

if TYPE_CHECKING:
    from bpdiagram.spec import Spec

EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    """Say what went wrong in one ``error:`` line on stderr."""
    click.echo(f"error: {one_line(message)}", err=True)


def spec_or_template(spec: Path | None, template: str | None) -> Spec:
    """The validated spec of a command that reads one: the SPEC file or the template ``-t NAME``, exactly one."""
    from bpdiagram.diagram import load_template  # heavy: graphviz and the layout
    from bpdiagram.spec import load_spec

    if spec is not None and template is None:
        return load_spec(spec)
    if template is not None and spec is None:
        return load_template(template)
    raise click.UsageError("give either a SPEC file or -t NAME (exactly one)")
