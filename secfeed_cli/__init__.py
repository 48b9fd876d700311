"""secfeed: watch SEC filings arrive in real time from the FinFeedAPI SEC WebSocket."""

__version__ = "0.1.0"


def _ended_early(signum: int, frame: object) -> None:
    import os

    os._exit(128 + signum)  # nothing has started yet: nothing to close or flush


def early_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP end the process at once, quietly, with 128 + the signal:
    until the CLI's own handlers are in place (``common/signals.py``), nothing has started."""
    import signal

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _ended_early)
