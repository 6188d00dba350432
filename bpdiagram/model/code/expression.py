"""An expression's module: one function pair per gate kind, ``forward`` over the gates, ``backward`` back.

Python names follow the diagram: the variables as the spec names them, each
gate's result as the diagram labels it (q, r, …, f), each gradient ``d`` and
that name. A gradient is passed back to a gate's input only where some
variable lies behind it, and a variable used several times gets one
gradient per use, summed at the end as the diagram's sum nodes draw it.
"""

from __future__ import annotations

from collections.abc import Sequence
from keyword import iskeyword

from bpdiagram.model.catalogue import GATE_OPS
from bpdiagram.model.code.listing import INDENT, WIDTH, Listing, ModuleText, code_of, header
from bpdiagram.model.expression import kept_reads
from bpdiagram.model.expression_values import GateValue, Wire, evaluate, fill_gate
from bpdiagram.options import Gate
from bpdiagram.richtext import plain
from bpdiagram.spec.expression import ExpressionSpec


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name`` with underscores added until no other name (nor keyword) is the same; now taken."""
    while name in taken or iskeyword(name):
        name += "_"
    taken.add(name)
    return name


def _gate_doc(template: str) -> str:
    filled = (template.replace("d$o", "dout").replace("$a", "a").replace("$b", "b").replace("$o", "out")
              .replace("$c", "c").replace("$k", "(c − 1)"))
    return plain(filled)


def _uses_math(gates: Sequence[GateValue]) -> bool:
    code = [GATE_OPS[g.node.op].code for g in gates]
    return any(c is not None and "math." in c.forward + "".join(c.backward) for c in code)


def _exponent(gate: GateValue) -> list[str]:
    """``pow``'s constant exponent, as the extra argument of its pair; nothing for the other gates."""
    return [repr(float(gate.node.exponent))] if gate.node.exponent is not None else []


class ExpressionModule:
    """Writes the module of an expression spec into ``self.m``; the names are chosen once, in ``__init__``."""

    def __init__(self, spec: ExpressionSpec, source: str) -> None:
        self.spec = spec
        self.source = source
        self.ev = evaluate(spec)
        self.m = ModuleText()
        self.taken = set(spec.variables) | {"math", "cache", "forward", "backward", "VALUES", "grads", "name",
                                            "grad"}
        # Python names: the variables as they are, each gate's result as the diagram names it (q, r, …, f)
        self.names: dict[str, str] = {f"var.{v}": v for v in spec.variables}
        for gate in self.ev.gates:  # a program's names first, as its author wrote them: c, then c_1, c_2 for c′, c″
            if gate.node.name is not None:
                ident = gate.node.name if gate.node.version == 0 else f"{gate.node.name}_{gate.node.version}"
                self.names[gate.id] = unique(ident, self.taken)
        for gate in self.ev.gates:
            if gate.node.name is None:
                self.names[gate.id] = unique(plain(gate.out.name), self.taken)
        self.functions: dict[Gate, tuple[str, str]] = {}
        for gate in self.ev.gates:
            if gate.node.op not in self.functions:
                self.functions[gate.node.op] = (unique(f"{gate.node.op}_forward", self.taken),
                                                unique(f"{gate.node.op}_backward", self.taken))
        # a gradient is passed back to a gate's input only when some variable lies behind it
        self.needs = {f"var.{v}" for v in spec.variables}
        for gate in self.ev.gates:
            if any(w.node in self.needs for w in gate.inputs):
                self.needs.add(gate.id)
        self.grad = {node: unique(f"d{name}", self.taken) for node, name in self.names.items()}
        readers: dict[str, int] = {}
        for gate in self.ev.gates:
            for wire in gate.inputs:
                if wire.node is not None and wire.var is None and wire.node in self.needs:
                    readers[wire.node] = readers.get(wire.node, 0) + 1
        self.fan_out = {gid for gid, n in readers.items() if n > 1}
        """A program's values read by several later operations (that differentiate back): their gradients add up."""

    def write(self) -> Listing:
        spec, m = self.spec, self.m
        title = spec.heading
        m.add(header(title, "forward(**values) returns (f, cache), backward(cache) the gradient of f with respect "
                     "to each variable; each statement is commented with the formula of the diagram node it "
                     "implements. Run it as a script to compute f and every gradient on the spec's values.",
                     self.source), prose=True)
        m.add()
        if _uses_math(self.ev.gates):
            m.add("import math")
            m.add()
        self.gate_functions()
        self.forward()
        self.backward()
        self.main()
        return m.listing()

    def value(self, wire: Wire, cached: bool) -> str:
        """A gate's input or output in code: a constant, the value's name, or its entry in the cache."""
        if wire.node is None:
            return repr(float(wire.value))
        return f'cache["{self.names[wire.node]}"]' if cached else self.names[wire.node]

    def gate_functions(self) -> None:
        self.m.add("# -- the gates: one forward/backward pair per gate of the diagram, from bpdiagram's catalogue --")
        for op, (fwd, bwd) in self.functions.items():
            entry = GATE_OPS[op]
            code = code_of(op, entry.code)
            arity = len(entry.rules)
            args = ["a", "b"][:arity] + (["c"] if op == "pow" else [])
            self.m.function(fwd, args, _gate_doc(entry.forward), code.forward)
            keeps = ["out" if kept == "o" else kept for kept in entry.keeps]
            self.m.function(bwd, [*keeps, *(["c"] if op == "pow" else []), "dout"],
                            "; ".join(_gate_doc(rule) for rule in entry.rules), "", code.backward)

    def forward(self) -> None:
        """``forward``: each gate's output in turn, then the cache of what the backward rules read."""
        spec, m, names = self.spec, self.m, self.names
        m.add()
        m.add()
        ambiguous = "  # noqa: E741  (the spec's names)" if {"l", "I", "O"} & set(spec.variables) else ""
        m.add(f"def forward({', '.join(spec.variables)}):{ambiguous}")
        m.add('"""The forward band, then the cache band: returns f and the cache backward reads."""', depth=1)
        kept: dict[str, str] = {}
        for gate in self.ev.gates:
            fwd = self.functions[gate.node.op][0]
            args = [self.value(w, False) for w in gate.inputs] + _exponent(gate)
            m.statement([f"{plain(gate.out.name)} = {plain(fill_gate(GATE_OPS[gate.node.op].forward, gate))}"],
                        f"{names[gate.id]} = {fwd}({', '.join(args)})", gate.id)
            for k in kept_reads(gate):  # what the diagram's cache band holds for this gate
                wire = gate.out if k == "o" else gate.inputs["ab".index(k)]
                if wire.node is not None:
                    kept.setdefault(names[wire.node], wire.node)
        m.add("# the cache band: what the backward pass reads", depth=1)
        m.add("cache = {" if kept else "cache = {}", depth=1)
        for name, node in kept.items():
            m.add(f'"{name}": {name},', f"cache.{node}", depth=2)
        if kept:
            m.add("}", depth=1)
        m.add(f"return {names[self.ev.gates[-1].id]}, cache", depth=1)

    def backward(self) -> None:
        """``backward``: from df = 1 back through the gates, then the sums of a variable's several uses."""
        spec, m, grad = self.spec, self.m, self.grad
        m.add()
        m.add()
        m.add("def backward(cache):")
        m.add('"""The backward band, from f back to each variable: reads only the cache, returns df/d(variable)."""',
              depth=1)
        final = self.ev.gates[-1]
        m.statement([f"d{plain(final.out.name)} = 1"], f"{grad[final.id]} = 1.0", f"d.{final.id}")
        parts: dict[str, list[str]] = {v: [] for v in spec.variables}
        parts.update({gid: [] for gid in self.fan_out})
        for gate in reversed(self.ev.gates):
            if gate.id in self.needs:
                summed = parts.get(gate.id)
                if summed:  # a program's value read by several lines: the gradients of its reads add up first
                    name = plain(gate.out.name)
                    m.statement([f"d{name} = {' + '.join(summed)}: {name} is read {len(summed)} times, the "
                                 "gradients of its reads add up"],
                                f"{grad[gate.id]} = {' + '.join(summed)}", f"sum.{gate.id}")
                self.gate_backward(gate, parts)
        for var, summed in parts.items():
            if var in spec.variables and summed:
                m.statement([f"d{var} = {' + '.join(summed)}: {var} is used {len(summed)} times, the gradients of "
                             "its uses add up"],
                            f"{grad['var.' + var]} = {' + '.join(summed)}", f"sum.{var}")
        m.add("return {", depth=1)
        for var in spec.variables:
            m.add(f'"{var}": {grad["var." + var]},', f"grad.{var}", depth=2)
        m.add("}", depth=1)

    def gate_backward(self, gate: GateValue, parts: dict[str, list[str]]) -> None:
        """One gate's backward call: a gradient for each input something lies behind (``_`` for the others)."""
        entry = GATE_OPS[gate.node.op]
        targets = []
        for wire in gate.inputs:
            if wire.node is None or wire.node not in self.needs:
                targets.append("_")
            elif wire.node.startswith("var.") and len(self.ev.contributions[wire.node[4:]]) > 1:
                var = wire.node[4:]
                part = unique(f"{self.grad[wire.node]}_{len(parts[var]) + 1}", self.taken)
                parts[var].append(part)
                targets.append(part)
            elif wire.node in self.fan_out:
                part = unique(f"{self.grad[wire.node]}_{len(parts[wire.node]) + 1}", self.taken)
                parts[wire.node].append(part)
                targets.append(part)
            else:
                targets.append(self.grad[wire.node])
        # a kept value no drawn rule reads (the x of x · 2, whose other input is a constant) is not in the cache:
        # the rule that would read it gives the constant's gradient, which is dropped (``_``), so 0.0 stands in
        read = kept_reads(gate)
        keeps = [self.value(gate.out if k == "o" else gate.inputs["ab".index(k)], True) if k in read else "0.0"
                 for k in entry.keeps]
        args = [*keeps, *_exponent(gate), self.grad[gate.id]]
        rules = [plain(fill_gate(rule, gate)) for rule, wire in zip(entry.rules, gate.inputs, strict=True)
                 if wire.node is not None]
        self.m.statement(["; ".join(rules)],
                         f"{', '.join(targets)} = {self.functions[gate.node.op][1]}({', '.join(args)})",
                         f"d.{gate.id}")

    def main(self) -> None:
        """``VALUES`` (the spec's values) and the script part that prints f and every gradient."""
        m = self.m
        m.add()
        m.add()
        entries = [f'"{v}": {float(self.spec.values[v])!r}' for v in self.spec.variables]
        if len("VALUES = {" + ", ".join(entries) + "}") <= WIDTH:
            m.add("VALUES = {" + ", ".join(entries) + "}")
        else:
            m.add("VALUES = {\n" + "".join(f"{INDENT}{e},\n" for e in entries) + "}")
        m.add('"""The spec\'s values."""')
        m.add()
        m.add('if __name__ == "__main__":')
        m.add("f, cache = forward(**VALUES)", depth=1)
        m.add("grads = backward(cache)", depth=1)
        m.add(f'print(f"{self.spec.output or "f"} = {{f:.10g}}")', depth=1)
        m.add("for name, grad in grads.items():", depth=1)
        m.add('print(f"d{name} = {grad:.10g}")', depth=2)
