"""Every user-facing option as a ``Literal`` alias, in one place.

The spec validator, the model and the CLI all read their valid choices from
here, so an error message can list them and a new choice is added once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, cast, get_args

EdgeKind = Literal["forward", "cache", "backward", "update", "derivative"]
NodeKind = Literal["input", "target", "param", "op", "loss", "cached", "grad", "sum", "continuation"]
Band = Literal["forward", "cache", "backward"]
Activation = Literal["linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"]
Loss = Literal["bce", "ce", "mse", "sse"]
View = Literal["vectorized", "elementwise"]
Notation = Literal["dls", "cs231n"]
Simplify = Literal["auto", "true", "false"]
Format = Literal["svg", "png", "graphml", "pdf", "html", "dot", "drawio", "tikz"]
JumpStyle = Literal["arc", "gap", "none", "all"]
WrapAuto = Literal["auto"]
Theme = Literal["default", "print"]
Dtype = Literal["float32", "float16", "float64"]
Init = Literal["normal", "xavier", "he"]
Precision = Literal["float16", "bfloat16"]
Dynamic = Literal["dynamic"]
LayerType = Literal["dense", "conv", "maxpool", "avgpool", "flatten"]

EDGE_KINDS: tuple[EdgeKind, ...] = get_args(EdgeKind)
NODE_KINDS: tuple[NodeKind, ...] = get_args(NodeKind)
BANDS: tuple[Band, ...] = get_args(Band)
ACTIVATIONS: tuple[Activation, ...] = get_args(Activation)
LOSSES: tuple[Loss, ...] = get_args(Loss)
VIEWS: tuple[View, ...] = get_args(View)
NOTATIONS: tuple[Notation, ...] = get_args(Notation)
FORMATS: tuple[Format, ...] = get_args(Format)
THEMES: tuple[Theme, ...] = get_args(Theme)
JUMP_STYLES: tuple[JumpStyle, ...] = get_args(JumpStyle)
DTYPES: tuple[Dtype, ...] = get_args(Dtype)
INITS: tuple[Init, ...] = get_args(Init)
PRECISIONS: tuple[Precision, ...] = get_args(Precision)
LAYER_TYPES: tuple[LayerType, ...] = get_args(LayerType)

Gate = Literal["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sigmoid", "tanh", "relu", "max", "min"]
FUNCTIONS: dict[str, int] = {"exp": 1, "log": 1, "sigmoid": 1, "tanh": 1, "relu": 1, "max": 2, "min": 2}
"""Functions an expression may call, with their number of arguments."""


def parse_formats(value: str | Iterable[str]) -> tuple[Format, ...]:
    """The output formats a comma-separated list (``-f svg,png``) or a sequence of names asks for, each once.

    Names are trimmed and lower-cased; the order is kept and repeats dropped. A name not in ``FORMATS`` is a
    ``ValueError`` whose message the CLI and ``Diagram.save`` show as it is. No name at all is no format (a
    series written as HTML only saves its frames in none); the CLI's ``-f`` asks for at least one.

    >>> parse_formats(" svg, PNG,,svg")
    ('svg', 'png')
    >>> parse_formats(["pdf", "html"])
    ('pdf', 'html')
    >>> parse_formats("svg,jpeg")
    Traceback (most recent call last):
    ...
    ValueError: unknown format 'jpeg'; valid formats: svg, png, graphml, pdf, html, dot, drawio, tikz
    >>> parse_formats(" , "), parse_formats([])
    ((), ())
    """
    names = value.split(",") if isinstance(value, str) else value
    wanted = [name.strip().lower() for name in names if name.strip()]
    for name in wanted:
        if name not in FORMATS:
            raise ValueError(f"unknown format {name!r}; valid formats: {', '.join(FORMATS)}")
    return tuple(cast(Format, name) for name in dict.fromkeys(wanted))
