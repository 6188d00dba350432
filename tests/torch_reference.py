"""The oracle for converted models: the model itself, run by torch, its gradients from ``loss.backward()``.

Nothing here comes from bpdiagram. Each loss is written with torch's own
functions (``binary_cross_entropy_with_logits``, ``cross_entropy``, ...) as
the docs page says the diagram's loss reads in torch; the only thing taken
from the converted spec is the dropout masks (which units a training step
drops is an input, not math), replayed by a forward hook on each Dropout.
Import it after ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

HIDDEN: list[type[nn.Module] | None] = [nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, None]
"""Hidden activations a random model draws from (None: no activation, a linear layer)."""


@dataclass
class Model:
    """A model with what the test needs to compare it: each spec name's tensor, its loss and batch."""

    net: nn.Sequential
    loss: str
    x: torch.Tensor
    target: torch.Tensor
    logits: bool
    """The model ends in its linear step; the loss applies the sigmoid (bce) or softmax (ce)."""
    params: dict[str, torch.Tensor] = field(default_factory=dict)
    """W1, b1, gamma1, ... → the model's parameter the diagram draws under that name."""
    cancelled: list[torch.Tensor] = field(default_factory=list)
    """Biases batch norm takes away (the diagram has none; torch's gradient is zero)."""
    dropouts: dict[int, nn.Dropout] = field(default_factory=dict)
    """Layer number → its Dropout module."""


def random_dense(seed: int) -> Model:
    """A random dense nn.Sequential in float64 with a loss, a batch and a target."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    loss = rng.choice(["bce", "ce", "mse"])
    n_prev = rng.randint(1, 4)
    modules: list[nn.Module] = []
    model = Model(nn.Sequential(), loss, torch.empty(0), torch.empty(0), logits=False)
    hidden = rng.randint(0, 3)
    for number in range(1, hidden + 2):
        last = number == hidden + 1
        n = {"bce": rng.randint(1, 2), "ce": rng.randint(2, 4), "mse": rng.randint(1, 3)}[loss] if last \
            else rng.randint(1, 5)
        batchnorm = rng.random() < 0.3
        linear = nn.Linear(n_prev, n, bias=not batchnorm or rng.random() < 0.5)
        modules.append(linear)
        model.params[f"W{number}"] = linear.weight
        if batchnorm:
            norm = nn.BatchNorm1d(n)
            with torch.no_grad():
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.normal_()
            modules.append(norm)
            model.params[f"gamma{number}"], model.params[f"beta{number}"] = norm.weight, norm.bias
            if linear.bias is not None:
                model.cancelled.append(linear.bias)
        elif linear.bias is not None:
            model.params[f"b{number}"] = linear.bias
        activation = _activation(rng, loss) if last else rng.choice(HIDDEN)
        if activation is not None:
            modules.append(activation(dim=1) if activation in (nn.Softmax, nn.LogSoftmax) else activation())
        model.logits = last and activation is None and loss != "mse"
        if not last and rng.random() < 0.3:
            dropout = nn.Dropout(rng.choice([0.2, 0.5]))
            modules.append(dropout)
            model.dropouts[number] = dropout
        n_prev = n
    model.net = nn.Sequential(*modules).double()
    model.net.train()
    m = rng.randint(2, 5)
    model.x = torch.randn(m, modules[0].in_features if isinstance(modules[0], nn.Linear) else 1,
                          dtype=torch.float64)
    model.target = _target(loss, m, n_prev)
    return model


def _activation(rng: random.Random, loss: str) -> type[nn.Module] | None:
    """The output's activation: the loss's own or none (logits); any for mse."""
    if loss == "bce":
        return rng.choice([nn.Sigmoid, None])
    if loss == "ce":
        return rng.choice([nn.Softmax, nn.LogSoftmax, None])
    return rng.choice(HIDDEN)


def _target(loss: str, m: int, outputs: int) -> torch.Tensor:
    if loss == "bce":
        return torch.randint(0, 2, (m, outputs)).double()
    if loss == "ce":
        return torch.randint(0, outputs, (m,))
    return torch.randn(m, outputs, dtype=torch.float64)


def torch_loss(model: Model, out: torch.Tensor) -> torch.Tensor:
    """The diagram's J written with torch's own losses (the docs page's table)."""
    m = out.shape[0]
    y = model.target
    if model.loss == "bce":
        total = F.binary_cross_entropy_with_logits(out, y, reduction="sum") if model.logits else \
            F.binary_cross_entropy(out, y, reduction="sum")
        return total / m
    if model.loss == "ce":
        if model.logits:
            return F.cross_entropy(out, y)
        log_softmax = isinstance(list(model.net)[-1], nn.LogSoftmax)
        return F.nll_loss(out if log_softmax else out.log(), y)
    return F.mse_loss(out, y, reduction="sum") / (2 * m)


def autograd(model: Model, spec: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """J and every parameter's gradient, by ``loss.backward()`` on the model itself (its masks replayed)."""
    hooks = []
    for number, dropout in model.dropouts.items():
        mask = torch.tensor(spec["values"][f"D{number}"], dtype=torch.float64).T
        keep = 1 - dropout.p
        hooks.append(dropout.register_forward_hook(lambda _, inputs, __, mask=mask, keep=keep: inputs[0] * mask / keep))
    model.net.zero_grad()
    try:
        loss = torch_loss(model, model.net(model.x))
    finally:
        for hook in hooks:
            hook.remove()
    torch.autograd.backward(loss)
    grads = {}
    for name, tensor in model.params.items():
        assert tensor.grad is not None, name
        grads[name] = tensor.grad.detach().reshape(-1, 1) if name[0] in "bg" else tensor.grad.detach()
    for bias in model.cancelled:
        assert bias.grad is not None and float(bias.grad.abs().max()) < 1e-12  # batch norm takes it away
    return float(loss.detach()), {name: g.tolist() for name, g in grads.items()}


def check_json(output: str) -> tuple[float, dict[str, Any]]:
    """J and the analytic gradients ``bpdiagram check --json`` printed."""
    report = json.loads(output)
    return report["loss"], {g["name"]: g["analytic"] for g in report["gradients"]}
