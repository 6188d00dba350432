"""Narrowing for the type checker: a loaded spec is a network or an expression, and a test knows which."""

from __future__ import annotations

from bpdiagram.spec import ExpressionSpec, NetworkSpec, Spec


def as_network(spec: Spec) -> NetworkSpec:
    """``spec``, which the test expects to be a network (fails the test otherwise)."""
    assert isinstance(spec, NetworkSpec), f"expected a network spec, got {type(spec).__name__}"
    return spec


def as_expression(spec: Spec) -> ExpressionSpec:
    """``spec``, which the test expects to be an expression (fails the test otherwise)."""
    assert isinstance(spec, ExpressionSpec), f"expected an expression spec, got {type(spec).__name__}"
    return spec
