"""``python -m bpdiagram``: the same CLI as the ``bpdiagram`` command."""

from bpdiagram.cli import main

main()
