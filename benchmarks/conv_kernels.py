"""How the catalogue's convolution (window view + tensordot) compares with a direct loop over output positions.

Run: ``.venv/bin/python benchmarks/conv_kernels.py``. Prints, for a few sizes
from a lecture's tiny CNN to a small real layer, the time of the forward pass
and of the three backward rules (dW, db, dA[l−1]) both ways, and checks that
the two agree. The direct loop is the textbook one: for every output position
y, x, the window times every filter, and the scatter of dZ back into dA.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bpdiagram.model.catalogue import conv as ops

SIZES = [  # (m, C, H, F, k, stride, padding)
    (2, 1, 6, 2, 3, 1, 0),      # the tiny-cnn template
    (8, 3, 16, 8, 3, 1, 1),
    (16, 3, 32, 16, 3, 1, 1),   # a CIFAR-sized first layer
    (16, 16, 17, 32, 3, 2, 1),
]


def direct_forward(w: np.ndarray, a: np.ndarray, b: np.ndarray, s: int, p: int) -> np.ndarray:
    a = ops.pad(a, p)
    m, _, h, wd = a.shape
    f, _, k, _ = w.shape
    ho, wo = (h - k) // s + 1, (wd - k) // s + 1
    z = np.zeros((m, f, ho, wo))
    for y in range(ho):
        for x in range(wo):
            window = a[:, :, y * s:y * s + k, x * s:x * s + k]
            z[:, :, y, x] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    return z + b.reshape(1, -1, 1, 1)


def direct_backward(w: np.ndarray, a: np.ndarray, dz: np.ndarray, s: int, p: int) -> tuple[np.ndarray, ...]:
    ap = ops.pad(a, p)
    k = w.shape[2]
    dw, dap = np.zeros_like(w), np.zeros_like(ap)
    for y in range(dz.shape[2]):
        for x in range(dz.shape[3]):
            window = ap[:, :, y * s:y * s + k, x * s:x * s + k]
            dw += np.tensordot(dz[:, :, y, x], window, axes=([0], [0]))
            dap[:, :, y * s:y * s + k, x * s:x * s + k] += np.tensordot(dz[:, :, y, x], w, axes=([1], [0]))
    h, wd = a.shape[2], a.shape[3]
    return dw, dz.sum(axis=(0, 2, 3)), dap[:, :, p:p + h, p:p + wd]


def best(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def row(rng: np.random.Generator, m: int, c: int, h: int, f: int, k: int, s: int, p: int) -> str:
    """One size: both ways agree, then the best of five runs of each."""
    a, w, b = rng.standard_normal((m, c, h, h)), rng.standard_normal((f, c, k, k)), rng.standard_normal(f)
    z = ops.conv_forward(w, a, b, s, p)
    dz = rng.standard_normal(z.shape)
    assert np.allclose(z, direct_forward(w, a, b, s, p))

    def ours() -> tuple[np.ndarray, ...]:
        return ops.conv_dW(dz, a, k, s, p, 1.0), ops.conv_db(dz, 1.0), ops.conv_dA_prev(w, dz, s, p)

    assert all(np.allclose(x, y) for x, y in zip(ours(), direct_backward(w, a, dz, s, p), strict=True))
    fw = best(lambda: ops.conv_forward(w, a, b, s, p))
    fl = best(lambda: direct_forward(w, a, b, s, p))
    bw = best(ours)
    bl = best(lambda: direct_backward(w, a, dz, s, p))
    label = f"{m}×{c}×{h}×{h}, {f} {k}×{k} /{s} +{p}"
    return (f"{label:>26}  {fw * 1e3:8.3f} / {fl * 1e3:8.3f} ms  {bw * 1e3:8.3f} / {bl * 1e3:8.3f} ms"
            f"  (×{fl / fw:.1f}, ×{bl / bw:.1f})")


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'m×C×H×H, F k×k /s +p':>26}  {'forward: window / loop':>24}  {'backward: window / loop':>25}")
    for size in SIZES:
        print(row(rng, *size))


if __name__ == "__main__":
    main()
