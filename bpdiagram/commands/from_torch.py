"""``bpdiagram from-torch``: the spec of a PyTorch ``nn.Sequential``, written as YAML.

``render --torch`` shares the options and the conversion (``torch_options``,
``torch_spec_text``); the conversion itself is ``bpdiagram.pytorch``, the only
package that imports torch, loaded here only when a model is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

LOSSES = ("bce", "ce", "mse")
"""The losses a converted model may be drawn with (``bpdiagram.pytorch.LOSS_CHOICES``, without importing it)."""

F = TypeVar("F", bound=Callable[..., Any])


def torch_options(func: F) -> F:
    """Add ``--loss``, ``--input-shape`` and ``--weights`` (how a model is read) to the command ``func``."""
    options = [
        click.option("--loss", type=click.Choice(LOSSES),
                     help="The loss the model is trained with (default: bce after Sigmoid, ce after Softmax or "
                          "LogSoftmax, else mse); after a final Linear, bce and ce take its logits through a sigmoid "
                          "or softmax."),
        click.option("--input-shape", "input_shape", metavar="N,F|N,C,H,W", callback=_shape_option,
                     help="The shape of an example batch, examples first, as torch takes it (default: 4 examples "
                          "of the first Linear's in_features)."),
        click.option("--weights", is_flag=True,
                     help="Copy the model's parameters into values: so the numbers drawn are the model's "
                          "(the batch X and target Y are drawn from the seed)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _shape_option(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """``--input-shape 4,2`` (or ``4x1x6x6``) → (4, 2); two or four positive numbers."""
    if value is None:
        return None
    parts = [p.strip() for p in re.split(r"[,x×]", value)]
    if len(parts) not in (2, 4) or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise click.BadParameter(f"{value!r}: give N,FEATURES or N,C,H,W, positive whole numbers (e.g. 4,2 or "
                                 "4,1,6,6)", param_hint="--input-shape")
    return tuple(int(p) for p in parts)


def torch_spec_text(reference: str, *, loss: str | None, input_shape: tuple[int, ...] | None,
                    weights: bool) -> bytes:
    """The YAML spec of the model ``FILE.py:NAME``, headed by a comment saying where it came from."""
    import yaml

    from bpdiagram.pytorch import spec_from_file

    spec = spec_from_file(reference, loss=loss, input_shape=input_shape, weights=weights)
    body = yaml.safe_dump(spec, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100)
    header = f"# the nn.Sequential {reference}, read by bpdiagram from-torch\n"
    return (header + body).encode("utf-8")


@click.command(name="from-torch")
@click.argument("reference", metavar="FILE.py:NAME")
@torch_options
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), metavar="FILE",
              help="Write the spec to FILE instead of printing it.")
def from_torch(reference: str, loss: str | None, input_shape: tuple[int, ...] | None, weights: bool,
               output: Path | None) -> int:
    """Write the spec of a PyTorch nn.Sequential, to draw its backpropagation.

    NAME is a module-level nn.Sequential in FILE.py, or a function that
    returns one (called with no arguments). The file is run as Python, as
    'python FILE.py' would run it. Linear, ReLU, LeakyReLU, Tanh, Sigmoid,
    Softmax (or a final LogSoftmax), BatchNorm1d and Dropout become the
    spec's layers (Conv2d, MaxPool2d, AvgPool2d and Flatten its convolution
    layers); the diagram
    draws a training step (dropout masks, batch statistics). A module the
    diagram cannot draw is named in one error line. Needs PyTorch
    (pip install 'bpdiagram[torch]').

    \b
    Examples:
      bpdiagram from-torch mlp.py:model --loss bce
      bpdiagram from-torch mlp.py:model --weights -o mlp.yaml && bpdiagram check mlp.yaml
      bpdiagram from-torch cnn.py:build --input-shape 4,1,6,6
      bpdiagram render --torch mlp.py:model --weights -f png
    """
    from bpdiagram.atomic_write import write_atomic
    from bpdiagram.errors import OutputError

    text = torch_spec_text(reference, loss=loss, input_shape=input_shape, weights=weights)
    if output is None:
        click.echo(text.decode("utf-8"), nl=False)
        return 0
    if output.is_dir():
        raise OutputError(f"{output}: is a folder; give a file name such as {output / 'model.yaml'}")
    if not output.parent.is_dir():
        raise OutputError(f"{output.parent}: no such folder")
    write_atomic(output, text)
    click.echo(str(output))
    return 0
