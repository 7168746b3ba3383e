"""The ``mar-desktop`` command line.

:mod:`ui.cli.main` builds the argument parser and dispatches; each command has its own module
with a ``run(args) -> int`` that calls the layers below, prints what the person at the terminal
needs (counts, ids, file names, summaries; never PHI, keys or codes) and returns the exit
status. The layers below take typed arguments, return typed results and raise
:class:`~mar_desktop.errors.MarError`; none of them parses arguments or prints.
"""
