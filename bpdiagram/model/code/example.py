"""``example()`` of a network's module: the spec's numbers, drawn as bpdiagram draws them.

The draws are the calls ``model.numeric_pass.draw_arrays`` makes, in the
same order on a generator of the same seed, so the module's arrays are the
diagram's to the last bit; arrays the spec gives are written out exactly
(``repr`` of every float) after the draws, which keeps the others unchanged.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from bpdiagram.model.catalogue import DROPOUT
from bpdiagram.model.code.listing import INDENT, WIDTH, body_of
from bpdiagram.model.code.names import NetworkNames
from bpdiagram.model.numeric_pass import init_factor
from bpdiagram.spec.values import ValuesSpec


def write_example(net: NetworkNames) -> None:
    """``dropout_mask`` (when a layer has dropout), then ``example()`` returning params, X and Y."""
    m = net.m
    values: ValuesSpec = net.spec.numbers()
    sizes, batch = net.spec.sizes, values.batch
    if any(net.layer(layer).dropout is not None for layer in range(1, net.L + 1)):
        m.function("dropout_mask", ("rng", "shape", "keep"), "A dropout mask of 0/1 with P(1) = keep",
                   body_of("dropout (its mask)", DROPOUT.draw_code))
    m.add()
    m.add()
    m.add("def example():")
    m.add(f'"""The spec\'s numbers: params, {net.X} and {net.Y} (batch m = {batch}, seed {values.seed}, '
          'drawn as bpdiagram draws them)."""', depth=1, prose=True)
    m.add(f"rng = np.random.default_rng({values.seed})", depth=1)
    m.add(f"{net.X} = rng.standard_normal(({sizes[0]}, {batch}))", depth=1)
    m.add("params = {}", depth=1)
    for layer in range(1, net.L + 1):
        _draw_weights(net, values, layer)
    m.add(f"{net.Y} = {_target(net.spec.loss, sizes[-1], batch)}", depth=1)
    for layer in range(1, net.L + 1):
        _layer_ops(net, batch, layer)
    _given(net, values)
    m.add(f"return params, {net.X}, {net.Y}", depth=1)


def _draw_weights(net: NetworkNames, values: ValuesSpec, layer: int) -> None:
    """W and b of ``layer``: b is drawn even where it is dropped, so that the draws after it stay the same."""
    m, sizes = net.m, net.spec.sizes
    fan_in, n = sizes[layer - 1], sizes[layer]
    if values.init is None:
        m.add(f'params["W{layer}"] = rng.standard_normal(({n}, {fan_in})) / np.sqrt({fan_in})', depth=1)
    else:
        factor = init_factor(values, fan_in)  # written exactly, so the draw is bpdiagram's to the last bit
        m.add(f'params["W{layer}"] = rng.standard_normal(({n}, {fan_in})) * {factor!r}  # init: {values.init}',
              depth=1)
    if net.layer(layer).batchnorm:
        m.add(f"rng.standard_normal(({n}, 1))  # b's draw, dropped: a batch-norm layer has no bias", depth=1)
    elif values.init is None:
        m.add(f'params["b{layer}"] = 0.1 * rng.standard_normal(({n}, 1))', depth=1)
    else:
        m.add(f"rng.standard_normal(({n}, 1))  # b's draw, dropped: with an init, biases start at 0", depth=1)
        m.add(f'params["b{layer}"] = np.zeros(({n}, 1))', depth=1)


def _target(loss: str, n: int, batch: int) -> str:
    """The target's draw: labels 0/1 (bce), one-hot columns (ce), or normal numbers (mse, sse)."""
    if loss == "bce":
        return f"rng.integers(0, 2, size=({n}, {batch})).astype(np.float64)"
    if loss == "ce":
        return f"np.eye({n})[:, rng.integers(0, {n}, size={batch})]"
    return f"rng.standard_normal(({n}, {batch}))"


def _layer_ops(net: NetworkNames, batch: int, layer: int) -> None:
    """The dropout mask, γ and β of ``layer``, where it has them."""
    m, n = net.m, net.spec.sizes[layer]
    layer_spec = net.layer(layer)
    if layer_spec.dropout is not None:
        m.add(f'params["D{layer}"] = dropout_mask(rng, ({n}, {batch}), {layer_spec.dropout!r})', depth=1)
    if layer_spec.batchnorm:
        m.add(f'params["gamma{layer}"] = np.ones(({n}, 1))', depth=1)
        m.add(f'params["beta{layer}"] = np.zeros(({n}, 1))', depth=1)


def _given(net: NetworkNames, values: ValuesSpec) -> None:
    """The arrays the spec gives, written over the drawn ones (a batch-norm layer's b left out: it has none)."""
    given = {name: rows for name, rows in values.arrays.items()
             if not (name.startswith("b") and name[1:].isdigit() and net.layer(int(name[1:])).batchnorm)}
    if given:
        net.m.add("# given in the spec (drawn above all the same, so the other arrays stay as bpdiagram draws them)",
                  depth=1)
    for name, rows in given.items():
        target_name = {"X": net.X, "Y": net.Y}.get(name)
        left = target_name if target_name is not None else f'params["{name}"]'
        net.m.add(array_literal(left, rows), depth=1)


def array_literal(left: str, rows: Sequence[Sequence[float]]) -> str:
    """``left = np.array([[...], ...])``, wrapped to the line width, every float exact (``repr``)."""
    head = f"{left} = np.array(["
    parts: list[str] = []
    for row in rows:
        numbers = [repr(float(v)) for v in row]
        line = "[" + ", ".join(numbers) + "],"
        if len(INDENT * 2 + line) <= WIDTH:
            parts.append(line)
            continue
        wrapped = textwrap.wrap(", ".join(numbers), WIDTH - 12, break_on_hyphens=False)
        parts.append("[" + wrapped[0])
        parts += [INDENT + w for w in wrapped[1:-1]] + [INDENT + wrapped[-1] + "],"] if len(wrapped) > 1 else []
        if len(wrapped) == 1:
            parts[-1] += "],"
    return head + "\n" + "\n".join(INDENT + p for p in parts) + "\n])"
