"""An independent scalar reverse-mode autodiff (micrograd-style), for checking bpdiagram's numbers.

It shares no code with bpdiagram: each ``Value`` records its parents and local
derivatives, and ``backward`` walks the graph in reverse topological order.
"""

from __future__ import annotations

import math


class Value:
    def __init__(self, data: float, parents: tuple[tuple[Value, float], ...] = ()) -> None:
        self.data = data
        self.grad = 0.0
        self.parents = parents

    def __add__(self, other: Value | float) -> Value:
        o = other if isinstance(other, Value) else Value(other)
        return Value(self.data + o.data, ((self, 1.0), (o, 1.0)))

    __radd__ = __add__

    def __mul__(self, other: Value | float) -> Value:
        o = other if isinstance(other, Value) else Value(other)
        return Value(self.data * o.data, ((self, o.data), (o, self.data)))

    __rmul__ = __mul__

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __rsub__(self, other: float) -> Value:
        return Value(other) - self

    def __pow__(self, k: float) -> Value:
        return Value(self.data**k, ((self, k * self.data ** (k - 1)),))

    def __truediv__(self, other: Value | float) -> Value:
        o = other if isinstance(other, Value) else Value(other)
        return self * o**-1.0

    def __rtruediv__(self, other: float) -> Value:
        return Value(other) * self**-1.0

    def exp(self) -> Value:
        e = math.exp(self.data)
        return Value(e, ((self, e),))

    def log(self) -> Value:
        return Value(math.log(self.data), ((self, 1.0 / self.data),))

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return Value(t, ((self, 1 - t * t),))

    def sigmoid(self) -> Value:
        s = 1.0 / (1.0 + math.exp(-self.data))
        return Value(s, ((self, s * (1 - s)),))

    def relu(self) -> Value:
        return Value(max(0.0, self.data), ((self, 1.0 if self.data > 0 else 0.0),))

    def backward(self) -> None:
        order: list[Value] = []
        seen: set[int] = set()

        def visit(v: Value) -> None:
            if id(v) not in seen:
                seen.add(id(v))
                for parent, _ in v.parents:
                    visit(parent)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            for parent, local in v.parents:
                parent.grad += local * v.grad


def vmax(a: Value, b: Value) -> Value:
    return Value(max(a.data, b.data), ((a, 1.0 if a.data >= b.data else 0.0), (b, 0.0 if a.data >= b.data else 1.0)))


def vmin(a: Value, b: Value) -> Value:
    return Value(min(a.data, b.data), ((a, 1.0 if a.data <= b.data else 0.0), (b, 0.0 if a.data <= b.data else 1.0)))
