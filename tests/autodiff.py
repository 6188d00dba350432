"""An independent oracle: scalar reverse-mode automatic differentiation, micrograd style.

Nothing here comes from bpdiagram. Only the primitives know a derivative
(+, ×, ÷, exp, log, max(0, ·), and a fixed-slope leak); every activation and
loss is built from them as written in INTERFACE's tables, so the chain rule,
not a hand-written derivative, gives each gradient. The network is run
entry by entry with Python floats: slow, obvious and separate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

Matrix = list[list["Value"]]


class Value:
    """A scalar that remembers how it was computed, and d(it)/d(each input) once ``backward`` ran."""

    __slots__ = ("data", "grad", "parents")

    def __init__(self, data: float, parents: tuple[tuple[Value, float], ...] = ()) -> None:
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents
        """Each input with the local derivative ∂self/∂input."""

    @staticmethod
    def of(x: Value | float) -> Value:
        return x if isinstance(x, Value) else Value(x)

    def __add__(self, other: Value | float) -> Value:
        o = Value.of(other)
        return Value(self.data + o.data, ((self, 1.0), (o, 1.0)))

    __radd__ = __add__

    def __mul__(self, other: Value | float) -> Value:
        o = Value.of(other)
        return Value(self.data * o.data, ((self, o.data), (o, self.data)))

    __rmul__ = __mul__

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        return self + (-Value.of(other))

    def __rsub__(self, other: Value | float) -> Value:
        return Value.of(other) + (-self)

    def __truediv__(self, other: Value | float) -> Value:
        o = Value.of(other)
        return Value(self.data / o.data, ((self, 1.0 / o.data), (o, -self.data / o.data**2)))

    def __rtruediv__(self, other: Value | float) -> Value:
        return Value.of(other) / self

    def exp(self) -> Value:
        e = math.exp(self.data)
        return Value(e, ((self, e),))

    def log(self) -> Value:
        return Value(math.log(self.data), ((self, 1.0 / self.data),))

    def sqrt(self) -> Value:
        r = math.sqrt(self.data)
        return Value(r, ((self, 0.5 / r),))

    def relu(self) -> Value:
        return Value(max(0.0, self.data), ((self, 1.0 if self.data > 0 else 0.0),))

    def leak(self, slope: float) -> Value:
        """max(slope·x, x) for 0 < slope < 1."""
        return Value(self.data if self.data > 0 else slope * self.data, ((self, 1.0 if self.data > 0 else slope),))

    def backward(self) -> None:
        """Fill ``grad`` of every value this one depends on with ∂self/∂value."""
        order: list[Value] = []
        seen: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:  # iterative post-order: deep graphs must not hit the recursion limit
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p, _ in node.parents)
        self.grad = 1.0
        for node in reversed(order):
            for parent, local in node.parents:
                parent.grad += local * node.grad


def sigmoid(z: Value) -> Value:
    return 1.0 / (1.0 + (-z).exp())


def tanh(z: Value) -> Value:
    e = (2.0 * z).exp()
    return (e - 1.0) / (e + 1.0)


ELEMENTWISE: dict[str, Callable[[Value], Value]] = {
    "linear": lambda z: z,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": Value.relu,
    "leaky_relu": lambda z: z.leak(0.01),
}


def softmax_columns(z: Matrix) -> Matrix:
    rows, cols = len(z), len(z[0])
    out: Matrix = [[Value(0.0)] * cols for _ in range(rows)]
    for j in range(cols):
        exps = [z[i][j].exp() for i in range(rows)]
        total = sum(exps, Value(0.0))
        for i in range(rows):
            out[i][j] = exps[i] / total
    return out


def loss(name: str, a: Matrix, y: Sequence[Sequence[float]]) -> Value:
    """J as INTERFACE §2 writes it, m examples."""
    m = len(a[0])
    pairs = [(a[i][j], y[i][j]) for i in range(len(a)) for j in range(m)]
    if name == "bce":
        return -(1.0 / m) * sum((yy * aa.log() + (1.0 - yy) * (1.0 - aa).log() for aa, yy in pairs), Value(0.0))
    if name == "ce":
        return -(1.0 / m) * sum((yy * aa.log() for aa, yy in pairs), Value(0.0))
    if name == "mse":
        return (1.0 / (2 * m)) * sum(((aa - yy) * (aa - yy) for aa, yy in pairs), Value(0.0))
    if name == "sse":
        return sum(((aa - yy) * (aa - yy) for aa, yy in pairs), Value(0.0))
    raise ValueError(name)


def network_gradients(x: list[list[float]], y: list[list[float]], weights: list[list[list[float]]],
                      biases: list[list[list[float]]], activations: list[str], loss_name: str
                      ) -> tuple[float, list[list[list[float]]], list[list[list[float]]]]:
    """J, dJ/dW[l] and dJ/db[l] of the network, by reverse-mode autodiff."""
    j, dw, db, _ = network_gradients_with_z(x, y, weights, biases, activations, loss_name)
    return j, dw, db


def network_gradients_with_z(x: list[list[float]], y: list[list[float]], weights: list[list[list[float]]],
                             biases: list[list[list[float]]], activations: list[str], loss_name: str
                             ) -> tuple[float, list[list[list[float]]], list[list[list[float]]],
                                        list[list[list[float]]]]:
    """J, dJ/dW[l], dJ/db[l] and dJ/dZ[l] of the network, by reverse-mode autodiff."""
    w_vals = [[[Value(v) for v in row] for row in w] for w in weights]
    b_vals = [[[Value(v) for v in row] for row in b] for b in biases]
    a: Matrix = [[Value(v) for v in row] for row in x]
    m = len(x[0])
    zs: list[Matrix] = []
    for w, b, act in zip(w_vals, b_vals, activations, strict=True):
        z = [[sum((w[i][k] * a[k][j] for k in range(len(a))), b[i][0]) for j in range(m)] for i in range(len(w))]
        zs.append(z)
        a = softmax_columns(z) if act == "softmax" else [[ELEMENTWISE[act](v) for v in row] for row in z]
    j = loss(loss_name, a, y)
    j.backward()
    dw = [[[v.grad for v in row] for row in w] for w in w_vals]
    db = [[[v.grad for v in row] for row in b] for b in b_vals]
    dz = [[[v.grad for v in row] for row in z] for z in zs]
    return j.data, dw, db, dz


def batch_norm(z: Matrix, gamma: list[Value], beta: list[Value], eps: float = 1e-5) -> Matrix:
    """γ ⊙ (Z − μ)/√(σ² + ε) + β, each row over its m examples: μ the mean, σ² the biased variance."""
    out: Matrix = []
    for row, g, b in zip(z, gamma, beta, strict=True):
        m = len(row)
        mu = sum(row, Value(0.0)) * (1.0 / m)
        var = sum(((v - mu) * (v - mu) for v in row), Value(0.0)) * (1.0 / m)
        root = (var + eps).sqrt()
        out.append([g * ((v - mu) / root) + b for v in row])
    return out


def course_network_gradients(x: list[list[float]], y: list[list[float]], layers: list[dict[str, Any]],
                             loss_name: str, l2: float | None = None) -> tuple[float, dict[str, list[list[float]]]]:
    """J and dJ/d(every parameter) of a network with INTERFACE §11's extras, by reverse-mode autodiff.

    Each entry of ``layers`` holds ``W``, ``activation`` and either ``b`` or ``gamma`` and ``beta``
    (batch norm), and may hold ``D`` and ``keep`` (inverted dropout: A = D ⊙ g(·) / keep) and
    ``residual: k`` (A[k] added to g's argument, after layer k's mask). ``l2`` adds
    (λ/2m) Σ‖W‖² to J ((λ/2) Σ‖W‖² with sse). The gradients are keyed ``W1``, ``b1``, ``gamma2``, …
    """
    params: dict[str, Matrix] = {}
    a: Matrix = [[Value(v) for v in row] for row in x]
    outputs: list[Matrix] = [a]
    m = len(x[0])
    for k, layer in enumerate(layers, start=1):
        w = params[f"W{k}"] = [[Value(v) for v in row] for row in layer["W"]]
        z = [[sum((w[i][n] * a[n][j] for n in range(len(a))), Value(0.0)) for j in range(m)] for i in range(len(w))]
        if "gamma" in layer:
            gamma = params[f"gamma{k}"] = [[Value(v) for v in row] for row in layer["gamma"]]
            beta = params[f"beta{k}"] = [[Value(v) for v in row] for row in layer["beta"]]
            z = batch_norm(z, [r[0] for r in gamma], [r[0] for r in beta])
        else:
            b = params[f"b{k}"] = [[Value(v) for v in row] for row in layer["b"]]
            z = [[v + b[i][0] for v in row] for i, row in enumerate(z)]
        if layer.get("residual") is not None:
            skip = outputs[layer["residual"]]
            z = [[v + s for v, s in zip(row, srow, strict=True)] for row, srow in zip(z, skip, strict=True)]
        act = layer["activation"]
        a = softmax_columns(z) if act == "softmax" else [[ELEMENTWISE[act](v) for v in row] for row in z]
        if layer.get("D") is not None:
            keep, mask = layer["keep"], layer["D"]
            a = [[v * (d / keep) for v, d in zip(row, drow, strict=True)] for row, drow in zip(a, mask, strict=True)]
        outputs.append(a)
    j = loss(loss_name, a, y)
    if l2:
        factor = l2 / 2 if loss_name == "sse" else l2 / (2 * m)
        squares = sum((v * v for k in range(1, len(layers) + 1) for row in params[f"W{k}"] for v in row), Value(0.0))
        j = j + factor * squares
    j.backward()
    return j.data, {name: [[v.grad for v in row] for row in matrix] for name, matrix in params.items()}


def vmax(a: Value, b: Value) -> Value:
    """max(a, b) built from the primitives: relu(a − b) + b."""
    return (a - b).relu() + b


def vmin(a: Value, b: Value) -> Value:
    """min(a, b) built from the primitives: a − relu(a − b)."""
    return a - (a - b).relu()


def cnn_gradients(x: list[Any], y: list[list[float]], layers: list[dict[str, Any]],
                  loss_name: str) -> tuple[float, dict[str, Any]]:
    """J and dJ/d(every parameter) of a small CNN, entry by entry, by reverse-mode autodiff.

    ``x`` is [m][C][H][W]. Each layer is a dict with ``type``: ``conv`` (``W`` [F][C][k][k], ``b`` [F],
    ``stride``, ``padding``, ``activation``), ``maxpool`` / ``avgpool`` (``kernel``, ``stride``), ``flatten``
    (channel, then row, then column, into the rows of a column per example) or ``dense`` (``W`` (n, n_prev),
    ``b`` (n, 1), ``activation``). Convolution is written as the textbook sum over each window
    (cross-correlation); max is built from ``vmax`` (relu of a difference), so no pooling rule is borrowed.
    The gradients are keyed ``W1``, ``b1``, … by the layer's place in the list, shaped like the parameters.
    """
    maps: list[Any] = [[[[Value(v) for v in row] for row in ch] for ch in ex] for ex in x]  # [m][C][H][W]
    cols: Matrix | None = None
    params: dict[str, Any] = {}
    m = len(x)
    for k, layer in enumerate(layers, start=1):
        kind = layer["type"]
        if kind == "conv":
            w = params[f"W{k}"] = [[[[Value(v) for v in row] for row in ch] for ch in f] for f in layer["W"]]
            b = params[f"b{k}"] = [Value(v) for v in layer["b"]]
            maps = [_conv(ex, w, b, layer["stride"], layer["padding"], ELEMENTWISE[layer["activation"]])
                    for ex in maps]
        elif kind in ("maxpool", "avgpool"):
            maps = [[_pool(ch, layer["kernel"], layer["stride"], kind) for ch in ex] for ex in maps]
        elif kind == "flatten":
            flat = [[v for ch in ex for row in ch for v in row] for ex in maps]
            cols = [[flat[j][i] for j in range(m)] for i in range(len(flat[0]))]
        else:
            assert cols is not None
            w2 = params[f"W{k}"] = [[Value(v) for v in row] for row in layer["W"]]
            b2 = params[f"b{k}"] = [[Value(v) for v in row] for row in layer["b"]]
            z = [[sum((w2[i][n] * cols[n][j] for n in range(len(cols))), b2[i][0]) for j in range(m)]
                 for i in range(len(w2))]
            act_name = layer["activation"]
            cols = softmax_columns(z) if act_name == "softmax" else [[ELEMENTWISE[act_name](v) for v in row]
                                                                      for row in z]
    assert cols is not None
    j = loss(loss_name, cols, y)
    j.backward()

    def grads(t: Any) -> Any:
        return t.grad if isinstance(t, Value) else [grads(u) for u in t]

    return j.data, {name: grads(t) for name, t in params.items()}


def _conv(ex: list[Any], w: list[Any], b: list[Value], s: int, p: int, act: Callable[[Value], Value]) -> list[Any]:
    """g(Σ_c Σ_ij W[f][c][i][j] · X[c][y·s + i − p][x·s + j − p] + b[f]) of one example, zeros outside the map."""
    c, h, wd, kk = len(ex), len(ex[0]), len(ex[0][0]), len(w[0][0])

    def at(ch: int, i: int, j: int) -> Value | float:
        i, j = i - p, j - p
        return ex[ch][i][j] if 0 <= i < h and 0 <= j < wd else 0.0

    ho, wo = (h + 2 * p - kk) // s + 1, (wd + 2 * p - kk) // s + 1
    return [[[act(sum((w[f][ch][di][dj] * at(ch, y0 * s + di, x0 * s + dj)
                       for ch in range(c) for di in range(kk) for dj in range(kk)), b[f]))
              for x0 in range(wo)] for y0 in range(ho)] for f in range(len(w))]


def _pool(ch: list[list[Value]], kk: int, s: int, kind: str) -> list[list[Value]]:
    """One map pooled: the max of each window (``vmax`` chained) or its mean."""
    ho, wo = (len(ch) - kk) // s + 1, (len(ch[0]) - kk) // s + 1
    rows = []
    for y0 in range(ho):
        row = []
        for x0 in range(wo):
            window = [ch[y0 * s + di][x0 * s + dj] for di in range(kk) for dj in range(kk)]
            if kind == "maxpool":
                best = window[0]
                for v in window[1:]:
                    best = vmax(best, v)
                row.append(best)
            else:
                row.append(sum(window, Value(0.0)) * (1.0 / (kk * kk)))
        rows.append(row)
    return rows
