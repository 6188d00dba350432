"""Convolution, pooling and flatten layers of a network spec: their keys and the shapes they produce.

A network with a feature-map input (``input: {shape: [C, H, W]}``) carries a
C×H×W shape from layer to layer: a conv layer turns it into F×H′×W′, a
pooling layer shrinks H and W, ``flatten`` turns it into a vector of C·H·W
units (PyTorch's order: channel, then row, then column), and dense layers
follow as before. Every size is worked out here, once, so a kernel larger
than its input or a stride that does not fit is refused before anything is
built, with the layer named.
"""

from __future__ import annotations

import math
from typing import Any, cast

from bpdiagram.options import ACTIVATIONS, LAYER_TYPES, Activation, LayerType
from bpdiagram.spec.fields import check_keys, choice
from bpdiagram.spec.load import Document, PathKey, type_name

__all__ = ["CONV_KEYS", "FLATTEN_KEYS", "MAX_KERNEL", "POOL_KEYS", "Shape", "conv_layer", "feature_shape",
           "layer_type", "output_size"]

Shape = tuple[int, ...]
"""A layer's output per example: (C, H, W) for a feature map, (n,) for a vector."""

CONV_KEYS = ("type", "filters", "kernel", "stride", "padding", "activation")
POOL_KEYS = ("type", "kernel", "stride")
FLATTEN_KEYS = ("type",)
MAX_KERNEL = 64
"""Largest kernel, stride and padding accepted: lecture-sized pictures, and the arithmetic stays small."""
MAX_FILTERS = 4096
MAX_SIDE = 4096
"""Largest channel count, height or width of an input feature map."""

KINDS = {"conv": "conv", "maxpool": "max pool", "avgpool": "average pool", "flatten": "flatten"}


def feature_shape(doc: Document, path: PathKey, value: Any) -> tuple[int, int, int]:
    """``input.shape``: [C, H, W], three whole numbers ≥ 1."""
    if not isinstance(value, list) or len(value) != 3:
        raise doc.error(path, f"must be [channels, height, width] such as [1, 6, 6], not {value!r}")
    for i, (n, what) in enumerate(zip(value, ("channels", "height", "width"), strict=True)):
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SIDE:
            raise doc.error((*path, i), f"the {what} must be a whole number from 1 to {MAX_SIDE} (got {n!r})")
    return (value[0], value[1], value[2])


def output_size(side: int, kernel: int, stride: int, padding: int) -> float:
    """(side + 2·padding − kernel) / stride + 1, the output side of a sliding window (a float when it does not fit).

    >>> output_size(6, 3, 1, 0), output_size(4, 2, 2, 0), output_size(6, 3, 2, 0)
    (4.0, 2.0, 2.5)
    """
    return (side + 2 * padding - kernel) / stride + 1


def _whole(doc: Document, path: PathKey, value: Any, low: int, what: str) -> int:
    top = MAX_FILTERS if what == "filters" else MAX_KERNEL
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= top:
        raise doc.error(path, f"the {what} must be a whole number from {low} to {top} (got {value!r})")
    return value


def conv_layer(doc: Document, path: PathKey, item: dict[str, Any], kind: LayerType, layer: int,
               incoming: Shape) -> tuple[Shape, Activation, dict[str, int]]:
    """Validate layer ``layer`` (1-based) of ``kind`` (conv, maxpool, avgpool, flatten) receiving ``incoming``.

    Returns its output shape, its activation (``linear`` for pooling and flatten) and its window
    (filters, kernel, stride, padding; empty for flatten).
    """
    name = f"layer {layer} ({KINDS[kind]})"
    check_keys(doc, path, item, CONV_KEYS if kind == "conv" else POOL_KEYS if kind != "flatten" else FLATTEN_KEYS)
    if len(incoming) != 3:
        if kind == "flatten":
            raise doc.error((*path, "type"), f"{name} receives a vector of {incoming[0]} units, already flat; "
                                             "flatten turns a C×H×W feature map into a vector once")
        raise doc.error((*path, "type"), f"{name} receives a vector of {incoming[0]} units, not a C×H×W "
                                         "feature map; conv and pooling layers come before flatten "
                                         "(and need input: {shape: [C, H, W]})")
    c, h, w = incoming
    if kind == "flatten":
        return (c * h * w,), "linear", {}
    if "kernel" not in item:
        raise doc.error(path, f"{name}: missing required key 'kernel'")
    kernel = _whole(doc, (*path, "kernel"), item["kernel"], 1, "kernel")
    stride = _whole(doc, (*path, "stride"), item.get("stride", 1 if kind == "conv" else kernel), 1, "stride")
    padding = _whole(doc, (*path, "padding"), item.get("padding", 0), 0, "padding") if kind == "conv" else 0
    activation: Activation = "linear"
    filters = c
    if kind == "conv":
        filters, activation = _conv_keys(doc, path, item, name, kernel, padding)
    padded = f" (with padding {padding}: {h + 2 * padding}×{w + 2 * padding})" if padding else ""
    if kernel > min(h, w) + 2 * padding:
        raise doc.error((*path, "kernel"), f"{name}: kernel {kernel}×{kernel} is larger than its input "
                                           f"{h}×{w}{padded}")
    sides = []
    for side, what in ((h, "height"), (w, "width")):
        out = output_size(side, kernel, stride, padding)
        if out != math.floor(out):
            raise doc.error((*path, "stride"), f"{name}: the windows do not fit the {what}: "
                                               f"({side} + 2·{padding} − {kernel}) / {stride} + 1 = {out:g} "
                                               "is not a whole number; change kernel, stride or padding")
        sides.append(int(out))
    return (filters, sides[0], sides[1]), activation, {"filters": filters, "kernel": kernel, "stride": stride,
                                                       "padding": padding}


def _conv_keys(doc: Document, path: PathKey, item: dict[str, Any], name: str, kernel: int,
               padding: int) -> tuple[int, Activation]:
    """A conv layer's filters and activation (required), and a padding smaller than its kernel."""
    for required in ("filters", "activation"):
        if required not in item:
            raise doc.error(path, f"{name}: missing required key '{required}'")
    filters = _whole(doc, (*path, "filters"), item["filters"], 1, "filters")
    activation = cast(Activation, choice(doc, (*path, "activation"), item["activation"], ACTIVATIONS))
    if activation == "softmax":
        raise doc.error((*path, "activation"), f"{name}: softmax is only allowed on the output layer")
    if padding >= kernel:
        raise doc.error((*path, "padding"), f"{name}: padding {padding} is not smaller than the kernel "
                                            f"{kernel}; a window would see padding only")
    return filters, activation


def layer_type(doc: Document, path: PathKey, item: dict[str, Any]) -> LayerType:
    """The layer's ``type`` (``dense`` when absent)."""
    if "type" not in item:
        return "dense"
    value = item["type"]
    if not isinstance(value, str):
        raise doc.error((*path, "type"), f"must be one of {', '.join(LAYER_TYPES)}, not a {type_name(value)}")
    return cast(LayerType, choice(doc, (*path, "type"), value, LAYER_TYPES))
