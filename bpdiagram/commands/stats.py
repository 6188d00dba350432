"""``bpdiagram stats``: what the picture of each spec measures — counts, crossings, jumps, layout problems."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bpdiagram.commands.common import EXIT_BAD_INPUT, fail
from bpdiagram.commands.drawing import given_sources
from bpdiagram.errors import BpdiagramError
from bpdiagram.options import DTYPES, JUMP_STYLES, Dtype, JumpStyle

if TYPE_CHECKING:
    from bpdiagram.layout.quality import Quality
    from bpdiagram.render_job import Options, Source


@click.command()
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
@click.option("-t", "--template", "templates", multiple=True, metavar="NAME",
              help="Measure a shipped template (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON (keys in the README).")
@click.option("--backprop-to", type=int, metavar="K", help="As for render: backward pass down to layer K.")
@click.option("--show", metavar="KINDS", help="As for render: edge kinds to draw.")
@click.option("--shapes", is_flag=True, help="As for render: (n[l], m) shapes on tensor nodes.")
@click.option("--jumps", type=click.Choice(JUMP_STYLES), default="arc", show_default=True,
              help="As for render: the jump style whose jumps are counted.")
@click.option("--wrap", metavar="N|auto", help="As for render: tiers of N layers (or auto).")
@click.option("--memory", is_flag=True, default=None, help="As for render: shapes and bytes on cached values.")
@click.option("--batch", type=int, metavar="M", help="Batch size the cache is counted at (default: values.batch, "
                                                      "else 64).")
@click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
              help="Number type the cache is counted in.")
def stats(specs: tuple[Path, ...], templates: tuple[str, ...], as_json: bool, backprop_to: int | None,
          show: str | None, shapes: bool, jumps: JumpStyle, memory: bool | None, batch: int | None, dtype: Dtype,
          wrap: str | None) -> int:
    """Measure the picture of each SPEC (or template NAME): counts, crossings, jumps, layout problems.

    Reports nodes and edges by kind, crossings and the line jumps drawn on
    them, overlapping nodes, labels spilling out of their node, edges against
    the visual grammar (with the order of layers along each band), edges
    through other nodes, backward ops not under the forward op they
    differentiate (misaligned), cache lines that turn back (detours), and the
    picture's size. Render's picture options apply, so it measures what
    render draws. Several SPECs and templates are measured one after the
    other (with --json: a list, one object each).

    \b
    Examples:
      bpdiagram stats -t two-layer-binary
      bpdiagram stats my-net.yaml --json
      bpdiagram stats -t three-layer-logistic --backprop-to 2
      bpdiagram stats -t relu-mlp -t two-layer-binary --show backward
    """
    if not specs and not templates:
        raise click.UsageError("give a SPEC file or -t NAME (or several)")
    from bpdiagram.render_job import Options  # heavy: graphviz and the layout

    options = Options(shapes=shapes, jumps=jumps, memory=memory, batch=batch, dtype=dtype)
    sources = given_sources(specs, templates)
    reports: list[dict[str, Any]] = []
    texts: list[str] = []
    failed = False
    for source in sources:
        try:
            report, text = _measure(source, options, backprop_to=backprop_to, show=show, wrap=wrap)
        except BpdiagramError as exc:
            fail(str(exc))
            failed = True
            continue
        reports.append(report)
        texts.append(text)
    if as_json:
        import json

        if reports:
            data: Any = reports[0] if len(sources) == 1 else reports
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif texts:
        click.echo("\n\n".join(texts))
    return EXIT_BAD_INPUT if failed else 0


def _measure(source: Source, options: Options, *, backprop_to: int | None, show: str | None,
             wrap: str | None) -> tuple[dict[str, Any], str]:
    """One source's numbers: as JSON data and as the text report."""
    base = source.diagram(options)[0]
    diagram = base.with_options(backprop_to=backprop_to, show=show, wrap=wrap)
    quality = diagram.stats()
    cache = diagram.cache()
    extra = {"cache": cache.to_json()} if cache is not None else {}
    text = format_stats(diagram.name, quality)
    if cache is not None:
        from bpdiagram.model.memory import human

        text += (f"\n  cache (batch {cache.batch}, {cache.dtype}): {human(cache.bytes)} ({cache.bytes:,} bytes) "
                 f"in {len(cache.values)} values")
    return {"name": diagram.name, **quality.to_dict(), **extra}, text


def format_stats(name: str, quality: Quality) -> str:
    """The ``stats`` report as aligned text lines, problems listed under their count."""

    def by_kind(counts: dict[str, int]) -> str:
        return f"{sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in counts.items())})"

    per_tier = f"{quality.wrap} layer{'s' * (quality.wrap > 1)}"
    rows: list[tuple[str, str, tuple[str, ...]]] = [
        ("size", f"{quality.width:g} × {quality.height:g} px", ()),
        ("tiers", str(quality.tiers) + (f" ({per_tier} per tier)" if quality.wrap else ""), ()),
        ("text at 16 cm", f"{quality.text_pt:g} pt (small print {quality.small_text_pt:g} pt)", ()),
        ("nodes", by_kind(quality.nodes), ()),
        ("edges", by_kind(quality.edges), ()),
        ("crossings", str(quality.crossings), ()),
        ("jumps", str(quality.jumps), ()),
        ("overlapping nodes", str(len(quality.overlapping_nodes)), quality.overlapping_nodes),
        ("spilling labels", str(len(quality.spilling_labels)), quality.spilling_labels),
        ("grammar violations", str(len(quality.grammar_violations)), quality.grammar_violations),
        ("edges through nodes", str(len(quality.edges_through_nodes)), quality.edges_through_nodes),
        ("misaligned", str(len(quality.misaligned)), quality.misaligned),
        ("detours", str(len(quality.detours)), quality.detours),
    ]
    width = max(len(label) for label, _, _ in rows)
    lines = [name]
    for label, value, details in rows:
        lines.append(f"  {label.ljust(width)}  {value}")
        lines += [f"  {'':{width}}  - {d}" for d in details]
    return "\n".join(lines)
