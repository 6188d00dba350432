"""A small PyTorch classifier to draw with bpdiagram (docs/how-to/draw-your-own-model.md).

`bpdiagram from-torch mlp.py:model` reads `model`; `mlp.py:build` calls `build()`.
"""

import torch
from torch import nn

torch.manual_seed(0)  # the same weights on every run, so the drawn numbers are reproducible

model = nn.Sequential(
    nn.Linear(2, 4),
    nn.Tanh(),
    nn.Linear(4, 1),
    nn.Sigmoid(),
)


def build(hidden: int = 3) -> nn.Sequential:
    """A batch-normalised ReLU network with dropout, ending in logits (for loss ce: 3 classes)."""
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Linear(4, hidden, bias=False),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Dropout(0.25),
        nn.Linear(hidden, 3),
    )
