"""The function pairs of a network's module: one forward/backward pair per op the diagram draws.

Each pair's bodies are the ``Code`` of its catalogue entry and its docstring
the entry's formula, so the module computes what the diagram draws. Only the
functions the network uses are written: a backward function only when some
layer at or above ``backprop_to`` needs it.
"""

from __future__ import annotations

from bpdiagram.model.catalogue import (
    ACTIVATION_OPS,
    BATCHNORM,
    DROPOUT,
    L2,
    LINEAR,
    PREVIOUS_GRADIENT,
    RESIDUAL,
    fill,
)
from bpdiagram.model.code.listing import assign, body_of, code_of, generic
from bpdiagram.model.code.names import NetworkNames


def write_functions(net: NetworkNames) -> None:
    """Every function pair the network's ``forward`` and ``backward`` call, op by op."""
    net.m.add()
    net.m.add("# -- the gates: one forward/backward pair per op of the diagram, from bpdiagram's catalogue --")
    _linear(net)
    _batchnorm(net)
    _residual(net)
    _activations(net)
    _dropout(net)
    _l2(net)
    _loss(net)


def _batchnorm_layers(net: NetworkNames) -> list[int]:
    return [layer for layer in range(1, net.L + 1) if net.layer(layer).batchnorm]


def _linear(net: NetworkNames) -> None:
    """The linear step: with a bias, without one (a batch-norm layer), and the gradient handed down."""
    m, L, k = net.m, net.L, net.k
    reached = range(k, L + 1)
    bn = _batchnorm_layers(net)
    linear = code_of("linear step", LINEAR.code)
    if len(bn) < L:
        m.function("affine_forward", ("W", "A_prev", "b"), "The linear step, " + generic(LINEAR.forward),
                   linear.forward)
    dw, db = (generic(t.format(scale="scale · ")) for t in (LINEAR.weight_gradient, LINEAR.bias_gradient))
    if any(layer not in bn for layer in reached):
        m.function("affine_backward", ("dZ", "A_prev", "scale"), f"{dw}, {db}", "", linear.backward[:2])
    if bn:
        m.function("weight_forward", ("W", "A_prev"), "The linear step of a batch-norm layer (no bias), "
                   + generic(BATCHNORM.linear), body_of("batch norm", BATCHNORM.linear_code))
        if any(layer in bn for layer in reached):
            m.function("weight_backward", ("dZ", "A_prev", "scale"), dw, "", linear.backward[:1])
    if k < L:
        m.function("affine_backward_input", ("W", "dZ"), generic(PREVIOUS_GRADIENT), "", linear.backward[2:])


def _batchnorm(net: NetworkNames) -> None:
    bn = _batchnorm_layers(net)
    if not bn:
        return
    code = code_of("batch norm", BATCHNORM.code)
    steps = "; ".join(generic(line) for line in BATCHNORM.forward.split("\n"))
    net.m.function("batchnorm_forward", ("Z", "gamma", "beta"), f"Batch norm over the batch: {steps}", code.forward)
    if any(layer >= net.k for layer in bn):
        rules = [BATCHNORM.gamma_gradient.format(scale="scale · "),
                 BATCHNORM.beta_gradient.format(scale="scale · "), BATCHNORM.derivative]
        net.m.function("batchnorm_backward", ("dZbn", "Znorm", "var", "gamma", "scale"),
                       "; ".join(generic(rule) for rule in rules),
                       assign(("dgamma", "dbeta", "dZ"), code.backward), ("dgamma", "dbeta", "dZ"))


def _residual(net: NetworkNames) -> None:
    if not net.sources():
        return
    code = code_of("residual", RESIDUAL.code)
    net.m.function("residual_forward", ("Z", "A_skip"), "A skip connection: g's argument " +
                   generic(fill(RESIDUAL.argument, base="$Z", skip="A[k]")), code.forward)
    if any(source >= net.k for source in net.sources()):
        net.m.function("residual_backward", ("dZ",), "The skip's gradient, added to dA[k]: "
                       + generic(fill(RESIDUAL.sum, skip_grad="dA[k]", grad="$dZ")), "", code.backward)


def _activations(net: NetworkNames) -> None:
    """Each activation's forward, and the backward rule each layer's dZ takes (written once per name)."""
    m = net.m
    seen: set[str] = set()

    def once(name: str) -> bool:
        if name in seen:
            return False
        seen.add(name)
        return True

    for layer in range(1, net.L + 1):
        name = net.layer(layer).activation
        act = ACTIVATION_OPS[name]
        code = code_of(name, act.code)
        if once(f"{name}_forward"):
            m.function(f"{name}_forward", ("Z",), generic(act.forward), code.forward)
        if layer < net.k:
            continue
        form = net.form(layer)
        if form == "plain" and once(f"{name}_backward"):
            m.function(f"{name}_backward", ("dA", *act.uses), generic(act.derivative), "", code.backward)
        if form == "output" and once(f"{name}_backward_from_output"):
            m.function(f"{name}_backward_from_output", ("dA", "A"),
                       f"{generic(act.output_derivative or '')} (g′ read from g's output)", "",
                       (body_of(f"{name} (from its output)", act.output_code),))
        if form == "dropout" and act.slope and once(f"{name}_slope"):
            m.function(f"{name}_slope", ("Z",), f"g′ of {name} from its argument: {generic(act.slope)}",
                       body_of(f"{name} (its slope)", act.slope_code))


def _dropout(net: NetworkNames) -> None:
    dropout = [layer for layer in range(1, net.L + 1) if net.layer(layer).dropout is not None]
    if not dropout:
        return
    code = code_of("dropout", DROPOUT.code)
    net.m.function("dropout_forward", ("G", "D", "keep"), "Inverted dropout of g's output G, "
                   + generic(fill(DROPOUT.forward, g="G", keep="keep")), code.forward)
    if any(layer >= net.k for layer in dropout):
        net.m.function("dropout_backward", ("dA", "D", "keep"), "The mask and 1/keep reapplied, "
                       + generic(fill(DROPOUT.derivative, keep="keep", slope="")) + " (before g′)", "",
                       code.backward)


def _l2(net: NetworkNames) -> None:
    if net.spec.l2 is None:
        return
    code = code_of("L2", L2.code)
    averaged = net.loss.scale_label != ""
    net.m.function("l2_forward", ("Ws", "lambd", "scale"),
                   "The L2 penalty added to J, " + generic(L2.penalty[averaged]).replace("λ", "lambd"), code.forward)
    net.m.function("l2_backward", ("W", "lambd", "scale"),
                   "The L2 term added to dW, " + generic(L2.weight_gradient[averaged]).replace("λ", "lambd"),
                   "", code.backward)


def _loss(net: NetworkNames) -> None:
    """The loss, and dA[L] from it, or the fused rule giving dZ[L] straight from A[L] and Y."""
    spec = net.spec
    loss = code_of(spec.loss, net.loss.code)
    net.m.function(f"{spec.loss}_forward", ("A", "Y"), generic(net.loss.forward), loss.forward)
    if net.fused is None:
        net.m.function(f"{spec.loss}_backward", ("A", "Y"), generic(net.loss.derivative), "", loss.backward)
        return
    out = spec.layers[-1].activation
    fused = code_of(f"{out} + {spec.loss}", net.fused.code)
    net.m.function(f"{out}_{spec.loss}_backward", ("A", "Y"),
                   f"{generic(net.fused.derivative)} ({out} and {spec.loss} differentiated together)", "",
                   fused.backward)
