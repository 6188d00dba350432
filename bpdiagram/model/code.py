"""From the diagram to the code: one self-contained Python module that computes what the diagram draws.

``generate(spec)`` writes the module ``bpdiagram code`` prints: statement by
statement in the order of the diagram's bands (forward, what goes into the
cache, backward), each statement under a comment with the formula of the node
it implements, names as on the diagram (``Z1``, ``A1``, ``dZ2``, ``dW2``).

The expressions are the catalogue's own: every op used contributes a pair of
small functions (``tanh_forward``/``tanh_backward``) whose bodies are the
``Code`` of its catalogue entry, next to the formula the diagram draws and the
numpy rule ``check`` runs. Function pairs rather than gate objects, because the
diagram's cache band is a value the student can see: ``forward`` returns it as
a dict and ``backward`` reads only it, as the DLS assignments do.

The listing also records, for each line, the diagram nodes it implements, so
the HTML page can link a statement and its node.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from keyword import iskeyword

from bpdiagram.errors import BpdiagramError, one_line
from bpdiagram.model.catalogue import (
    ACTIVATION_OPS,
    BATCHNORM,
    DROPOUT,
    GATE_OPS,
    L2,
    LINEAR,
    LOSS_OPS,
    PREVIOUS_GRADIENT,
    RESIDUAL,
    Code,
    backward_form,
    fill,
    output_rule,
    param_gradients,
)
from bpdiagram.model.expression import GateValue, Wire, _fill, evaluate
from bpdiagram.model.notation import Symbols
from bpdiagram.model.numeric_pass import init_factor
from bpdiagram.options import Gate
from bpdiagram.richtext import plain, plain_lines
from bpdiagram.spec.expression import ExpressionSpec
from bpdiagram.spec.network import LayerSpec, NetworkSpec
from bpdiagram.spec.values import ValuesSpec

INDENT = "    "
WIDTH = 110
"""Longest generated line aimed at."""
MAX_LINE = 120
"""The project's ruff line length."""


@dataclass(frozen=True)
class Listing:
    """A generated module: its text, and for each of its lines the ids of the diagram nodes it implements."""

    text: str
    nodes: tuple[tuple[str, ...], ...]

    def statements(self) -> dict[str, tuple[int, ...]]:
        """For each node id, the (0-based) lines that implement it."""
        out: dict[str, list[int]] = {}
        for i, ids in enumerate(self.nodes):
            for node in ids:
                out.setdefault(node, []).append(i)
        return {k: tuple(v) for k, v in out.items()}


@dataclass
class _Module:
    """Lines of the module being written, each with the node ids it implements."""

    lines: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def add(self, text: str = "", *nodes: str, depth: int = 0, prose: bool = False) -> None:
        """Lines of code (or, with ``prose``, of a docstring); a line of code too long for ruff says so.

        Only the spec's own names make a line that long (an expression's variable
        may be hundreds of characters), and those cannot be renamed.
        """
        for line in text.split("\n"):
            line = (INDENT * depth + line).rstrip()
            if len(line) > MAX_LINE and not prose and not line.lstrip().startswith("#"):
                line = line.replace("# noqa: ", "# noqa: E501, ") if "# noqa: " in line else line + "  # noqa: E501"
            self.lines.append((line, nodes))

    def statement(self, comments: Sequence[str], code: str, *nodes: str) -> None:
        """``code`` in a function body, under its comments (wrapped), all tagged with ``nodes``."""
        for comment in comments:
            for line in textwrap.wrap(_comment(comment), WIDTH - 6, break_on_hyphens=False) or [""]:
                self.add(f"# {line}", *nodes, depth=1)
        self.add(code, *nodes, depth=1)

    def function(self, name: str, args: Sequence[str], doc: str, body: str, returns: Sequence[str] = ()) -> None:
        """A small function: ``body`` (its last line is returned, unless ``returns`` lists the values)."""
        self.add()
        self.add()
        self.add(f"def {name}({', '.join(args)}):")
        text = _docstring(doc)
        if len(text) + 10 <= WIDTH:
            self.add(f'"""{text}"""', depth=1, prose=True)
        else:  # a long formula (batch norm's): wrapped, the closing quotes on a line of their own
            self.add('"""' + "\n".join(textwrap.wrap(text, WIDTH - 4, break_on_hyphens=False)) + '\n"""', depth=1,
                     prose=True)
        lines = body.split("\n") if body else []
        if returns:
            lines.append(", ".join(returns))
        for line in lines[:-1]:
            self.add(line, depth=1)
        self.add(f"return {lines[-1]}", depth=1)

    def listing(self) -> Listing:
        while self.lines and not self.lines[-1][0]:
            self.lines.pop()
        return Listing("\n".join(text for text, _ in self.lines) + "\n", tuple(nodes for _, nodes in self.lines))


def link_to(listing: Listing, node_ids: Iterable[str]) -> Listing:
    """``listing`` with its node ids as the graph ``node_ids`` names them.

    The module is written in the vectorized view's ids (``Z1``, ``dW2``,
    ``cache.A1``). The element-wise view names the same values in lower case,
    one node per unit (``z1_1``, ``z1_2``, ``cache.a1``): a statement there
    links to every unit of its value. Ids the graph does not have are dropped.
    """
    ids = sorted(node_ids)
    present = set(ids)
    units: dict[str, list[str]] = {}
    for node in ids:
        match = re.fullmatch(r"(.+)_\d+", node)
        if match:
            units.setdefault(match.group(1), []).append(node)

    def find(node: str) -> tuple[str, ...]:
        if node in present:
            return (node,)
        lower = node.lower()
        if lower in present:
            return (lower,)
        return tuple(units.get(lower, ()))

    nodes = tuple(tuple(dict.fromkeys(found for node in line for found in find(node))) for line in listing.nodes)
    return Listing(listing.text, nodes)


def _docstring(text: str) -> str:
    """Text safe inside a one-line docstring (a title may hold backslashes, quotes or control characters)."""
    text = one_line(text.replace("\\", "\\\\")).replace('"', '\\"')
    return text if text.endswith(".") else text + "."


def _comment(text: str) -> str:
    return one_line(text)


def _header(title: str, what: str, source: str) -> str:
    """The module docstring: the title, wrapped, and what the module is."""
    lines = textwrap.wrap(one_line(title.replace("\\", "\\\\")).replace('"', '\\"'), WIDTH) or [""]
    body = textwrap.wrap(f"Generated by bpdiagram from {source}. {what}", WIDTH)
    return '"""' + "\n".join(lines) + "\n\n" + "\n".join(body) + '\n"""'


def _missing(op: str) -> BpdiagramError:
    return BpdiagramError(f"the catalogue entry {op!r} has no code template yet, so 'bpdiagram code' cannot export it")


def _code(op: str, code: Code | None) -> Code:
    if code is None:
        raise _missing(op)
    return code


def _body(op: str, text: str | None) -> str:
    """A code body of a catalogue entry that keeps it in a field of its own (``slope_code``, ``draw_code``)."""
    if not text:
        raise _missing(op)
    return text


_TOKEN = re.compile(r"\$(d?[A-Za-z])([+-]?)(')?")


def _generic(template: str) -> str:
    """A catalogue template with the argument names of the function pair: ``$A-`` → A_prev, ``$W'`` → Wᵀ."""

    def sub(match: re.Match[str]) -> str:
        name, shift, prime = match.group(1), match.group(2), match.group(3)
        grad, base = ("d", name[1:]) if len(name) == 2 else ("", name)
        return grad + _CODE_NAMES.get(base, base) + ("_prev" if shift == "-" else "") + ("^{T}" if prime else "")

    return _flat(_TOKEN.sub(sub, template.replace("$W$", "$W $").replace("$W@l", "$W")))


_CODE_NAMES = {"M": "mu", "V": "var", "N": "Znorm", "T": "Zbn", "G": "gamma", "B": "beta"}
"""Batch norm's template letters as the generated code names them (the diagram's Z_norm, Z_bn, σ², γ, β)."""


def _flat(markup: str) -> str:
    """Plain text on one line (a label's lines joined by spaces)."""
    return " ".join(plain_lines(markup))


# -- networks ----------------------------------------------------------------------------


_RESERVED = {"np", "params", "cache", "grads", "m", "scale", "J", "forward", "backward", "example", "main",
             "rng", "name", "grad", "l", "I", "O"}


def _identifier(name: str, fallback: str, taken: set[str]) -> str:
    """``name`` when it is a usable Python name (not a keyword, not one the module needs), else ``fallback``."""
    if name.isidentifier() and not iskeyword(name) and name not in taken and name.isascii() and len(name) <= 24:
        return name
    while fallback in taken:
        fallback += "_"
    return fallback


def generate(spec: NetworkSpec | ExpressionSpec, *, source: str = "a spec") -> Listing:
    """The module for ``spec``; ``source`` names where the spec came from, for the header."""
    if isinstance(spec, ExpressionSpec):
        return _expression(spec, source)
    return _Network(spec, source).write()


class _Network:
    def __init__(self, spec: NetworkSpec, source: str) -> None:
        from bpdiagram.model.build import BuildOptions, _Builder

        self.spec = spec
        self.source = source
        self.L = len(spec.layers)
        self.k = spec.diagram.backprop_to
        self.sym = Symbols(spec.diagram.notation, spec.input.name, spec.target)
        self.labels = _Builder(spec, BuildOptions())
        """The diagram's own labels of §11's nodes (g's argument, dropout, residual sums) for the comments."""
        self.loss = LOSS_OPS[spec.loss]
        self.fused = output_rule(spec.layers[-1].activation, spec.loss, spec.diagram.simplify)
        names = {f"{p}{layer}" for layer in range(0, self.L + 1)
                 for p in ("W", "b", "Z", "A", "dW", "db", "dZ", "dA", "D", "gamma", "beta", "mu", "var", "Znorm",
                           "Zbn", "dZbn", "dgamma", "dbeta")}
        taken = _RESERVED | names
        self.X = _identifier(spec.input.name, "X", taken)
        self.Y = _identifier(spec.target, "Y", taken | {self.X})
        self.m = _Module()

    # -- names ------------------------------------------------------------------------------
    def prev(self, layer: int) -> str:
        """A[l−1] as the code names it: the input for layer 1."""
        return self.X if layer == 1 else f"A{layer - 1}"

    def prev_node(self, layer: int) -> str:
        return "input" if layer == 1 else f"A{layer - 1}"

    def formula(self, template: str, layer: int) -> str:
        return _flat(self.sym.render(template, layer))

    def layer(self, layer: int) -> LayerSpec:
        return self.spec.layers[layer - 1]

    def form(self, layer: int) -> str:
        """How dZ (of g's argument) of ``layer`` is computed: ``fused``, or ``backward_form``'s answer."""
        spec = self.layer(layer)
        if layer == self.L and self.fused is not None:
            return "fused"
        return backward_form(spec.activation, dropout=spec.dropout is not None, residual=spec.residual is not None)

    def argument(self, layer: int, cached: bool = False) -> str:
        """g's argument of ``layer`` in code: Z (Z_bn with batch norm), plus A[k] with a residual."""
        spec = self.layer(layer)
        base = f"{'Zbn' if spec.batchnorm else 'Z'}{layer}"
        names = [base] if spec.residual is None else [base, f"A{spec.residual}"]
        if cached:
            names = [f'cache["{name}"]' for name in names]
        return names[0] if len(names) == 1 else f"residual_forward({names[0]}, {names[1]})"

    def gradient(self, layer: int) -> str:
        """The gradient of g's argument as the code names it: dZ_bn with batch norm, else dZ."""
        return f"{'dZbn' if self.layer(layer).batchnorm else 'dZ'}{layer}"

    def sources(self) -> list[int]:
        """The layers whose A a residual takes forward."""
        return [spec.residual for spec in self.spec.layers if spec.residual is not None]

    def cached(self) -> list[tuple[str, str]]:
        """What the backward pass reads, as (code name, diagram node id), in the cache band's order.

        The same choice as the diagram's cache band (``build._Builder.cache_edges``), value by value.
        """
        keep: dict[str, str] = {}
        for layer in range(self.L, self.k - 1, -1):
            spec = self.layer(layer)
            keep[self.prev_node(layer)] = self.prev(layer)
            if layer > self.k or self.spec.l2 is not None:
                keep[f"W{layer}"] = f"W{layer}"
            act = ACTIVATION_OPS[spec.activation]
            form = self.form(layer)
            if layer == self.L:
                keep[f"A{layer}"] = f"A{layer}"
                keep["target"] = self.Y
            if form != "fused":
                reads_argument = (form == "dropout" and act.slope) or (form == "plain" and "Z" in act.uses)
                if reads_argument:
                    if spec.batchnorm:
                        keep[f"BN{layer}.Zt"] = f"Zbn{layer}"
                    else:
                        keep[f"Z{layer}"] = f"Z{layer}"
                    if spec.residual is not None:
                        keep[f"A{spec.residual}"] = f"A{spec.residual}"
                if form == "output" or (form == "plain" and "A" in act.uses):
                    keep[f"A{layer}"] = f"A{layer}"
                if spec.dropout is not None:
                    keep[f"D{layer}"] = f"D{layer}"
            if spec.batchnorm:
                keep[f"BN{layer}.Zhat"] = f"Znorm{layer}"
                keep[f"BN{layer}.var"] = f"var{layer}"
                keep[f"G{layer}"] = f"gamma{layer}"
        order = ["input"] + [f"{p}{layer}" for layer in range(1, self.L + 1)
                             for p in ("W", "Z", "BN", "G", "D", "A")] + ["target"]
        rank = {node: i for i, node in enumerate(order)}
        nodes = sorted(keep, key=lambda node: (rank[node.split(".")[0]], node))
        return [(keep[node], node) for node in nodes]

    # -- the module ---------------------------------------------------------------------------
    def write(self) -> Listing:
        spec, m = self.spec, self.m
        from bpdiagram.model.build import default_title

        title = spec.title if spec.title is not None else default_title(spec)
        below = f" down to layer {self.k}" if self.k > 1 else ""
        header = _header(title, f"forward(params, {self.X}, {self.Y}) returns (J, cache), backward(params, cache) "
                         f"the gradients{below}; each statement is commented with the formula of the diagram node "
                         "it implements. Run it as a script to compute J and every gradient on the spec's numbers.",
                         self.source)
        m.add(header, prose=True)
        m.add()
        m.add("import numpy as np")
        self.functions()
        self.forward()
        self.backward()
        self.example()
        self.main()
        return m.listing()

    def functions(self) -> None:
        m, L, k, spec = self.m, self.L, self.k, self.spec
        layers = range(1, L + 1)
        reached = range(k, L + 1)
        bn = [layer for layer in layers if self.layer(layer).batchnorm]
        m.add()
        m.add("# -- the gates: one forward/backward pair per op of the diagram, from bpdiagram's catalogue --")
        linear = _code("linear step", LINEAR.code)
        if len(bn) < L:
            m.function("affine_forward", ("W", "A_prev", "b"), "The linear step, " + _generic(LINEAR.forward),
                       linear.forward)
        dw, db = (_generic(t.format(scale="scale · ")) for t in (LINEAR.weight_gradient, LINEAR.bias_gradient))
        if any(layer not in bn for layer in reached):
            m.function("affine_backward", ("dZ", "A_prev", "scale"), f"{dw}, {db}", "", linear.backward[:2])
        if bn:
            m.function("weight_forward", ("W", "A_prev"), "The linear step of a batch-norm layer (no bias), "
                       + _generic(BATCHNORM.linear), _body("batch norm", BATCHNORM.linear_code))
            if any(layer in bn for layer in reached):
                m.function("weight_backward", ("dZ", "A_prev", "scale"), dw, "", linear.backward[:1])
        if k < L:
            m.function("affine_backward_input", ("W", "dZ"), _generic(PREVIOUS_GRADIENT), "", linear.backward[2:])
        if bn:
            code = _code("batch norm", BATCHNORM.code)
            steps = "; ".join(_generic(line) for line in BATCHNORM.forward.split("\n"))
            m.function("batchnorm_forward", ("Z", "gamma", "beta"), f"Batch norm over the batch: {steps}",
                       code.forward)
            if any(layer in bn for layer in reached):
                rules = [BATCHNORM.gamma_gradient.format(scale="scale · "),
                         BATCHNORM.beta_gradient.format(scale="scale · "), BATCHNORM.derivative]
                m.function("batchnorm_backward", ("dZbn", "Znorm", "var", "gamma", "scale"),
                           "; ".join(_generic(rule) for rule in rules),
                           _assign(("dgamma", "dbeta", "dZ"), code.backward), ("dgamma", "dbeta", "dZ"))
        residual = [layer for layer in layers if self.layer(layer).residual is not None]
        if residual:
            code = _code("residual", RESIDUAL.code)
            m.function("residual_forward", ("Z", "A_skip"), "A skip connection: g's argument " +
                       _generic(fill(RESIDUAL.argument, base="$Z", skip="A[k]")), code.forward)
            if any(source >= k for source in self.sources()):
                m.function("residual_backward", ("dZ",), "The skip's gradient, added to dA[k]: "
                           + _generic(fill(RESIDUAL.sum, skip_grad="dA[k]", grad="$dZ")), "", code.backward)
        seen: set[str] = set()

        def once(name: str) -> bool:
            if name in seen:
                return False
            seen.add(name)
            return True

        for layer in layers:
            name = self.layer(layer).activation
            act = ACTIVATION_OPS[name]
            code = _code(name, act.code)
            if once(f"{name}_forward"):
                m.function(f"{name}_forward", ("Z",), _generic(act.forward), code.forward)
            if layer < k:
                continue
            form = self.form(layer)
            if form == "plain" and once(f"{name}_backward"):
                code = _code(name, act.code)
                m.function(f"{name}_backward", ("dA", *act.uses), _generic(act.derivative), "", code.backward)
            if form == "output" and once(f"{name}_backward_from_output"):
                m.function(f"{name}_backward_from_output", ("dA", "A"),
                           f"{_generic(act.output_derivative or '')} (g′ read from g's output)", "",
                           (_body(f"{name} (from its output)", act.output_code),))
            if form == "dropout" and act.slope and once(f"{name}_slope"):
                m.function(f"{name}_slope", ("Z",), f"g′ of {name} from its argument: {_generic(act.slope)}",
                           _body(f"{name} (its slope)", act.slope_code))
        dropout = [layer for layer in layers if self.layer(layer).dropout is not None]
        if dropout:
            code = _code("dropout", DROPOUT.code)
            m.function("dropout_forward", ("G", "D", "keep"), "Inverted dropout of g's output G, "
                       + _generic(fill(DROPOUT.forward, g="G", keep="keep")), code.forward)
            if any(layer >= k for layer in dropout):
                m.function("dropout_backward", ("dA", "D", "keep"), "The mask and 1/keep reapplied, "
                           + _generic(fill(DROPOUT.derivative, keep="keep", slope="")) + " (before g′)", "",
                           code.backward)
        if spec.l2 is not None:
            code = _code("L2", L2.code)
            averaged = self.loss.scale_label != ""
            m.function("l2_forward", ("Ws", "lambd", "scale"),
                       "The L2 penalty added to J, " + _generic(L2.penalty[averaged]).replace("λ", "lambd"),
                       code.forward)
            m.function("l2_backward", ("W", "lambd", "scale"),
                       "The L2 term added to dW, " + _generic(L2.weight_gradient[averaged]).replace("λ", "lambd"),
                       "", code.backward)
        loss = _code(spec.loss, self.loss.code)
        m.function(f"{spec.loss}_forward", ("A", "Y"), _generic(self.loss.forward), loss.forward)
        if self.fused is None:
            m.function(f"{spec.loss}_backward", ("A", "Y"), _generic(self.loss.derivative), "", loss.backward)
        else:
            out = spec.layers[-1].activation
            fused = _code(f"{out} + {spec.loss}", self.fused.code)
            m.function(f"{out}_{spec.loss}_backward", ("A", "Y"),
                       f"{_generic(self.fused.derivative)} ({out} and {spec.loss} differentiated together)", "",
                       fused.backward)

    def forward(self) -> None:
        m, spec, L, sym = self.m, self.spec, self.L, self.sym
        m.add()
        m.add()
        m.add(f"def forward(params, {self.X}, {self.Y}):")
        m.add('"""The forward band, then the cache band: returns the loss J and the cache backward reads."""', depth=1)
        for layer in range(1, L + 1):
            layer_spec = self.layer(layer)
            if layer_spec.batchnorm:
                m.statement([plain(sym.symbol("W", layer))], f'W{layer} = params["W{layer}"]', f"W{layer}")
                m.statement([self.formula(BATCHNORM.linear, layer)],
                            f"Z{layer} = weight_forward(W{layer}, {self.prev(layer)})", f"Z{layer}")
                m.statement([self.formula(BATCHNORM.params, layer)],
                            f'gamma{layer}, beta{layer} = params["gamma{layer}"], params["beta{layer}"]',
                            f"G{layer}")
                # μ is not cached (Ẑ holds it); nor are σ² and Ẑ above the layer backprop stops at
                kept = ["var", "Znorm"] if layer >= self.k else []
                outputs = ", ".join(f"{'' if name in kept else '_'}{name}{layer}" for name in ("mu", "var", "Znorm"))
                m.statement(_flat_lines(sym.render(BATCHNORM.forward, layer)),
                            f"{outputs}, Zbn{layer} = batchnorm_forward(Z{layer}, gamma{layer}, beta{layer})",
                            f"BN{layer}")
            else:
                m.statement([f"{plain(sym.symbol('W', layer))}, {plain(sym.symbol('b', layer))}"],
                            f'W{layer}, b{layer} = params["W{layer}"], params["b{layer}"]', f"W{layer}")
                m.statement([self.formula(LINEAR.forward, layer)],
                            f"Z{layer} = affine_forward(W{layer}, {self.prev(layer)}, b{layer})", f"Z{layer}")
            if layer_spec.dropout is not None:
                m.statement([f"{plain(sym.symbol('D', layer))}, the dropout mask"],
                            f'D{layer} = params["D{layer}"]', f"D{layer}")
            act = layer_spec.activation
            value = f"{act}_forward({self.argument(layer)})"
            if layer_spec.dropout is not None:
                value = f"dropout_forward({value}, D{layer}, {layer_spec.dropout!r})"
            m.statement([_flat(self.labels.activation_label(layer))], f"A{layer} = {value}", f"A{layer}")
        comments = [self.formula(self.loss.forward, L)]
        code = f"J = {spec.loss}_forward(A{L}, {self.Y})"
        if spec.l2 is not None:
            loss = _code(spec.loss, self.loss.code)
            averaged = self.loss.scale_label != ""
            comments.append(f"{_flat(sym.render(L2.penalty[averaged]))}, λ = {spec.l2:g}")
            if re.search(r"\bm\b", loss.scale):
                code = f"m = {self.Y}.shape[1]\n" + code
            ws = ", ".join(f"W{layer}" for layer in range(1, L + 1))
            code += f"\nJ = J + l2_forward([{ws}], {spec.l2!r}, {loss.scale})"
        m.statement(comments, code, "loss")
        m.add("# the cache band: what the backward pass reads", depth=1)
        m.add("cache = {", depth=1)
        for name, node in self.cached():
            m.add(f'"{name}": {name},', f"cache.{node}", depth=2)
        m.add("}", depth=1)
        m.add("return J, cache", depth=1)

    def backward(self) -> None:
        m, spec, L, k, sym = self.m, self.spec, self.L, self.k, self.sym
        loss = _code(spec.loss, self.loss.code)
        m.add()
        m.add()
        m.add("def backward(params, cache):")
        below = f"layer {k}" if k > 1 else "layer 1"
        m.add(f'"""The backward band, from the loss down to {below}: reads only the cache, returns the gradients."""',
              depth=1)
        if re.search(r"\bm\b", loss.scale):
            m.add(f'm = cache["{self.Y}"].shape[1]', depth=1)
        m.add(f"scale = {loss.scale}  # the loss's averaging factor: {self.loss.scale_label.strip() or '1'}",
              depth=1)
        out = spec.layers[-1].activation
        if self.fused is not None:
            m.statement([_flat(self.labels.activation_gradient_label(L))],
                        f'{self.gradient(L)} = {out}_{spec.loss}_backward(cache["A{L}"], cache["{self.Y}"])', f"dZ{L}")
        else:
            m.statement([self.formula(self.loss.derivative, L)],
                        f'dA{L} = {spec.loss}_backward(cache["A{L}"], cache["{self.Y}"])', f"dA{L}")
            self.activation_backward(L)
        dw, db = param_gradients(self.loss)
        averaged = self.loss.scale_label != ""
        if spec.l2 is not None:
            dw += L2.weight_gradient[averaged]
        for layer in range(L, k - 1, -1):
            prev = self.prev(layer)
            layer_spec = self.layer(layer)
            if layer_spec.batchnorm:
                scale = self.loss.scale_label
                m.statement([self.formula(fill(BATCHNORM.gamma_gradient, scale=scale), layer),
                             self.formula(fill(BATCHNORM.beta_gradient, scale=scale), layer),
                             self.formula(BATCHNORM.derivative, layer)],
                            f"dgamma{layer}, dbeta{layer}, dZ{layer} = batchnorm_backward(dZbn{layer}, "
                            f'cache["Znorm{layer}"], cache["var{layer}"], cache["gamma{layer}"], scale)', f"dG{layer}")
                code = f'dW{layer} = weight_backward(dZ{layer}, cache["{prev}"], scale)'
                comments = [self.formula(dw, layer)]
            else:
                code = f'dW{layer}, db{layer} = affine_backward(dZ{layer}, cache["{prev}"], scale)'
                comments = [self.formula(dw, layer), self.formula(db, layer)]
            if spec.l2 is not None:
                code += f'\ndW{layer} = dW{layer} + l2_backward(cache["W{layer}"], {spec.l2!r}, scale)'
            m.statement(comments, code, f"dW{layer}")
            if layer > k:
                m.statement([self.formula(PREVIOUS_GRADIENT, layer)],
                            f'dA{layer - 1} = affine_backward_input(cache["W{layer}"], dZ{layer})', f"dW{layer}")
                for n in self.labels.skips_into(layer - 1):
                    comment = fill(RESIDUAL.sum, skip_grad=sym.symbol("dA", layer - 1),
                                   grad=self.labels.argument_gradient(n))
                    m.statement([_flat(comment) + ", the skip's gradient"],
                                f"dA{layer - 1} = dA{layer - 1} + residual_backward({self.gradient(n)})",
                                f"sum{layer - 1}")
                self.activation_backward(layer - 1)
        m.add("return {", depth=1)
        for layer in range(k, L + 1):
            m.add(f'"dW{layer}": dW{layer},', f"dW{layer}", depth=2)
            if self.layer(layer).batchnorm:
                m.add(f'"dgamma{layer}": dgamma{layer},', f"dG{layer}", depth=2)
                m.add(f'"dbeta{layer}": dbeta{layer},', f"dG{layer}", depth=2)
            else:
                m.add(f'"db{layer}": db{layer},', f"dW{layer}", depth=2)
        m.add("}", depth=1)

    def activation_backward(self, layer: int) -> None:
        """dZ (or dZ_bn) of ``layer`` from dA: the activation's rule, the dropout rule, or g′ from g's output."""
        spec = self.layer(layer)
        name = spec.activation
        act = ACTIVATION_OPS[name]
        form = self.form(layer)
        if form == "dropout":
            value = f'dropout_backward(dA{layer}, cache["D{layer}"], {spec.dropout!r})'
            if act.slope:
                value += f" * {name}_slope({self.argument(layer, cached=True)})"
        elif form == "output":
            value = f'{name}_backward_from_output(dA{layer}, cache["A{layer}"])'
        else:
            uses = [self.argument(layer, cached=True) if used == "Z" else f'cache["A{layer}"]' for used in act.uses]
            value = f"{name}_backward({', '.join([f'dA{layer}', *uses])})"
        self.m.statement([_flat(self.labels.activation_gradient_label(layer))], f"{self.gradient(layer)} = {value}",
                         f"dZ{layer}")

    def example(self) -> None:
        """``example()``: the spec's numbers, drawn exactly as ``model.numeric_pass.draw_arrays`` draws them."""
        m, spec = self.m, self.spec
        values: ValuesSpec = spec.numbers()
        sizes, batch = spec.sizes, values.batch
        dropout = [layer for layer in range(1, self.L + 1) if self.layer(layer).dropout is not None]
        if dropout:
            m.function("dropout_mask", ("rng", "shape", "keep"), "A dropout mask of 0/1 with P(1) = keep",
                       _body("dropout (its mask)", DROPOUT.draw_code))
        m.add()
        m.add()
        m.add("def example():")
        m.add(f'"""The spec\'s numbers: params, {self.X} and {self.Y} (batch m = {batch}, seed {values.seed}, '
              'drawn as bpdiagram draws them)."""', depth=1, prose=True)
        m.add(f"rng = np.random.default_rng({values.seed})", depth=1)
        m.add(f"{self.X} = rng.standard_normal(({sizes[0]}, {batch}))", depth=1)
        m.add("params = {}", depth=1)
        for layer in range(1, self.L + 1):
            fan_in = sizes[layer - 1]
            bn = self.layer(layer).batchnorm
            if values.init is None:
                m.add(f'params["W{layer}"] = rng.standard_normal(({sizes[layer]}, {fan_in})) / np.sqrt({fan_in})',
                      depth=1)
            else:
                factor = init_factor(values, fan_in)  # written exactly, so the draw is bpdiagram's to the last bit
                m.add(f'params["W{layer}"] = rng.standard_normal(({sizes[layer]}, {fan_in})) * {factor!r}'
                      f"  # init: {values.init}", depth=1)
            if bn:
                m.add(f"rng.standard_normal(({sizes[layer]}, 1))  # b's draw, dropped: a batch-norm layer has no bias",
                      depth=1)
            elif values.init is None:
                m.add(f'params["b{layer}"] = 0.1 * rng.standard_normal(({sizes[layer]}, 1))', depth=1)
            else:
                m.add(f"rng.standard_normal(({sizes[layer]}, 1))  # b's draw, dropped: with an init, biases start at 0",
                      depth=1)
                m.add(f'params["b{layer}"] = np.zeros(({sizes[layer]}, 1))', depth=1)
        n = sizes[-1]
        if spec.loss == "bce":
            target = f"rng.integers(0, 2, size=({n}, {batch})).astype(np.float64)"
        elif spec.loss == "ce":
            target = f"np.eye({n})[:, rng.integers(0, {n}, size={batch})]"
        else:
            target = f"rng.standard_normal(({n}, {batch}))"
        m.add(f"{self.Y} = {target}", depth=1)
        for layer in range(1, self.L + 1):
            layer_spec = self.layer(layer)
            if layer_spec.dropout is not None:
                m.add(f'params["D{layer}"] = dropout_mask(rng, ({sizes[layer]}, {batch}), {layer_spec.dropout!r})',
                      depth=1)
            if layer_spec.batchnorm:
                m.add(f'params["gamma{layer}"] = np.ones(({sizes[layer]}, 1))', depth=1)
                m.add(f'params["beta{layer}"] = np.zeros(({sizes[layer]}, 1))', depth=1)
        given = {name: rows for name, rows in values.arrays.items()
                 if not (name.startswith("b") and name[1:].isdigit() and self.layer(int(name[1:])).batchnorm)}
        if given:
            m.add("# given in the spec (drawn above all the same, so the other arrays stay as bpdiagram draws them)",
                  depth=1)
        for name, rows in given.items():
            target_name = {"X": self.X, "Y": self.Y}.get(name)
            left = target_name if target_name is not None else f'params["{name}"]'
            m.add(_array(left, rows), depth=1)
        m.add(f"return params, {self.X}, {self.Y}", depth=1)

    def main(self) -> None:
        m = self.m
        m.add()
        m.add()
        m.add('if __name__ == "__main__":')
        m.add(f"params, {self.X}, {self.Y} = example()", depth=1)
        m.add(f"J, cache = forward(params, {self.X}, {self.Y})", depth=1)
        m.add("grads = backward(params, cache)", depth=1)
        m.add("np.set_printoptions(precision=6, suppress=True)", depth=1)
        m.add('print(f"J = {J:.10g}")', depth=1)
        m.add("for name, grad in grads.items():", depth=1)
        m.add('print(f"{name} =\\n{grad}")', depth=2)


def _flat_lines(markup: str) -> list[str]:
    """Each line of a label as plain text (batch norm's μ, Ẑ and Z̃ lines, one comment each)."""
    return [line for line in plain_lines(markup) if line]


def _assign(names: Sequence[str], expressions: Sequence[str]) -> str:
    """``name = expression`` lines; an expression's continuation lines are indented under its first."""
    lines = []
    for name, expression in zip(names, expressions, strict=True):
        first, *rest = expression.split("\n")
        lines.append(f"{name} = {first}")
        lines += [" " * (len(name) + 3) + line for line in rest]
    return "\n".join(lines)


def _array(left: str, rows: Sequence[Sequence[float]]) -> str:
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


# -- expressions -------------------------------------------------------------------------


def _unique(name: str, taken: set[str]) -> str:
    while name in taken or iskeyword(name):
        name += "_"
    taken.add(name)
    return name


def _gate_doc(template: str) -> str:
    filled = (template.replace("d$o", "dout").replace("$a", "a").replace("$b", "b").replace("$o", "out")
              .replace("$c", "c").replace("$k", "(c − 1)"))
    return plain(filled)


def _expression(spec: ExpressionSpec, source: str) -> Listing:
    ev = evaluate(spec)
    m = _Module()
    taken = set(spec.variables) | {"math", "cache", "forward", "backward", "VALUES", "grads", "name", "grad"}
    # Python names: the variables as they are, each gate's result as the diagram names it (q, r, …, f)
    names: dict[str, str] = {f"var.{v}": v for v in spec.variables}
    for gate in ev.gates:
        names[gate.id] = _unique(plain(gate.out.name), taken)
    functions: dict[Gate, tuple[str, str]] = {}
    for gate in ev.gates:
        if gate.node.op not in functions:
            functions[gate.node.op] = (_unique(f"{gate.node.op}_forward", taken),
                                       _unique(f"{gate.node.op}_backward", taken))
    # a gradient is passed back to a gate's input only when some variable lies behind it
    needs = {f"var.{v}" for v in spec.variables}
    for gate in ev.gates:
        if any(w.node in needs for w in gate.inputs):
            needs.add(gate.id)
    grad = {node: _unique(f"d{name}", taken) for node, name in names.items()}
    title = spec.title if spec.title is not None else f"f = {spec.source}"
    m.add(_header(title, "forward(**values) returns (f, cache), backward(cache) the gradient of f with respect "
                  "to each variable; each statement is commented with the formula of the diagram node it "
                  "implements. Run it as a script to compute f and every gradient on the spec's values.", source),
          prose=True)
    m.add()
    if _uses_math(ev.gates):
        m.add("import math")
        m.add()
    m.add("# -- the gates: one forward/backward pair per gate of the diagram, from bpdiagram's catalogue --")
    for op, (fwd, bwd) in functions.items():
        entry = GATE_OPS[op]
        code = _code(op, entry.code)
        arity = len(entry.rules)
        args = ["a", "b"][:arity] + (["c"] if op == "pow" else [])
        m.function(fwd, args, _gate_doc(entry.forward), code.forward)
        keeps = ["out" if kept == "o" else kept for kept in entry.keeps]
        m.function(bwd, [*keeps, *(["c"] if op == "pow" else []), "dout"],
                   "; ".join(_gate_doc(rule) for rule in entry.rules), "", code.backward)

    def value(wire: Wire, cached: bool) -> str:
        if wire.node is None:
            return repr(float(wire.value))
        return f'cache["{names[wire.node]}"]' if cached else names[wire.node]

    def exponent(gate: GateValue) -> list[str]:
        return [repr(float(gate.node.exponent))] if gate.node.exponent is not None else []

    m.add()
    m.add()
    ambiguous = "  # noqa: E741  (the spec's names)" if {"l", "I", "O"} & set(spec.variables) else ""
    m.add(f"def forward({', '.join(spec.variables)}):{ambiguous}")
    m.add('"""The forward band, then the cache band: returns f and the cache backward reads."""', depth=1)
    kept: dict[str, str] = {}
    for gate in ev.gates:
        fwd = functions[gate.node.op][0]
        args = [value(w, False) for w in gate.inputs] + exponent(gate)
        m.statement([f"{plain(gate.out.name)} = {plain(_fill(GATE_OPS[gate.node.op].forward, gate))}"],
                    f"{names[gate.id]} = {fwd}({', '.join(args)})", gate.id)
        for k in GATE_OPS[gate.node.op].keeps:
            wire = gate.out if k == "o" else gate.inputs["ab".index(k)]
            if wire.node is not None:
                kept.setdefault(names[wire.node], wire.node)
    m.add("# the cache band: what the backward pass reads", depth=1)
    m.add("cache = {" if kept else "cache = {}", depth=1)
    for name, node in kept.items():
        m.add(f'"{name}": {name},', f"cache.{node}", depth=2)
    if kept:
        m.add("}", depth=1)
    m.add(f"return {names[ev.gates[-1].id]}, cache", depth=1)

    m.add()
    m.add()
    m.add("def backward(cache):")
    m.add('"""The backward band, from f back to each variable: reads only the cache, returns df/d(variable)."""',
          depth=1)
    final = ev.gates[-1]
    m.statement([f"d{plain(final.out.name)} = 1"], f"{grad[final.id]} = 1.0", f"d.{final.id}")
    parts: dict[str, list[str]] = {v: [] for v in spec.variables}
    for gate in reversed(ev.gates):
        if gate.id not in needs:
            continue
        entry = GATE_OPS[gate.node.op]
        targets = []
        for wire in gate.inputs:
            if wire.node is None or wire.node not in needs:
                targets.append("_")
            elif wire.node.startswith("var.") and len(ev.contributions[wire.node[4:]]) > 1:
                var = wire.node[4:]
                part = _unique(f"{grad[wire.node]}_{len(parts[var]) + 1}", taken)
                parts[var].append(part)
                targets.append(part)
            else:
                targets.append(grad[wire.node])
        keeps = [value(gate.out if k == "o" else gate.inputs["ab".index(k)], True) for k in entry.keeps]
        args = [*keeps, *exponent(gate), grad[gate.id]]
        rules = [plain(_fill(rule, gate)) for rule, wire in zip(entry.rules, gate.inputs, strict=True)
                 if wire.node is not None]
        m.statement(["; ".join(rules)], f"{', '.join(targets)} = {functions[gate.node.op][1]}({', '.join(args)})",
                    f"d.{gate.id}")
    for var, summed in parts.items():
        if summed:
            m.statement([f"d{var} = {' + '.join(summed)}: {var} is used {len(summed)} times, the gradients of its "
                         "uses add up"],
                        f"{grad['var.' + var]} = {' + '.join(summed)}", f"sum.{var}")
    m.add("return {", depth=1)
    for var in spec.variables:
        m.add(f'"{var}": {grad["var." + var]},', f"grad.{var}", depth=2)
    m.add("}", depth=1)
    m.add()
    m.add()
    entries = [f'"{v}": {float(spec.values[v])!r}' for v in spec.variables]
    if len("VALUES = {" + ", ".join(entries) + "}") <= WIDTH:
        m.add("VALUES = {" + ", ".join(entries) + "}")
    else:
        m.add("VALUES = {\n" + "".join(f"{INDENT}{e},\n" for e in entries) + "}")
    m.add('"""The spec\'s values."""')
    m.add()
    m.add('if __name__ == "__main__":')
    m.add("f, cache = forward(**VALUES)", depth=1)
    m.add("grads = backward(cache)", depth=1)
    m.add('print(f"f = {f:.10g}")', depth=1)
    m.add("for name, grad in grads.items():", depth=1)
    m.add('print(f"d{name} = {grad:.10g}")', depth=2)
    return m.listing()


def _uses_math(gates: Sequence[GateValue]) -> bool:
    code = [GATE_OPS[g.node.op].code for g in gates]
    return any(c is not None and "math." in c.forward + "".join(c.backward) for c in code)
