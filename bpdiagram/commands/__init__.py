"""The commands of the ``bpdiagram`` command line, one module per job.

``bpdiagram.cli`` holds the group (its error handling and entry point) and
adds these commands to it: ``render`` and ``watch`` (the two that build
files, sharing ``drawing``'s options), ``check``, ``code``, ``stats`` and
``templates``. Every module imports its heavy libraries inside the command,
so ``--help`` and ``templates`` start fast.
"""
