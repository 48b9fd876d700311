"""How long a test waits for an event before it calls the event missing.

One figure for the whole suite, meant for a machine five times slower than a developer's:
an event that comes, comes long before it; the figure is only reached when something is
wrong, so it costs nothing on a green run. pytest-timeout (pyproject.toml) is the outer limit
of a whole test, above any one wait.
"""

from __future__ import annotations

#: Seconds to wait for one event: a process to start and say so, a line, a frame, an exit.
WAIT = 90.0
