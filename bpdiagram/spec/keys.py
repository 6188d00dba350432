"""Every key a spec may have, with its JSON type, choices, bounds and a one-line description, in one table.

The validators read their allowed keys from here (``TOP_KEYS`` and the others are derived from these tables)
and ``bpdiagram schema`` writes its JSON Schema from the same tables, so a key added here is accepted by the
loader and completed by editors at once: adding a key is one ``Field(...)`` line in the right table. The
validators still do the checking (and say what is wrong); the schema only repeats what a table states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bpdiagram.options import ACTIVATIONS, EDGE_KINDS, INITS, LAYER_TYPES, LOSSES, NOTATIONS, PRECISIONS, VIEWS
from bpdiagram.spec.fields import MAX_TEXT
from bpdiagram.spec.values import MAX_ABS, MAX_BATCH, MAX_SEED

MAX_UNITS = 1_000_000
"""Units per layer; the vectorized view draws shapes, not units, so this only guards arithmetic."""

MAX_LAYERS = 160
"""Layers of a network (the vectorized view). Set from ``tools/limits.py`` (``make limits``): the largest
accepted network must render in every format within 10 s on 2 cores. On 2026-12-08, every format, 4 units a
layer, idle machine: 160 layers 7.0 s of CPU (5.6 s wall), 176 layers 9.1 s, 192 layers 9.0-9.3 s, 224
layers 11.0 s, 256 layers 12.1 s. Graphviz's placement grows with the square of the depth (about 3 s of the
256 layers'), and rasterising the PNG and PDF takes another 3 s, mostly shaping the labels' text."""

MAX_L2 = 1e6
"""Largest λ accepted: beyond it the penalty swamps every loss and finite differences lose their digits."""

MAX_KERNEL = 64
"""Largest kernel, stride and padding accepted: lecture-sized pictures, and the arithmetic stays small."""
MAX_FILTERS = 4096
MAX_SIDE = 4096
"""Largest channel count, height or width of an input feature map."""

TEXT = ("string", "number")
"""A title or a symbol: YAML may read ``title: 2024`` as a number, which the loader shows as text."""


@dataclass(frozen=True)
class Field:
    """One key of a spec mapping, as the loader accepts it and as the JSON Schema states it.

    ``types`` are JSON types (``string``, ``integer``, ``number``, ``boolean``, ``array``, ``object``);
    ``choices`` come from the ``Literal`` aliases of ``bpdiagram.options``; ``minimum``/``maximum`` are the bounds
    the validator enforces (``exclusive_minimum`` for an open lower end); ``items`` is the JSON Schema of an array's
    elements and ``table`` the fields of a nested mapping (its unknown keys refused); ``schema`` is a fragment
    merged in last, for what the other slots cannot say.
    """

    name: str
    types: tuple[str, ...]
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    required: bool = False
    items: dict[str, object] | None = None
    table: tuple[Field, ...] | None = None
    schema: dict[str, object] | None = None


def names(table: Sequence[Field]) -> tuple[str, ...]:
    """The keys of ``table`` in its order: the allowed keys a validator passes to ``check_keys``."""
    return tuple(f.name for f in table)


def required(table: Sequence[Field]) -> tuple[str, ...]:
    """The keys of ``table`` a mapping must have."""
    return tuple(f.name for f in table if f.required)


REGULARIZATION_FIELDS = (
    Field("l2", ("number",), "λ of L2 regularisation: the cost adds λ/(2m)·Σ‖W[l]‖².", minimum=0, maximum=MAX_L2),
)

INPUT_FIELDS = (
    Field("name", ("string",), "The input's symbol in the diagram (X unless named)."),
    Field("size", ("integer",), "Number of input features n[0] (a vector input).", minimum=1, maximum=MAX_UNITS),
    Field("shape", ("array",), "[channels, height, width] of a feature-map input (instead of size).",
          items={"type": "integer", "minimum": 1, "maximum": MAX_SIDE}, schema={"minItems": 3, "maxItems": 3}),
)

LAYER_FIELDS = (
    Field("size", ("integer",), "Number of units n[l] of this layer.", minimum=1, maximum=MAX_UNITS, required=True),
    Field("activation", ("string",), "The activation g[l]; softmax only on the output layer, with loss ce.",
          choices=ACTIVATIONS, required=True),
    Field("dropout", ("number",), "Keep probability of inverted dropout, in (0, 1]; hidden layers only.",
          minimum=0, maximum=1, exclusive_minimum=True),
    Field("batchnorm", ("boolean",), "Batch norm between the linear step and g (the layer then has no bias b)."),
    Field("residual", ("integer",), "An earlier layer k of the same size whose A[k] is added to g's argument.",
          minimum=1, maximum=MAX_LAYERS),
)
"""A dense layer of a vector-input network."""

TYPE_FIELD = Field("type", ("string",), "The layer's kind: dense (the default), conv, maxpool, avgpool or flatten.",
                   choices=LAYER_TYPES)

DENSE_FIELDS = (TYPE_FIELD, *LAYER_FIELDS)
"""A dense layer of a feature-map network (it may say ``type: dense``)."""

CONV_FIELDS = (
    TYPE_FIELD,
    Field("filters", ("integer",), "Number of filters F: the output's channels.", minimum=1, maximum=MAX_FILTERS,
          required=True),
    Field("kernel", ("integer",), "The square window's side k.", minimum=1, maximum=MAX_KERNEL, required=True),
    Field("stride", ("integer",), "Step of the window (1 by default).", minimum=1, maximum=MAX_KERNEL),
    Field("padding", ("integer",), "Zeros added on every side of the input (0 by default).", minimum=0,
          maximum=MAX_KERNEL),
    Field("activation", ("string",), "The activation applied to the feature map (linear by default).",
          choices=ACTIVATIONS),
)

POOL_FIELDS = (
    TYPE_FIELD,
    Field("kernel", ("integer",), "The square window's side k.", minimum=1, maximum=MAX_KERNEL, required=True),
    Field("stride", ("integer",), "Step of the window (the kernel by default).", minimum=1, maximum=MAX_KERNEL),
)

FLATTEN_FIELDS = (TYPE_FIELD,)

VALUES_FIELDS = (
    Field("seed", ("integer",), "Seed of the random numbers drawn for arrays not given.", minimum=0,
          maximum=MAX_SEED),
    Field("batch", ("integer",), "Number of examples m (else X's columns, else 4).", minimum=1, maximum=MAX_BATCH),
    Field("init", ("string",), "How the weights not given are drawn.", choices=INITS),
    Field("scale", ("number",), "Scales the weights init draws (with init only).", minimum=0, maximum=MAX_ABS,
          exclusive_minimum=True),
)
"""The settings of ``values:``; its other keys are arrays (X, Y, W1, b1, ...), named by the network."""

DIAGRAM_FIELDS = (
    Field("view", ("string",), "vectorized draws matrices per layer; elementwise draws every unit.", choices=VIEWS),
    Field("notation", ("string",), "Symbols of the course: dls (dZ, dW) or cs231n.", choices=NOTATIONS),
    Field("simplify", ("string", "boolean"), "Fuse the loss and output derivative into A − Y where it holds.",
          choices=("auto", "true", "false")),
    Field("backprop_to", ("integer",), "The lowest layer the backward pass is drawn to.", minimum=1,
          maximum=MAX_LAYERS),
    Field("show", ("array", "string"), "The edge kinds drawn: a list, or a comma-separated string.",
          items={"enum": list(EDGE_KINDS)}),
    Field("learning_rate", TEXT, "The learning rate drawn in the update nodes: a symbol such as α, or a number."),
    Field("memory", ("boolean",), "Annotate every cached value with its shape and bytes."),
    Field("gradient_flow", ("boolean",), "Draw the strip of ‖dW[l]‖ bars under the backward band."),
    Field("show_values", ("boolean",), "Draw the numbers on the nodes (by default: when the spec has values)."),
    Field("wrap", ("integer", "string"), "Layers per tier, or auto (vectorized view only).", minimum=1,
          choices=("auto",)),
    Field("precision", ("string",), "Judge every drawn gradient against this 16-bit format's range.",
          choices=PRECISIONS),
    Field("loss_scale", ("number", "string"), "Loss scale of mixed precision: a positive number or dynamic "
          "(with precision).", minimum=0, exclusive_minimum=True, choices=("dynamic",)),
)

TOP_FIELDS = (
    Field("title", TEXT, "The diagram's title."),
    Field("input", ("integer", "object"), "The input: its size, or {name, size} or {name, shape}.", required=True,
          minimum=1, maximum=MAX_UNITS, table=INPUT_FIELDS),
    Field("layers", ("array",), "The layers from the first hidden layer to the output layer.", required=True,
          schema={"minItems": 1, "maxItems": MAX_LAYERS}),
    Field("loss", ("string",), "The loss: bce, ce (with softmax), mse or sse.", choices=LOSSES, required=True),
    Field("target", ("string",), "The target's symbol (Y unless named)."),
    Field("regularization", ("object",), "Regularisation of the weights: {l2: λ}.",
          table=REGULARIZATION_FIELDS),
    Field("diagram", ("object",), "What to draw and how.", table=DIAGRAM_FIELDS),
    Field("values", ("object", "null"), "Numbers to show: seed, batch, init, scale and arrays such as X, W1.",
          table=VALUES_FIELDS),
)
"""The top level of a network spec."""

SHOW_FIELD = DIAGRAM_FIELDS[names(DIAGRAM_FIELDS).index("show")]
MAX_DECIMALS = 6
"""Most decimals an expression or program may ask its numbers to be drawn with."""
EXPRESSION_DIAGRAM_FIELDS = (SHOW_FIELD, Field("decimals", ("integer",), "Decimals of the numbers drawn (default 2).",
                                               minimum=0, maximum=MAX_DECIMALS))

EXPRESSION_FIELDS = (
    Field("title", TEXT, "The diagram's title."),
    Field("expression", ("string", "number"), "The expression, such as (x + y) * z; calls exp, log, sigmoid, "
          "tanh, relu, max, min.", required=True, schema={"maxLength": MAX_TEXT}),
    Field("values", ("object", "null"), "A number for each variable of the expression.",
          schema={"additionalProperties": {"type": "number"}}),
    Field("diagram", ("object",), "What to draw.", table=EXPRESSION_DIAGRAM_FIELDS),
)
"""The top level of an expression spec."""

PROGRAM_FIELDS = (
    Field("title", TEXT, "The diagram's title."),
    Field("program", ("string",), "A staged computation: one assignment a line (q = x + y; f += 1), '#' comments; "
          "each line's result is drawn with its name.", required=True),
    Field("output", ("string",), "The name whose gradient is taken (default: the last name assigned)."),
    Field("values", ("object", "null"), "A number for each input the program reads.",
          schema={"additionalProperties": {"type": "number"}}),
    Field("diagram", ("object",), "What to draw.", table=EXPRESSION_DIAGRAM_FIELDS),
)
"""The top level of a program spec."""

SPEC_KINDS: dict[str, tuple[Field, ...]] = {"program": PROGRAM_FIELDS, "expression": EXPRESSION_FIELDS}
"""The spec kinds other than a network, by the key that makes a document one (without ``input``, ``layers`` or
``loss`` it is that kind, as ``spec.validate`` decides); every other document is a network (``TOP_FIELDS``)."""

TOP_KEYS = names(TOP_FIELDS)
REQUIRED_TOP_KEYS = required(TOP_FIELDS)
INPUT_KEYS = names(INPUT_FIELDS)
LAYER_KEYS = names(LAYER_FIELDS)
REQUIRED_LAYER_KEYS = required(LAYER_FIELDS)
DENSE_KEYS = names(DENSE_FIELDS)
REGULARIZATION_KEYS = names(REGULARIZATION_FIELDS)
CONV_KEYS = names(CONV_FIELDS)
POOL_KEYS = names(POOL_FIELDS)
FLATTEN_KEYS = names(FLATTEN_FIELDS)
VALUES_SETTINGS = names(VALUES_FIELDS)
"""``values.SETTINGS`` (which this module cannot import without a cycle); a test keeps the two equal."""
DIAGRAM_KEYS = names(DIAGRAM_FIELDS)
EXPRESSION_KEYS = names(EXPRESSION_FIELDS)
EXPRESSION_DIAGRAM_KEYS = names(EXPRESSION_DIAGRAM_FIELDS)
PROGRAM_KEYS = names(PROGRAM_FIELDS)
