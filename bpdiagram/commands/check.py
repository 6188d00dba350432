"""``bpdiagram check``: every gradient the diagram shows against finite differences."""

from __future__ import annotations

from pathlib import Path

import click

from bpdiagram.commands.common import EXIT_CHECK_FAILED, spec_or_template
from bpdiagram.options import PRECISIONS


@click.command()
@click.argument("spec", required=False, type=click.Path(path_type=Path))
@click.option("-t", "--template", "template", metavar="NAME", help="Check a shipped template instead of a SPEC file.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (ok, loss, gradients).")
@click.option("--precision", type=click.Choice(PRECISIONS), default=None,
              help="Also report the share of each layer's gradient entries this 16-bit format loses (needs values:).")
@click.option("--loss-scale", "loss_scale", metavar="S|dynamic",
              help="Loss scale S for --precision (a number, or dynamic: the scale a dynamic scaler settles on).")
def check(spec: Path | None, template: str | None, as_json: bool, precision: str | None,
          loss_scale: str | None) -> int:
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
      bpdiagram check -t loss-scaling --precision float16 --loss-scale dynamic
    """
    from bpdiagram.model.gradcheck import (  # heavy: numpy
        check_expression,
        check_gradients,
        format_expression_table,
        format_table,
    )
    from bpdiagram.model.layer_labels import default_title
    from bpdiagram.spec import ExpressionSpec
    from bpdiagram.spec.network import with_precision_options

    loaded = with_precision_options(spec_or_template(spec, template), precision, loss_scale)
    name = template if template is not None else str(spec)
    if isinstance(loaded, ExpressionSpec):
        expression = check_expression(loaded)
        if as_json:
            click.echo(expression.to_json())
        else:
            click.echo(format_expression_table(expression, title=f"{name} ({loaded.heading})",
                                               output=loaded.output or "f"))
        return 0 if expression.ok else EXIT_CHECK_FAILED
    report = check_gradients(loaded)
    if as_json:
        click.echo(report.to_json())
    else:
        title = loaded.title if loaded.title is not None else default_title(loaded)
        click.echo(format_table(report, title=f"{name} ({title})"))
    return 0 if report.ok else EXIT_CHECK_FAILED
