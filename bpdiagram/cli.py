"""The ``bpdiagram`` command line: a thin shell over ``Diagram``.

It parses arguments, calls the library and turns every ``BpdiagramError`` (and
click's usage errors) into one ``error:`` line on stderr with exit status 2.
The commands live in ``bpdiagram.commands``, one module per job; this module
holds the group, its error handling and the entry point. Heavy modules
(numpy, graphviz, the layout) are imported inside the commands that need them,
so ``--help`` and ``templates`` start fast; so are the light ones only some
commands use (json), since start-up is paid on every call
(``tests/test_startup.py`` keeps it so).
"""

from __future__ import annotations

import gc
import sys
from typing import Any

import click

from bpdiagram import __version__
from bpdiagram.commands.check import check
from bpdiagram.commands.code import code
from bpdiagram.commands.common import EXIT_BAD_INPUT, fail
from bpdiagram.commands.from_torch import from_torch
from bpdiagram.commands.render import render
from bpdiagram.commands.schema import schema
from bpdiagram.commands.stats import stats
from bpdiagram.commands.templates import templates
from bpdiagram.commands.watch import watch
from bpdiagram.errors import BpdiagramError

__all__ = ["cli", "main"]


class _Cli(click.Group):
    """A group whose errors are one ``error:`` line and exit status 2, never a traceback."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            code = super().main(args, prog_name or "bpdiagram", complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # plain ``bpdiagram``: the help, as --help shows it
            click.echo(exc.ctx.get_help() if exc.ctx else "")
            code = 0
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            fail(exc.format_message() + hint)
            code = EXIT_BAD_INPUT
        except click.ClickException as exc:
            fail(exc.format_message())
            code = EXIT_BAD_INPUT
        except BpdiagramError as exc:
            fail(str(exc))
            code = EXIT_BAD_INPUT
        except click.Abort:
            fail("aborted")
            code = 130
        except BrokenPipeError:  # the reader went away (``bpdiagram templates | head -1``): stop quietly
            sys.stderr.close()
            code = 0
        except SystemExit as exc:
            # with standalone_mode off, click exits by itself only when stdout's reader went away
            # (EPIPE, status 1); 1 is ours for a failed check, so a closed pipe ends quietly instead
            code = 0 if exc.code == 1 else exc.code
        except OSError as exc:  # stdout cannot be written (a full disk, /dev/full)
            fail(f"cannot write the output: {exc.strerror or exc}")
            code = EXIT_BAD_INPUT
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(name="bpdiagram", cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bpdiagram")
def cli() -> None:
    """Draw backpropagation diagrams from a short layer spec.

    \b
    Examples:
      bpdiagram render                      # the default template into output/
      bpdiagram render my-net.yaml -f svg   # your spec, SVG only
      bpdiagram render my-net.yaml -f html  # an interactive page for web course notes
      bpdiagram render specs/*.yaml -o site/img -f svg,pdf
      bpdiagram templates                   # list the shipped templates
      bpdiagram templates relu-mlp > my-net.yaml
      bpdiagram check -t two-layer-binary   # gradients vs finite differences
      bpdiagram stats -t relu-mlp           # crossings, jumps and layout problems
      bpdiagram code -t two-layer-binary    # the forward and backward pass as Python
      bpdiagram from-torch mlp.py:model     # the spec of a PyTorch nn.Sequential
      bpdiagram schema -o spec.schema.json  # a JSON Schema for editors' completion
    """


for command in (render, watch, check, code, templates, stats, from_torch, schema):
    cli.add_command(command)


GC_THRESHOLDS = (100_000, 50, 100)
"""The cycle collector's thresholds for a command (Python's are 700, 10, 10). A render makes millions of
small objects (routes, chords, SVG elements) that live until it ends and are freed by reference counting;
with Python's thresholds the collector ran thousands of times over them, and its full passes over the whole
heap cost a 256-layer diagram about a second of its ten. A command is a short batch job, so collecting
rarely loses nothing; a program that imports ``bpdiagram`` keeps its own settings."""


def main() -> None:
    """Console-script entry point."""
    gc.set_threshold(*GC_THRESHOLDS)
    cli.main(prog_name="bpdiagram")
