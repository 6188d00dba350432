"""Convolutional nn.Sequentials: Conv2d, MaxPool2d, AvgPool2d and Flatten become the spec's conv layers.

The layer mappings are tested as plain data; the gradients are compared with
the model's own autograd (as for dense models in ``test_torch.py``) once the
spec loader draws convolutions: until then those tests are skipped with the
reason "needs conv layers", and only when the loader refuses the conv keys
themselves (any other refusal fails the test).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import bpdiagram
from bpdiagram.cli import cli
from bpdiagram.errors import SpecError
from bpdiagram.spec import load_spec

torch = pytest.importorskip("torch", reason="needs PyTorch (pip install 'bpdiagram[torch]'; make test installs it)")
from torch import Tensor, nn  # noqa: E402

from tests.torch_reference import check_json  # noqa: E402

TINY_CNN = {"input": {"name": "X", "shape": [1, 6, 6]},
            "layers": [{"type": "conv", "filters": 2, "kernel": 3, "stride": 1, "padding": 0, "activation": "relu"},
                       {"type": "maxpool", "kernel": 2, "stride": 2}, {"type": "flatten"},
                       {"size": 1, "activation": "sigmoid"}],
            "loss": "bce"}
CONV_KEYS = {"input", "input.shape", *(f"layers[{i}]{key}" for i in range(1, 5) for key in ("", ".type"))}
"""Where a loader without convolutions refuses the spec above: the input's shape or a layer's type."""


def _conv_refused() -> str | None:
    """The loader's refusal of ``type: conv`` (None when it draws convolutions)."""
    try:
        load_spec(TINY_CNN)
    except SpecError as exc:
        if exc.key in CONV_KEYS:
            return str(exc)
        raise
    return None


REFUSED = _conv_refused()
needs_conv = pytest.mark.skipif(REFUSED is not None, reason=f"needs conv layers ({REFUSED})")


def convert(net: nn.Sequential, x: Any, **options: Any) -> dict[str, Any]:
    """The spec ``bpdiagram.from_torch`` makes, without loading it (the conv layers may not load yet)."""
    from bpdiagram.pytorch.convert import convert as to_spec

    return to_spec(net, input=x, name="model", file="from_torch", **{"target": None, "weights": False, **options})


def tiny_cnn(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 1),
                         nn.Sigmoid()).double()


def test_conv_pool_and_flatten_map_to_the_conv_layers() -> None:
    assert convert(tiny_cnn(), torch.zeros(4, 1, 6, 6), loss="bce") == TINY_CNN


@pytest.mark.parametrize(("module", "layer", "shape"), [
    (nn.Conv2d(3, 4, 4, stride=2, padding=1), {"type": "conv", "filters": 4, "kernel": 4, "stride": 2, "padding": 1,
                                               "activation": "linear"}, (4, 4, 4)),
    (nn.Conv2d(3, 4, (3, 3), padding="same"), {"type": "conv", "filters": 4, "kernel": 3, "stride": 1, "padding": 1,
                                               "activation": "linear"}, (4, 8, 8)),
    (nn.Conv2d(3, 1, 3, padding="valid"), {"type": "conv", "filters": 1, "kernel": 3, "stride": 1, "padding": 0,
                                           "activation": "linear"}, (1, 6, 6)),
    (nn.MaxPool2d(2), {"type": "maxpool", "kernel": 2, "stride": 2}, (3, 4, 4)),
    (nn.MaxPool2d(3, stride=1), {"type": "maxpool", "kernel": 3, "stride": 1}, (3, 6, 6)),
    (nn.AvgPool2d(4), {"type": "avgpool", "kernel": 4, "stride": 4}, (3, 2, 2)),
])
def test_each_module_maps_with_the_shape_it_makes(module: nn.Module, layer: dict[str, Any],
                                                  shape: tuple[int, int, int]) -> None:
    features = shape[0] * shape[1] * shape[2]
    net = nn.Sequential(module, nn.Flatten(), nn.Linear(features, 2))
    spec = convert(net, torch.zeros(2, 3, 8, 8), loss="mse")
    assert spec["layers"] == [layer, {"type": "flatten"}, {"size": 2, "activation": "linear"}]


def test_conv_activations_go_on_the_conv_layer() -> None:
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(2, 3, 1), nn.LeakyReLU(),
                        nn.Flatten(), nn.Linear(12, 3))
    layers = convert(net, torch.zeros(1, 1, 6, 6), loss="ce")["layers"]
    assert [layer.get("activation") for layer in layers] == ["tanh", None, "leaky_relu", None, "softmax"]


def test_weights_are_written_in_the_conv_layout() -> None:
    """X as [m][C][H][W], W as [F][C][k][k], a conv's b as [F]; the dense layer after flatten is numbered by place."""
    net = tiny_cnn()
    x = torch.randn(4, 1, 6, 6, dtype=torch.float64)
    values = convert(net, x, loss="bce", weights=True, target=torch.tensor([[1.0], [0.0], [0.0], [1.0]]))["values"]
    conv, dense = net[0], net[4]
    assert isinstance(conv, nn.Conv2d) and isinstance(dense, nn.Linear)
    assert torch.tensor(values["X"], dtype=torch.float64).equal(x)
    assert torch.tensor(values["W1"], dtype=torch.float64).equal(conv.weight.detach())
    assert values["b1"] == conv.bias.detach().tolist() if conv.bias is not None else False
    assert torch.tensor(values["W4"], dtype=torch.float64).equal(dense.weight.detach())
    assert values["Y"] == [[1.0, 0.0, 0.0, 1.0]]
    assert sorted(values) == ["W1", "W4", "X", "Y", "b1", "b4", "batch", "seed"]


@pytest.mark.parametrize(("net", "message"), [
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm1d(2), nn.Flatten(), nn.Linear(32, 1)),
     r"model\[1\]: BatchNorm1d\(2, .*\) after a convolution cannot be drawn"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout(), nn.Flatten(), nn.Linear(32, 1)),
     r"model\[1\]: Dropout\(p=0.5, inplace=False\) after a convolution cannot be drawn"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 1)),
     r"model\[2\]: ReLU\(\) comes after pooling"),
    (nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2), nn.Flatten(), nn.Linear(8, 1)),
     r"model\[0\]: .*: dilation \(2, 2\) cannot be drawn"),
    (nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.Flatten(), nn.Linear(32, 1)),
     r"model\[0\]: .*: the diagram's convolution has a bias"),
    (nn.Sequential(nn.MaxPool2d(2, padding=1), nn.Flatten(), nn.Linear(16, 1)),
     r"model\[0\]: .*: padding 1 cannot be drawn"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(start_dim=0), nn.Linear(32, 1)),
     r"model\[1\]: Flatten\(start_dim=0, end_dim=-1\): only nn.Flatten\(\)"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(4, 1)),
     r"model\[1\]: Linear\(.*\) gets examples of shape \(2, 4, 4\); put an nn.Flatten\(\) before it"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()),
     r"model\[1\]: the model must end in a dense layer"),
    (nn.Sequential(nn.MaxPool2d(4), nn.Flatten(), nn.Linear(1, 1)),
     r"model\[0\]: MaxPool2d\(.*\) on 6×6 images leaves 2 row\(s\) or column\(s\) no window covers"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(31, 1)),
     r"model\[2\]: Linear\(in_features=31, .*\) expects 31 features, but gets 32"),
])
def test_what_a_conv_model_cannot_say_is_one_error(net: nn.Sequential, message: str) -> None:
    with pytest.raises(SpecError, match=f"^from_torch: {message}"):
        convert(net, torch.zeros(2, 1, 6, 6), loss="mse")


# ---------------------------------------------------------------- once the loader draws convolutions

def random_cnn(seed: int) -> tuple[nn.Sequential, Tensor, Tensor, dict[str, Tensor]]:
    """A random conv → (pool) → (conv) → flatten → dense → sigmoid model in float64, its batch, target, params."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    channels, size = rng.randint(1, 2), rng.randint(5, 7)
    modules: list[nn.Module] = []
    params: dict[str, Tensor] = {}
    c, h = channels, size
    layers = 0  # spec layers so far: convolutions, pooling and flatten count, activations do not
    for _ in range(rng.randint(1, 2)):
        kernel, padding = rng.choice([(1, 0), (2, 0), (3, 0), (3, 1)])
        span = h + 2 * padding - kernel
        stride = rng.choice([s for s in (1, 2, 3) if span % s == 0])  # the windows fit exactly
        conv = nn.Conv2d(c, rng.randint(1, 3), kernel, stride=stride, padding=padding)
        modules.append(conv)
        layers += 1
        assert conv.bias is not None
        params[f"W{layers}"], params[f"b{layers}"] = conv.weight, conv.bias
        c, h = conv.out_channels, span // stride + 1
        activation = rng.choice([nn.ReLU, nn.Tanh, None])
        if activation is not None:
            modules.append(activation())
        if h >= 2 and h % 2 == 0 and rng.random() < 0.6:
            modules.append(rng.choice([nn.MaxPool2d, nn.AvgPool2d])(2))
            layers += 1
            h //= 2
    modules.append(nn.Flatten())
    dense = nn.Linear(c * h * h, 1)
    modules += [dense, nn.Sigmoid()]
    layers += 2
    params[f"W{layers}"], params[f"b{layers}"] = dense.weight, dense.bias
    m = rng.randint(1, 4)
    x = torch.randn(m, channels, size, size, dtype=torch.float64)
    return nn.Sequential(*modules).double(), x, torch.randint(0, 2, (m, 1)).double(), params


@pytest.mark.parametrize("seed", range(12))
def test_the_random_cnns_run_in_torch_and_convert(seed: int) -> None:
    """The models the gradient test below uses are valid torch, and convert with one W (and b) per param."""
    net, x, y, params = random_cnn(seed)
    assert net(x).shape == y.shape
    values = convert(net, x, loss="bce", target=y, weights=True)["values"]
    for name, tensor in params.items():
        assert torch.tensor(values[name], dtype=torch.float64).reshape(tensor.shape).equal(tensor.detach()), name


def test_the_random_cnns_cover_pooling_stride_and_padding() -> None:
    seen: set[str] = set()
    for seed in range(12):
        for module in random_cnn(seed)[0]:
            seen.add(type(module).__name__)
            if isinstance(module, nn.Conv2d):
                seen |= {f"stride {module.stride[0]}", f"padding {module.padding[0]!r}"}
    assert {"MaxPool2d", "AvgPool2d", "ReLU", "Tanh", "stride 2", "padding 1"} <= seen, seen


@needs_conv
@pytest.mark.parametrize("seed", range(12))
def test_drawn_conv_gradients_equal_the_models_autograd(tmp_path: Path, seed: int) -> None:
    net, x, y, params = random_cnn(seed)
    spec = bpdiagram.from_torch(net, loss="bce", input=x, target=y, weights=True).to_spec()
    path = tmp_path / "cnn.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path), "--json"])
    assert result.exit_code in (0, 1), result.stderr
    loss, drawn = check_json(result.stdout)
    net.zero_grad()
    expected = torch.nn.functional.binary_cross_entropy(net(x), y, reduction="sum") / x.shape[0]
    torch.autograd.backward(expected)
    assert loss == pytest.approx(float(expected.detach()), abs=1e-9)
    for name, tensor in params.items():
        assert tensor.grad is not None
        got = torch.tensor(drawn[name], dtype=torch.float64).reshape(tensor.shape)
        assert got == pytest.approx(tensor.grad.detach(), abs=1e-6), name


@needs_conv
def test_render_torch_draws_a_cnn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cnn.py").write_text("import torch\nfrom torch import nn\ntorch.manual_seed(0)\n"
                                     "model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), "
                                     "nn.Flatten(), nn.Linear(8, 1), nn.Sigmoid())\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", "--torch", "cnn.py:model", "--input-shape", "2,1,6,6", "--weights",
                                      "-f", "svg,png", "-o", "out"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "cnn.png").read_bytes()[:4] == b"\x89PNG"
