"""From a PyTorch nn.Sequential to its diagram: the gradients drawn are the model's own autograd.

The oracle is torch itself (``tests/torch_reference.py``): random dense
models in float64, converted with their weights, batch and target, and the
gradients ``bpdiagram check --json`` reports for the converted spec compared
with ``loss.backward()`` on the model. Then the error line for each thing a
model can do that the diagram cannot say, ``render --torch`` end to end, and
that nothing but ``bpdiagram.pytorch`` ever imports torch.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import bpdiagram
from bpdiagram.cli import cli
from bpdiagram.errors import SpecError
from tests.test_startup import loaded_by, printed_by

torch = pytest.importorskip("torch", reason="needs PyTorch (pip install 'bpdiagram[torch]'; make test installs it)")
from torch import nn  # noqa: E402

from tests.torch_reference import autograd, check_json, random_dense  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def checked(tmp_path: Path, spec: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """What ``bpdiagram check --json`` reports for ``spec``, written as JSON (which keeps every float)."""
    path = tmp_path / "converted.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    code, out, err = run("check", str(path), "--json")
    assert code in (0, 1), err  # 1: finite differences disagree somewhere (a ReLU kink); analytic is compared
    return check_json(out)


@pytest.mark.parametrize("seed", range(24))
def test_drawn_gradients_equal_the_models_autograd(tmp_path: Path, seed: int) -> None:
    model = random_dense(seed)
    diagram = bpdiagram.from_torch(model.net, loss=model.loss, input=model.x, target=model.target, weights=True)
    spec = diagram.to_spec()
    loss, drawn = checked(tmp_path, spec)
    expected_loss, expected = autograd(model, spec)
    assert loss == pytest.approx(expected_loss, abs=1e-9)
    assert sorted(drawn) == sorted(expected)
    for name, grad in expected.items():
        assert torch.tensor(drawn[name]) == pytest.approx(torch.tensor(grad), abs=1e-6), name


def test_the_random_models_cover_every_module_and_loss() -> None:
    """The 24 seeds above meet every module kind, each loss, logits and a cancelled bias."""
    seen: set[str] = set()
    for seed in range(24):
        model = random_dense(seed)
        seen |= {type(module).__name__ for module in model.net}
        seen |= {model.loss, f"logits-{model.loss}" if model.logits else ""}
        seen |= {"cancelled"} if model.cancelled else set()
    wanted = {"Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "BatchNorm1d", "Dropout",
              "bce", "ce",
              "mse", "logits-bce", "logits-ce", "cancelled"}
    assert wanted <= seen, wanted - seen


def test_a_float32_model_is_written_with_float32_digits() -> None:
    torch.manual_seed(3)
    first = nn.Linear(2, 3)
    net = nn.Sequential(first, nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    spec = bpdiagram.from_torch(net, loss="bce", input=torch.randn(4, 2), weights=True).to_spec()
    w = spec["values"]["W1"]
    assert torch.tensor(w, dtype=torch.float32).equal(first.weight.detach())
    assert all(len(repr(v).lstrip("-").replace("0.", "", 1).replace(".", "")) <= 10 for row in w for v in row)
    assert "Y" not in spec["values"]  # no target given: the diagram draws one from the seed


def test_the_converted_spec_is_plain_data_that_loads_back() -> None:
    net = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 3))
    diagram = bpdiagram.from_torch(net, loss="ce", input=torch.zeros(5, 3), target=torch.tensor([0, 2, 1, 1, 0]),
                                   weights=True)
    spec = diagram.to_spec()
    assert spec["layers"] == [{"size": 2, "activation": "tanh"}, {"size": 3, "activation": "softmax"}]
    assert spec["values"]["Y"][2] == [0.0, 1.0, 0.0, 0.0, 0.0]
    assert yaml.safe_load(yaml.safe_dump(spec)) == spec and json.loads(json.dumps(spec)) == spec
    again = bpdiagram.load(spec)
    assert again.spec == diagram.spec
    assert diagram.with_options(backprop_to=1).to_spec()["diagram"] == {"backprop_to": 1}
    assert "<svg" in diagram._repr_html_()  # what Jupyter shows


def test_without_weights_the_spec_is_the_structure_only() -> None:
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 4, bias=False), nn.BatchNorm1d(4), nn.LeakyReLU(),
                        nn.Dropout(0.3), nn.Linear(4, 1))
    spec = bpdiagram.from_torch(net, loss="mse", input=torch.zeros(2, 1, 3, 4)).to_spec()
    assert spec == {"input": {"name": "X", "size": 12},
                    "layers": [{"size": 4, "activation": "leaky_relu", "batchnorm": True, "dropout": 0.7},
                               {"size": 1, "activation": "linear"}],
                    "loss": "mse"}


def test_a_leading_flatten_draws_the_input_as_its_features(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 1), nn.Sigmoid()).double()
    x = torch.randn(3, 1, 2, 3, dtype=torch.float64)
    spec = bpdiagram.from_torch(net, loss="bce", input=x, weights=True).to_spec()
    assert torch.tensor(spec["values"]["X"], dtype=torch.float64).equal(x.reshape(3, 6).T)


# ---------------------------------------------------------------- what the diagram cannot say: one error line

MODELS = '''
import torch
from torch import nn

plain = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
lstm = nn.Sequential(nn.Linear(2, 3), nn.LSTM(3, 3))
no_bias = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ReLU(), nn.Linear(3, 1))
mismatch = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(4, 1))
relu_first = nn.Sequential(nn.ReLU(), nn.Linear(2, 1))
norm_after_relu = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.BatchNorm1d(3), nn.Linear(3, 1))
two_activations = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh(), nn.Linear(3, 1))
hidden_softmax = nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1), nn.Linear(3, 2), nn.Softmax(dim=1))
log_probabilities = nn.Sequential(nn.Linear(2, 3), nn.LogSoftmax(dim=1))
steep_leak = nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2), nn.Linear(3, 1))
ends_in_relu = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.ReLU())
output_dropout = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid(), nn.Dropout(0.5))
eps_norm = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3, eps=1e-3), nn.Linear(3, 1))
conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 1))
not_square = nn.Sequential(nn.Conv2d(1, 2, (3, 2)), nn.Flatten(), nn.Linear(10, 1))
tiny_image = nn.Sequential(nn.Conv2d(1, 2, 5), nn.Flatten(), nn.Linear(2, 1))
nested = nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.GELU()), nn.Linear(2, 1))
number = 3


class Net(nn.Module):
    def forward(self, x):
        return x


custom = Net()


def build():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))


def broken():
    raise ValueError("no model today")
'''

RAISE_LINE = MODELS.splitlines().index('    raise ValueError("no model today")') + 1


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nets.py").write_text(MODELS, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("name", "args", "message"), [
    ("lstm", (), "nets.py: lstm[1]: LSTM(3, 3) cannot be drawn; a model the diagram draws is an nn.Sequential of "
                 "Linear, ReLU"),
    ("no_bias", (), "nets.py: no_bias[0]: Linear(in_features=2, out_features=3, bias=False): the diagram's dense "
                    "layer has a bias b"),
    ("mismatch", (), "nets.py: mismatch[2]: Linear(in_features=4, out_features=1, bias=True) expects 4 features, "
                     "but gets 3"),
    ("relu_first", (), "nets.py: relu_first[0]: ReLU() comes first; the diagram draws a layer as Linear (or "
                       "Conv2d), then BatchNorm1d, then the activation, then Dropout"),
    ("norm_after_relu", (), "nets.py: norm_after_relu[2]: BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, "
                            "bias=True, track_running_stats=True) comes after an activation;"),
    ("two_activations", (), "nets.py: two_activations[2]: Tanh() comes after an activation;"),
    ("hidden_softmax", ("--loss", "ce"), "nets.py: hidden_softmax[1]: softmax is drawn on the output layer only"),
    ("log_probabilities", ("--loss", "mse"), "nets.py: log_probabilities[1]: a model ending in LogSoftmax gives "
                                             "log-probabilities, which only loss ce reads"),
    ("steep_leak", (), "nets.py: steep_leak[1]: LeakyReLU(negative_slope=0.2): the diagram's leaky ReLU has slope "
                       "0.01"),
    ("ends_in_relu", ("--loss", "bce"), "nets.py: ends_in_relu[3]: loss bce needs the model to end in Sigmoid (or "
                                        "in Linear, whose logits the loss takes through a sigmoid), not in relu"),
    ("output_dropout", (), "nets.py: output_dropout[2]: dropout on the output layer cannot be drawn"),
    ("eps_norm", (), "nets.py: eps_norm[1]: BatchNorm1d(3, eps=0.001, "),
    ("conv", (), "nets.py: conv: the model starts with Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1)); give the "
                 "shape of an example batch, --input-shape N,C,H,W"),
    ("conv", ("--input-shape", "4,3"), "nets.py: conv[0]: Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1)) gets "
                                       "examples of shape (3,); it needs (channels, height, width)"),
    ("conv", ("--input-shape", "4,2,4,4"), "nets.py: conv[0]: Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1)) "
                                           "expects 1 channels, but gets 2"),
    ("not_square", ("--input-shape", "4,1,4,4"), "nets.py: not_square[0]: Conv2d(1, 2, kernel_size=(3, 2), "
                                                 "stride=(1, 1)): kernel (3, 2) cannot be drawn"),
    ("tiny_image", ("--input-shape", "4,1,3,3"), "nets.py: tiny_image[0]: Conv2d(1, 2, kernel_size=(5, 5), "
                                                 "stride=(1, 1)) gets 3×3 images, smaller than its kernel"),
    ("nested", (), "nets.py: nested[0][1]: GELU(approximate='none') cannot be drawn"),
    ("custom", (), "nets.py: custom: is a Net, not an nn.Sequential; the diagram reads a Sequential's modules in "
                   "order"),
    ("number", (), "nets.py: number: is an object of type int, not an nn.Sequential"),
    ("missing", (), "nets.py: defines no 'missing'; it defines broken, build, conv, ends_in_relu,"),
    ("broken", (), f"nets.py:{RAISE_LINE}: running it raised ValueError: no model today"),
    ("plain", ("--input-shape", "4,3"), "nets.py: plain[0]: Linear(in_features=2, out_features=3, bias=True) "
                                        "expects 2 features, but gets 3"),
])
def test_what_cannot_be_drawn_is_one_error_line_naming_the_module(models: Path, name: str, args: tuple[str, ...],
                                                                   message: str) -> None:
    code, out, err = run("from-torch", f"nets.py:{name}", *args, "-o", "spec.yaml")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {message}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (models / "spec.yaml").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("nets.py:plain", "--loss", "hinge"), "Invalid value for '--loss': 'hinge' is not one of 'bce', 'ce', 'mse'"),
    (("nets.py:plain", "--input-shape", "4"), "Invalid value for --input-shape: '4': give N,FEATURES or N,C,H,W"),
    (("nets.py",), "--torch: 'nets.py': name the model as FILE.py:NAME"),
    (("none.py:model",), "none.py: no such file"),
])
def test_bad_arguments_are_one_error_line(models: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = run("from-torch", *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {message}") and err.count("\n") == 1, err


def test_a_syntax_error_in_the_model_file_names_its_line(models: Path) -> None:
    (models / "bad.py").write_text("import torch\nmodel = nn.Sequential(\n", encoding="utf-8")
    code, _, err = run("from-torch", "bad.py:model")
    assert code == 2 and err.startswith("error: bad.py:2: invalid Python: ") and err.count("\n") == 1


def test_the_api_raises_one_spec_error_naming_the_module() -> None:
    with pytest.raises(SpecError, match=r"^from_torch: net\[1\]: LSTM\(3, 3\) cannot be drawn"):
        bpdiagram.from_torch(nn.Sequential(nn.Linear(2, 3), nn.LSTM(3, 3)), loss="mse", input=torch.zeros(4, 2),
                             name="net")
    with pytest.raises(SpecError, match="unknown loss 'nll'; valid choices: bce, ce, mse"):
        bpdiagram.from_torch(nn.Sequential(nn.Linear(2, 1)), loss="nll", input=torch.zeros(4, 2))
    net = nn.Sequential(nn.Linear(2, 3))
    for target, message in ((torch.tensor([0, 3]), r"class indices must lie in 0 … 2"),
                            (torch.zeros(2, 2), r"has shape \(2, 2\); the model's output has shape \(2, 3\)")):
        with pytest.raises(SpecError, match=message):
            bpdiagram.from_torch(net, loss="ce", input=torch.zeros(2, 2), target=target, weights=True)


def test_the_file_may_print_and_import_its_neighbours(models: Path) -> None:
    (models / "blocks.py").write_text("from torch import nn\nSIZE = 3\n", encoding="utf-8")
    (models / "chatty.py").write_text("from torch import nn\nimport blocks\nprint('building')\n"
                                      "model = nn.Sequential(nn.Linear(blocks.SIZE, 1), nn.Sigmoid())\n",
                                      encoding="utf-8")
    code, out, err = run("from-torch", "chatty.py:model")
    assert code == 0 and "building" in err
    assert yaml.safe_load(out) == {"input": {"name": "X", "size": 3}, "layers": [{"size": 1, "activation": "sigmoid"}],
                                   "loss": "bce"}


def test_from_torch_writes_what_the_library_makes(models: Path) -> None:
    code, out, _ = run("from-torch", "nets.py:build", "--weights", "--input-shape", "3,2", "-o", "build.yaml")
    assert (code, out) == (0, "build.yaml\n")
    text = (models / "build.yaml").read_text(encoding="utf-8")
    assert text.startswith("# the nn.Sequential nets.py:build, read by bpdiagram from-torch\n")
    spec = yaml.safe_load(text)
    assert spec["values"]["batch"] == 3 and "X" not in spec["values"]  # drawn from the seed: a shape has no numbers
    sys.path.insert(0, str(models))
    try:
        import nets  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(models))
        sys.modules.pop("nets", None)
    net = nets.build()
    assert spec["values"]["W1"] == bpdiagram.from_torch(net, loss="mse", input=torch.zeros(3, 2),
                                                        weights=True).to_spec()["values"]["W1"]
    assert run("check", "build.yaml")[0] == 0


# ---------------------------------------------------------------- render --torch

@pytest.mark.graphviz
def test_render_torch_draws_the_model_as_its_spec_draws(models: Path) -> None:
    code, out, err = run("render", "--torch", "nets.py:build", "--weights", "-f", "svg,png,graphml", "-o", "out")
    assert code == 0, err
    assert out.split() == ["out/nets.svg", "out/nets.png", "out/nets.graphml"]
    assert (models / "out" / "nets.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run("from-torch", "nets.py:build", "--weights", "-o", "nets.yaml")[0] == 0
    assert run("render", "nets.yaml", "-f", "svg", "-o", "from-spec")[0] == 0
    drawn = (models / "out" / "nets.svg").read_text(encoding="utf-8")
    assert drawn == (models / "from-spec" / "nets.svg").read_text(encoding="utf-8")
    assert "−0.0" in drawn or "0." in drawn  # the model's numbers are drawn (values: given)
    again = run("render", "--torch", "nets.py:build", "--weights", "-f", "svg,png,graphml", "-o", "out")
    assert "up to date: out/nets.svg" in again[2]
    code, _, err = run("render", "--torch", "nets.py:lstm", "-o", "out2")
    assert code == 2 and err.startswith("error: nets.py: lstm[1]: LSTM(3, 3) cannot be drawn")
    assert not (models / "out2").exists()


# ---------------------------------------------------------------- torch stays optional and isolated

def test_only_the_pytorch_package_imports_torch() -> None:
    importers = []
    for path in sorted((ROOT / "bpdiagram").rglob("*.py")):
        if "pytorch" in path.relative_to(ROOT / "bpdiagram").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n == "torch" or n.startswith("torch.") for n in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []


@pytest.mark.graphviz
def test_rendering_and_the_cli_never_load_torch(tmp_path: Path) -> None:
    code = ("import sys, bpdiagram\n"
            "d = bpdiagram.template('dropout', values=True)\n"
            "d.render('svg'); d.render('png'); d.to_spec(); bpdiagram.from_torch\n"
            "print('torch' in sys.modules)\n")
    assert printed_by(code) == ["False", ""]
    for args in (("render", "-t", "batchnorm", "-o", str(tmp_path), "-f", "svg"), ("from-torch", "--help"),
                 ("render", "--help")):
        status, _, modules = loaded_by(*args)
        assert status == 0 and "torch" not in modules, args


def test_without_torch_the_command_says_how_to_install_it(models: Path) -> None:
    script = ("import sys\nsys.modules['torch'] = None\nfrom bpdiagram.cli import main\n"
              "sys.argv = ['bpdiagram', 'from-torch', 'nets.py:plain']\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=models)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("error: reading a PyTorch model needs PyTorch, which is not installed: "
                           "pip install 'bpdiagram[torch]'\n")


PAGE = ROOT / "docs" / "how-to" / "draw-your-own-model.md"
FENCE = re.compile(r"(?:<!-- norun: (?P<why>[^>]*) -->\n)?```(?P<lang>\w+)\n(?P<code>.*?)```", re.S)


def page_blocks() -> list[tuple[str, str, str | None]]:
    """(language, code, the norun reason or None) of each fenced block of the how-to page."""
    return [(m["lang"], m["code"], m["why"]) for m in FENCE.finditer(PAGE.read_text(encoding="utf-8"))]


@pytest.mark.graphviz
def test_the_how_to_page_runs(tmp_path: Path) -> None:
    """Every bash and python block of the page, in order, in a copy of docs/examples, bpdiagram on PATH."""
    shutil.copytree(EXAMPLES, tmp_path, dirs_exist_ok=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    ran = 0
    for lang, code, why in page_blocks():
        if why is not None or lang not in ("bash", "python"):
            continue
        command = ["bash", "-e", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
        proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{lang} block failed:\n{code}\n{proc.stderr}"
        ran += 1
    assert ran >= 4
    assert (tmp_path / "figures" / "mlp.png").is_file() and (tmp_path / "logits.png").is_file()


def test_the_page_shows_the_example_file_as_it_is() -> None:
    shown = [code for _, code, why in page_blocks() if why is not None and "example file" in why]
    assert len(shown) == 1 and shown[0] in (EXAMPLES / "mlp.py").read_text(encoding="utf-8")


def test_the_pages_error_is_the_one_bpdiagram_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nets.py").write_text("from torch import nn\nrnn = nn.Sequential(nn.Linear(2, 3), nn.LSTM(3, 8))\n",
                                      encoding="utf-8")
    _, _, err = run("from-torch", "nets.py:rnn")
    shown = [code for lang, code, _ in page_blocks() if lang == "text" and code.startswith("error:")]
    assert shown == [err]


@pytest.mark.graphviz
def test_the_pages_picture_is_what_render_torch_draws_today(tmp_path: Path) -> None:
    """docs/how-to/torch-mlp.png is current; when this fails, run the command below from the repository and look:
    bpdiagram render --torch docs/examples/mlp.py:model --weights -f png -o docs/how-to --name torch-mlp --force"""
    from tests.test_docs_pictures import differing_share

    code, _, err = run("render", "--torch", str(EXAMPLES / "mlp.py") + ":model", "--weights", "-f", "png", "-o",
                       str(tmp_path), "--name", "torch-mlp")
    assert code == 0, err
    assert differing_share(tmp_path / "torch-mlp.png", PAGE.parent / "torch-mlp.png") <= 0.001


def test_the_docs_example_model_converts() -> None:
    """docs/examples/mlp.py, which the how-to page uses, converts and checks."""
    code, out, err = run("from-torch", str(EXAMPLES / "mlp.py") + ":model", "--weights")
    assert code == 0, err
    assert yaml.safe_load(out)["layers"] == [{"size": 4, "activation": "tanh"}, {"size": 1, "activation": "sigmoid"}]
