"""``python -m secfeed_cli`` and the ``secfeed`` console script.

Ctrl-C before the CLI has loaded (its imports take tens of milliseconds) exits 130 quietly,
as it does later: the handler is installed here, before anything else is imported, and the
CLI's own handlers (``signals.py``) replace it once they are ready.
"""

import os
import signal


def _interrupted(signum: int, frame: object) -> None:
    os._exit(130)  # nothing has started yet: nothing to close or flush


def run() -> None:
    signal.signal(signal.SIGINT, _interrupted)
    from .cli import entry

    entry()


if __name__ == "__main__":
    run()
