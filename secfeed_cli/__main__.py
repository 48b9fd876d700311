"""``python -m secfeed_cli`` and the ``secfeed`` console script.

A signal before the CLI has loaded (its imports take tens of milliseconds) exits as it does
later, quietly: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. This module installs that
as it is imported (:func:`secfeed_cli.early_signals`), before anything else is imported, and
the CLI's own handlers (``signals.py``) replace it once they are ready. What stays out of
reach is the interpreter's own start-up, before any code of secfeed runs (Python then says
"init_import_site" itself).
"""

from . import early_signals

early_signals()  # this module is imported only to run the CLI: as early as it can be


def run() -> None:
    from .cli import entry

    entry()


if __name__ == "__main__":
    run()
