"""Acting on filings as they arrive: ``--exec`` hooks and ``--notify`` messages.

Both run beside the feed, never in its way: the run hands each batch of shown filings to
:meth:`Alerts.deliver`, which only queues them (bounded); threads do the work. The server drops
a client that falls 131,072 messages behind, so a slow hook or a dead webhook must cost
alerts, never the feed. ``--bell`` and ``--highlight`` are the live table's (``output/table.py``).
"""

from __future__ import annotations

from typing import Protocol

from ..common.diagnostics import Diagnostics
from ..common.settings import AlertSettings
from ..wire.filing import Filing


class Alert(Protocol):
    def deliver(self, filings: list[Filing]) -> None:
        """Queue these filings (already filtered, in order); never blocks."""

    def close(self, grace: float) -> None:
        """The run ends: let work in progress finish for up to ``grace`` seconds, then stop."""

    def summaries(self) -> list[str]:
        """Lines for the exit summary."""


class Alerts:
    """Every alert of a run, with the rule for which filings they see."""

    def __init__(self, settings: AlertSettings, diag: Diagnostics) -> None:
        """``diag``: the run's, for warnings, the hooks' output, and the secrets of
        notification URLs (masked in every line)."""
        self.settings = settings
        warn, echo = diag.warn, diag.echo
        self.members: list[Alert] = []
        if settings.exec_commands:
            from .hooks import ExecHooks

            self.members.append(
                ExecHooks(
                    settings.exec_commands, settings.exec_jobs, settings.exec_timeout, warn, echo
                )
            )
        if settings.notify_urls:
            from .notify import Notifier

            self.members.append(
                Notifier(
                    settings.notify_urls,
                    warn,
                    diag.stderr.secrets,
                    timeout=settings.notify_timeout,
                )
            )

    def deliver(self, filings: list[Filing]) -> None:
        if not self.settings.backlog:
            filings = [f for f in filings if not f.is_historical]
        if filings:
            for member in self.members:
                member.deliver(filings)

    def close(self) -> None:
        """The run ends: what is at work gets ``--exit-grace`` seconds, then is stopped."""
        for member in self.members:
            member.close(self.settings.exit_grace)

    def summaries(self) -> list[str]:
        return [line for member in self.members for line in member.summaries()]
