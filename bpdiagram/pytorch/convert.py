"""Read an ``nn.Sequential`` module by module into a spec's layers, and its tensors into ``values:``.

A spec layer is "linear step, then (batch norm), then activation, then
(dropout)", so the modules are read as a small grammar: each Linear (or
Conv2d) opens a layer, the modules after it fill that layer's slots in that
order, and anything out of order is named in a one-line error — the diagram
would otherwise draw a different network. Shapes are followed module by
module, so a size that does not fit is found here, not by torch.

What the diagram draws is a training step, whatever ``model.training`` says:
Dropout is inverted dropout with a drawn mask, BatchNorm1d normalises with
the batch's mean and biased variance (ε = 1e-5), as torch's training mode
does; the running statistics of evaluation mode are not drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from bpdiagram.errors import SpecError

DEFAULT_BATCH = 4
"""Examples in the batch a model gets when the command line is given no ``--input-shape``."""

MASK_SEED = 0
"""Seed of the generator that draws dropout masks (torch's own generator, so the user's RNG is left alone)."""

BATCHNORM_EPS = 1e-5
"""The diagram's batch norm ε, which is also torch's default."""

LEAKY_SLOPE = 0.01
"""The slope ``leaky_relu`` has in the diagram (torch's default ``negative_slope``)."""

ACTIVATIONS: dict[type[nn.Module], str] = {
    nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.Softmax: "softmax",
    nn.LogSoftmax: "softmax",
}
"""Activation modules and the spec's names for them. A model ending in LogSoftmax, trained with ``nn.NLLLoss``,
has the very J and gradients of softmax with cross-entropy, which is what the diagram draws."""

DRAWN = ("Linear, ReLU, LeakyReLU, Tanh, Sigmoid, Softmax (or LogSoftmax at the end), BatchNorm1d, Dropout, Conv2d, "
         "MaxPool2d, AvgPool2d, Flatten")
"""What a model may be made of, for the error that refuses anything else."""

OUTPUT_FOR_LOSS = {"bce": ("sigmoid",), "ce": ("softmax", "sigmoid"), "mse": None}
"""Output activations each loss takes (None: any); a model ending in its linear step gets the first."""


@dataclass
class _Layer:
    """The spec layer being read: its mapping, which slot comes next, its parameters and its module's path."""

    spec: dict[str, Any]
    stage: str
    """``linear`` (just opened), ``batchnorm``, ``activation``, ``dropout``, or ``pool`` / ``flatten``."""
    where: str
    params: dict[str, torch.Tensor] = field(default_factory=dict)
    module: str = ""
    """The module that opened the layer, as ``describe`` shows it."""
    activation_at: str = ""
    """The path of the layer's activation module, when it has one."""
    log_softmax: bool = False
    """The activation is LogSoftmax: the model gives log A, which only ce (``nn.NLLLoss``) reads as A."""


@dataclass
class _Reader:
    """The state of reading a model: the input's shape, then the current shape and the layers so far."""

    file: str
    shape: tuple[int, ...]
    """One example's shape as torch has it after the modules read so far: (n,) or (C, H, W)."""
    layers: list[_Layer] = field(default_factory=list)
    flattened_input: bool = False
    """A leading Flatten: the input is drawn as its C·H·W features (as the Linear after it reads them)."""

    def error(self, where: str, reason: str) -> SpecError:
        return SpecError(reason, file=self.file, key=where)

    @property
    def current(self) -> _Layer | None:
        return self.layers[-1] if self.layers else None


def modules_of(model: nn.Module, name: str) -> list[tuple[str, nn.Module]]:
    """The modules of ``model`` in order, nested Sequentials opened, each with its path (``model[2]``).

    >>> [where for where, _ in modules_of(nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.Tanh())), "m")]
    ['m[0][0]', 'm[0][1]']
    """
    out: list[tuple[str, nn.Module]] = []
    for child, module in model.named_children():
        where = f"{name}[{child}]" if child.isdigit() else f"{name}.{child}"
        if isinstance(module, nn.Sequential):
            out += modules_of(module, where)
        else:
            out.append((where, module))
    return out


def describe(module: nn.Module) -> str:
    """A module as ``print(model)`` shows it, on one line (``Linear(in_features=2, ...)``)."""
    return " ".join(repr(module).split())


def _sequential(model: Any, name: str, file: str) -> nn.Sequential:
    if isinstance(model, nn.Sequential):
        return model
    if isinstance(model, nn.Module):
        raise SpecError(f"is a {type(model).__name__}, not an nn.Sequential; the diagram reads a Sequential's "
                        "modules in order, so write the model as nn.Sequential(...)", file=file, key=name)
    raise SpecError(f"is an object of type {type(model).__name__}, not an nn.Sequential", file=file, key=name)


def inferred_loss(model: nn.Module) -> str:
    """The loss a model's end suggests: Sigmoid → bce, Softmax or LogSoftmax → ce, anything else → mse."""
    modules = modules_of(model, "model") if isinstance(model, nn.Sequential) else []
    last = modules[-1][1] if modules else None
    return "bce" if isinstance(last, nn.Sigmoid) else "ce" if isinstance(last, (nn.Softmax, nn.LogSoftmax)) else "mse"


def example_batch(model: nn.Module, shape: tuple[int, ...] | None, *, file: str, name: str) -> torch.Tensor:
    """Zeros of ``shape`` (N first), or of (4, in_features) for a model that starts with Linear.

    A model that starts with a convolution, pooling or Flatten needs the shape; one that starts with
    anything else is refused by the conversion, which names that module.
    """
    if shape is None:
        modules = modules_of(_sequential(model, name, file), name)
        first = modules[0][1] if modules else None
        if isinstance(first, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.Flatten)):
            raise SpecError(f"the model starts with {describe(first)}; give the shape of an example batch, "
                            "--input-shape N,C,H,W (or N,FEATURES)", file=file, key=name)
        shape = (DEFAULT_BATCH, first.in_features if isinstance(first, nn.Linear) else 1)
    return torch.zeros(shape, dtype=torch.float64)


def convert(model: Any, *, loss: str, input: Any, target: Any, weights: bool, name: str, file: str,
            seed_values: bool = False) -> dict[str, Any]:
    """The spec (a plain mapping) of ``model`` trained with ``loss`` on the batch ``input``.

    With ``weights`` its parameters, the batch, the target and the dropout masks become ``values:``;
    ``seed_values`` leaves the batch and target out, for the diagram to draw from its seed (the command
    line has a shape, not a batch).
    """
    if loss not in OUTPUT_FOR_LOSS:
        raise SpecError(f"unknown loss {loss!r}; valid choices: {', '.join(OUTPUT_FOR_LOSS)}", file=file, key="loss")
    sequential = _sequential(model, name, file)
    batch = _tensor(input, "input", file)
    if batch.dim() not in (2, 4):
        raise SpecError(f"the example batch has shape {tuple(batch.shape)}; give (N, features) or (N, C, H, W), "
                        "one example per row", file=file, key="input")
    reader = _Reader(file, tuple(batch.shape[1:]))
    modules = modules_of(sequential, name)
    if not modules:
        raise SpecError("is an empty nn.Sequential; there is no layer to draw", file=file, key=name)
    for where, module in modules:
        _read(reader, where, module)
    output = _finish(reader, loss, name, modules[-1][0])
    spec: dict[str, Any] = {"input": _input_spec(reader, tuple(batch.shape[1:])),
                            "layers": [layer.spec for layer in reader.layers], "loss": loss}
    if weights:
        spec["values"] = _values(reader, batch, target, loss, output, seed_values)
    return spec


def _input_spec(reader: _Reader, shape: tuple[int, ...]) -> dict[str, Any]:
    if len(shape) == 1 or reader.flattened_input:
        return {"name": "X", "size": math.prod(shape)}
    return {"name": "X", "shape": list(shape)}


def _read(reader: _Reader, where: str, module: nn.Module) -> None:
    """Read one module into the layers (or the error that names it)."""
    if isinstance(module, nn.Linear):
        _linear(reader, where, module)
    elif type(module) in ACTIVATIONS:
        _activation(reader, where, module)
    elif isinstance(module, nn.BatchNorm1d):
        _batchnorm(reader, where, module)
    elif isinstance(module, nn.Dropout):
        _dropout(reader, where, module)
    elif isinstance(module, nn.Conv2d):
        _conv(reader, where, module)
    elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        _pool(reader, where, module)
    elif isinstance(module, nn.Flatten):
        _flatten(reader, where, module)
    else:
        raise reader.error(where, f"{describe(module)} cannot be drawn; a model the diagram draws is an "
                                  f"nn.Sequential of {DRAWN}")


def _close(reader: _Reader) -> None:
    """Check the layer being read before the next one opens: a dense layer without batch norm needs its bias."""
    layer = reader.current
    if layer is not None and "W" in layer.params and "b" not in layer.params and "batchnorm" not in layer.spec:
        raise reader.error(layer.where, f"{layer.module}: the diagram's dense layer has a bias b; use bias=True "
                                        "(or follow the Linear with BatchNorm1d, whose β takes the bias's place)")


def _linear(reader: _Reader, where: str, module: nn.Linear) -> None:
    _close(reader)
    if len(reader.shape) != 1:
        raise reader.error(where, f"{describe(module)} gets examples of shape {reader.shape}; put an nn.Flatten() "
                                  "before it")
    if module.in_features != reader.shape[0]:
        raise reader.error(where, f"{describe(module)} expects {module.in_features} features, but gets "
                                  f"{reader.shape[0]}")
    params = {"W": module.weight}
    if module.bias is not None:
        params["b"] = module.bias
    reader.layers.append(_Layer({"size": module.out_features, "activation": "linear"}, "linear", where, params,
                                describe(module)))
    reader.shape = (module.out_features,)


STAGES = {"linear": "a linear step", "batchnorm": "BatchNorm1d", "activation": "an activation",
          "dropout": "Dropout", "pool": "pooling", "flatten": "Flatten"}
"""What a layer read last, by its stage, for the error that refuses a module out of order."""


def _open_layer(reader: _Reader, where: str, module: nn.Module, slot: str, after: tuple[str, ...]) -> _Layer:
    """The layer ``module`` fills ``slot`` of; refused when the module does not come where that slot is."""
    layer = reader.current
    if layer is None or layer.stage not in after:
        follows = f"comes after {STAGES[layer.stage]}" if layer is not None else "comes first"
        order = "Linear (or Conv2d), then BatchNorm1d, then the activation, then Dropout"
        raise reader.error(where, f"{describe(module)} {follows}; the diagram draws a layer as {order}, and cannot "
                                  f"draw {slot} there")
    return layer


def _activation(reader: _Reader, where: str, module: nn.Module) -> None:
    name = ACTIVATIONS[type(module)]
    layer = _open_layer(reader, where, module, "an activation", ("linear", "batchnorm"))
    if isinstance(module, nn.LeakyReLU) and not math.isclose(module.negative_slope, LEAKY_SLOPE):
        raise reader.error(where, f"{describe(module)}: the diagram's leaky ReLU has slope {LEAKY_SLOPE}; use "
                                  "nn.LeakyReLU() (negative_slope=0.01)")
    if isinstance(module, (nn.Softmax, nn.LogSoftmax)) and module.dim not in (None, 1, -1):
        raise reader.error(where, f"{describe(module)}: the diagram's softmax is over each example's units; use "
                                  f"nn.{type(module).__name__}(dim=1)")
    layer.spec["activation"] = name
    layer.stage = "activation"
    layer.activation_at = where
    layer.log_softmax = isinstance(module, nn.LogSoftmax)


def _batchnorm(reader: _Reader, where: str, module: nn.BatchNorm1d) -> None:
    layer = _open_layer(reader, where, module, "batch norm", ("linear",))
    if "type" in layer.spec:
        raise reader.error(where, f"{describe(module)} after a convolution cannot be drawn; batch norm is drawn on "
                                  "dense layers")
    if module.num_features != layer.spec["size"]:
        raise reader.error(where, f"{describe(module)} normalises {module.num_features} features, but the layer has "
                                  f"{layer.spec['size']}")
    if not module.affine:
        raise reader.error(where, f"{describe(module)}: the diagram's batch norm learns γ and β; use affine=True")
    if not math.isclose(module.eps, BATCHNORM_EPS):
        raise reader.error(where, f"{describe(module)}: the diagram's batch norm has ε = {BATCHNORM_EPS:g}; use "
                                  f"eps={BATCHNORM_EPS:g} (the default)")
    # the batch's mean takes Z's bias away (its gradient is zero): the diagram's batch-norm layer has no b
    layer.params.pop("b", None)
    layer.params["gamma"], layer.params["beta"] = module.weight, module.bias
    layer.spec["batchnorm"] = True
    layer.stage = "batchnorm"


def _dropout(reader: _Reader, where: str, module: nn.Dropout) -> None:
    layer = _open_layer(reader, where, module, "dropout", ("linear", "batchnorm", "activation"))
    if "type" in layer.spec:
        raise reader.error(where, f"{describe(module)} after a convolution cannot be drawn; dropout is drawn on "
                                  "dense layers")
    if not 0 <= module.p < 1:
        raise reader.error(where, f"{describe(module)} drops every unit; p must be below 1")
    layer.spec["dropout"] = round(1 - module.p, 12)  # 1 - 0.7 is 0.30000000000000004
    layer.stage = "dropout"


def _pair(reader: _Reader, where: str, module: nn.Module, what: str, value: Any) -> int:
    """A square kernel, stride or padding as one int (the diagram's convolutions are square)."""
    if isinstance(value, int):
        return value
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1] and isinstance(value[0], int):
        return value[0]
    raise reader.error(where, f"{describe(module)}: {what} {value!r} cannot be drawn; the diagram's {what} is the "
                              "same along height and width (one number)")


def _image(reader: _Reader, where: str, module: nn.Module) -> tuple[int, int, int]:
    if len(reader.shape) != 3:
        raise reader.error(where, f"{describe(module)} gets examples of shape {reader.shape}; it needs "
                                  "(channels, height, width): give --input-shape N,C,H,W")
    c, h, w = reader.shape
    return c, h, w


def _out_size(reader: _Reader, where: str, module: nn.Module, size: int, kernel: int, stride: int,
              padding: int) -> int:
    """The output's height (or width): the windows must fit exactly, for the diagram has no leftover rows."""
    span = size + 2 * padding - kernel
    if span < 0:
        raise reader.error(where, f"{describe(module)} gets {reader.shape[1]}×{reader.shape[2]} images, smaller "
                                  f"than its kernel ({kernel}×{kernel} with padding {padding})")
    if span % stride:
        raise reader.error(where, f"{describe(module)} on {reader.shape[1]}×{reader.shape[2]} images leaves "
                                  f"{span % stride} row(s) or column(s) no window covers ((side + 2·{padding} − "
                                  f"{kernel}) is not a multiple of the stride {stride}); torch drops them, the "
                                  "diagram cannot draw that: change the input's size, kernel, stride or padding")
    return span // stride + 1


def _conv(reader: _Reader, where: str, module: nn.Conv2d) -> None:
    _close(reader)
    c, h, w = _image(reader, where, module)
    if module.in_channels != c:
        raise reader.error(where, f"{describe(module)} expects {module.in_channels} channels, but gets {c}")
    for what, value, plain in (("dilation", module.dilation, (1, 1)), ("groups", module.groups, 1),
                               ("padding_mode", module.padding_mode, "zeros")):
        if value != plain:
            raise reader.error(where, f"{describe(module)}: {what} {value!r} cannot be drawn (only {plain!r})")
    if module.bias is None:
        raise reader.error(where, f"{describe(module)}: the diagram's convolution has a bias; use bias=True")
    kernel = _pair(reader, where, module, "kernel", module.kernel_size)
    stride = _pair(reader, where, module, "stride", module.stride)
    padding = _conv_padding(reader, where, module, kernel)
    size = (_out_size(reader, where, module, h, kernel, stride, padding),
            _out_size(reader, where, module, w, kernel, stride, padding))
    spec = {"type": "conv", "filters": module.out_channels, "kernel": kernel, "stride": stride, "padding": padding,
            "activation": "linear"}
    reader.layers.append(_Layer(spec, "linear", where, {"W": module.weight, "b": module.bias}))
    reader.shape = (module.out_channels, *size)


def _conv_padding(reader: _Reader, where: str, module: nn.Conv2d, kernel: int) -> int:
    padding = module.padding
    if padding == "valid":
        return 0
    if padding == "same":
        if kernel % 2 == 0:
            raise reader.error(where, f"{describe(module)}: padding 'same' with an even kernel pads unevenly, which "
                                      "cannot be drawn")
        return (kernel - 1) // 2
    return _pair(reader, where, module, "padding", padding)


def _pool(reader: _Reader, where: str, module: nn.MaxPool2d | nn.AvgPool2d) -> None:
    _close(reader)
    _, h, w = _image(reader, where, module)
    kind = "maxpool" if isinstance(module, nn.MaxPool2d) else "avgpool"
    kernel = _pair(reader, where, module, "kernel", module.kernel_size)
    stride = _pair(reader, where, module, "stride", module.stride if module.stride is not None else kernel)
    plain: list[tuple[str, Any, Any]] = [("padding", module.padding, 0), ("ceil_mode", module.ceil_mode, False)]
    if isinstance(module, nn.MaxPool2d):
        plain += [("dilation", module.dilation, 1), ("return_indices", module.return_indices, False)]
    else:
        plain += [("divisor_override", module.divisor_override, None)]
    for what, value, default in plain:
        if value not in (default, (default, default)):
            raise reader.error(where, f"{describe(module)}: {what} {value!r} cannot be drawn (only {default!r})")
    size = (_out_size(reader, where, module, h, kernel, stride, 0), _out_size(reader, where, module, w, kernel,
                                                                            stride, 0))
    reader.layers.append(_Layer({"type": kind, "kernel": kernel, "stride": stride}, "pool", where))
    reader.shape = (reader.shape[0], *size)


def _flatten(reader: _Reader, where: str, module: nn.Flatten) -> None:
    if (module.start_dim, module.end_dim) != (1, -1):
        raise reader.error(where, f"{describe(module)}: only nn.Flatten() (start_dim=1, end_dim=-1) can be drawn, "
                                  "which keeps each example apart")
    if len(reader.shape) == 1:
        return  # each example is a vector already: nothing to flatten
    _close(reader)
    if not reader.layers:  # the input itself, read as a vector, the way the first Linear reads it
        reader.flattened_input = True
    else:
        reader.layers.append(_Layer({"type": "flatten"}, "flatten", where))
    reader.shape = (math.prod(reader.shape),)


def _finish(reader: _Reader, loss: str, name: str, last: str) -> int:
    """Check the model's end against the loss (the output activation it needs); the number of outputs."""
    _close(reader)
    layer = reader.current
    if layer is None or len(reader.shape) != 1 or "type" in layer.spec:
        raise reader.error(last, "the model must end in a dense layer (Linear, then its activation), whose output "
                                 "goes into the loss")
    if layer.spec.get("dropout") is not None:
        raise reader.error(last, "dropout on the output layer cannot be drawn (its A goes into the loss); drop it "
                                 "or add a Linear after it")
    for hidden in reader.layers[:-1]:
        if hidden.spec.get("activation") == "softmax":
            raise reader.error(hidden.activation_at, "softmax is drawn on the output layer only (with loss ce)")
    if layer.log_softmax and loss != "ce":
        raise reader.error(layer.activation_at, f"a model ending in LogSoftmax gives log-probabilities, which only "
                                                f"loss ce reads (as nn.NLLLoss does), not loss {loss}")
    allowed = OUTPUT_FOR_LOSS[loss]
    activation = layer.spec["activation"]
    if allowed is not None and activation not in allowed:
        if layer.stage in ("linear", "batchnorm"):  # logits: the loss applies its own sigmoid or softmax
            layer.spec["activation"] = allowed[0]
        else:
            wanted = "Sigmoid" if loss == "bce" else "Softmax"
            raise reader.error(last, f"loss {loss} needs the model to end in {wanted} (or in Linear, whose logits "
                                     f"the loss takes through a {wanted.lower()}), not in {activation}")
    if layer.spec["activation"] == "softmax" and reader.shape[0] < 2:
        raise reader.error(last, "a softmax over one unit is always 1; use two or more outputs or Sigmoid with bce")
    return reader.shape[0]


def _tensor(value: Any, what: str, file: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach()
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise SpecError(f"is not a tensor (or anything torch.as_tensor reads): {exc}", file=file, key=what) from None


def numbers(tensor: torch.Tensor) -> Any:
    """A tensor as nested lists of floats, each the shortest text that gives back its value in its dtype.

    A spec is the model's data, so its numbers are not rounded for show: a float64 tensor keeps every
    digit, a float32 one the digits float32 has (``0.1`` rather than ``0.10000000149011612``).

    >>> numbers(torch.tensor([[0.1, 0.25]], dtype=torch.float32))
    [[0.1, 0.25]]
    """
    values = tensor.detach().cpu()
    if values.dtype == torch.float64:
        return values.tolist()
    import numpy as np

    flat = values.to(torch.float32).numpy()
    return np.vectorize(lambda v: float(str(np.float32(v))), otypes=[float])(flat).tolist() if flat.size else []


def _values(reader: _Reader, batch: torch.Tensor, target: Any, loss: str, outputs: int,
            seed_values: bool) -> dict[str, Any]:
    """The ``values:`` of a converted model: its parameters, the batch, the target and the dropout masks."""
    m = batch.shape[0]
    values: dict[str, Any] = {"seed": 0, "batch": m}
    if not seed_values:
        dense = batch.dim() == 2 or reader.flattened_input  # (n[0], m), examples as columns; images stay NCHW
        x = batch.reshape(m, -1).T if dense else batch
        values["X"] = numbers(x)
        if target is not None:
            values["Y"] = numbers(_target(reader, _tensor(target, "target", reader.file), loss, outputs, m))
    generator = torch.Generator().manual_seed(MASK_SEED)
    for number, layer in enumerate(reader.layers, start=1):
        for key, tensor in layer.params.items():
            values[f"{key}{number}"] = numbers(_parameter(tensor, key, "type" in layer.spec))
        keep = layer.spec.get("dropout")
        if keep is not None:
            mask = torch.bernoulli(torch.full((layer.spec["size"], m), float(keep)), generator=generator)
            values[f"D{number}"] = numbers(mask)
    return values


def _parameter(tensor: torch.Tensor, key: str, conv: bool) -> torch.Tensor:
    """A parameter in the spec's layout: W as torch has it; b, γ and β as columns (a conv's b as a list)."""
    if key == "W" or conv:
        return tensor.detach()
    return tensor.detach().reshape(-1, 1)


def _target(reader: _Reader, target: torch.Tensor, loss: str, outputs: int, m: int) -> torch.Tensor:
    """The target as the diagram's Y, (outputs, m): class indices one-hot (ce), a column per example."""
    where = "target"
    if loss == "ce" and target.dim() == 1 and not target.is_floating_point():
        if target.shape[0] != m:
            raise reader.error(where, f"has {target.shape[0]} class indices for a batch of {m} examples")
        if target.numel() and not (int(target.min()) >= 0 and int(target.max()) < outputs):
            raise reader.error(where, f"class indices must lie in 0 … {outputs - 1} (the model has {outputs} "
                                      "outputs)")
        return torch.nn.functional.one_hot(target.long(), outputs).T.to(torch.float64)
    values = target.to(torch.float64)
    if values.dim() == 1 and outputs == 1:
        values = values.reshape(-1, 1)
    if tuple(values.shape) != (m, outputs):
        raise reader.error(where, f"has shape {tuple(target.shape)}; the model's output has shape ({m}, {outputs})"
                                  + (" (or give class indices of shape (m,))" if loss == "ce" else ""))
    return values.T
