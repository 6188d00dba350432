"""From a PyTorch ``nn.Sequential`` to a spec, and so to its backprop diagram with the model's own numbers.

This package is the only part of bpdiagram that imports torch, and nothing
imports this package until a user asks for a conversion (``bpdiagram
from-torch``, ``render --torch``, ``bpdiagram.from_torch``): drawing a spec
never loads torch, and bpdiagram works without it. The conversion itself is
in ``convert`` (modules → layers, tensors → ``values:``), reading a model
out of a Python file in ``source``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bpdiagram.errors import BpdiagramError

if TYPE_CHECKING:
    from bpdiagram.diagram import Diagram

__all__ = ["INSTALL_HINT", "LOSS_CHOICES", "from_torch", "require_torch", "spec_from_file"]

LOSS_CHOICES = ("bce", "ce", "mse")
"""The losses a converted model may be trained with (the spec's, drawn with the model)."""

INSTALL_HINT = "pip install 'bpdiagram[torch]'"


def require_torch() -> None:
    """Import torch, or say in one line how to install it (PyTorch is an optional extra)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise BpdiagramError(f"reading a PyTorch model needs PyTorch, which is not installed: {INSTALL_HINT}") \
            from None


def from_torch(model: Any, *, loss: str, input: Any, target: Any = None, weights: bool = False,
               name: str = "model", **options: Any) -> Diagram:
    """The diagram of the ``nn.Sequential`` ``model`` trained with ``loss`` on the batch ``input``.

    Args:
        model: an ``nn.Sequential`` of Linear, ReLU, LeakyReLU, Tanh, Sigmoid, Softmax (or a final
            LogSoftmax), BatchNorm1d, Dropout (and Conv2d, MaxPool2d, AvgPool2d, Flatten); nested Sequentials
            are read in order.
        loss: ``bce``, ``ce`` or ``mse``: the loss the diagram draws (see the docs for each one's torch
            expression). A model ending in Linear takes its logits through the sigmoid (bce) or softmax (ce)
            as ``nn.BCEWithLogitsLoss`` and ``nn.CrossEntropyLoss`` do.
        input: an example batch, one example per row as torch takes it: its shape gives the input's size
            (and, with ``weights``, its numbers become X).
        target: the batch's target (with ``weights``): class indices or probabilities for ce, 0/1 for bce,
            values for mse; None lets the diagram draw one.
        weights: copy the parameters, the batch and the target into the spec's ``values:``, so the
            diagram's numbers are the model's.
        name: file stem for ``save`` into a folder, and the model's name in error messages.
        options: the drawing options of ``bpdiagram.load`` (``theme``, ``shapes``, ``values``, ...).

    Raises:
        bpdiagram.errors.SpecError: a module, a shape or a loss the diagram cannot express (the message names
            the module, e.g. ``model[2]``).
    """
    require_torch()
    from bpdiagram.diagram import Diagram
    from bpdiagram.pytorch.convert import convert

    spec = convert(model, loss=loss, input=input, target=target, weights=weights, name=name, file="from_torch")
    return Diagram.load(spec, name=name, **options)


def spec_from_file(reference: str, *, loss: str | None, input_shape: tuple[int, ...] | None,
                   weights: bool) -> dict[str, Any]:
    """The spec of the model ``FILE.py:NAME`` names (the command line's ``from-torch`` and ``render --torch``).

    Without ``input_shape`` a model starting with Linear gets a batch of 4 examples; a convolutional one
    needs the shape (N, C, H, W). Without ``loss`` it follows the model's end: Sigmoid → bce, Softmax or
    LogSoftmax → ce, anything else → mse.
    """
    require_torch()
    from bpdiagram.pytorch.convert import convert, example_batch, inferred_loss
    from bpdiagram.pytorch.source import load_model

    file, name, model = load_model(reference)
    batch = example_batch(model, input_shape, file=file, name=name)
    chosen = loss if loss is not None else inferred_loss(model)
    return convert(model, loss=chosen, input=batch, target=None, weights=weights, name=name, file=file,
                   seed_values=True)
