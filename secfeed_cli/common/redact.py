"""Keeping secrets (the API key, proxy, NATS and webhook credentials) out of everything printed.

Secrets are registered once, where they are read (:meth:`Secrets.add`); every line secfeed
writes to stderr goes through :meth:`Secrets.redact` in ``diagnostics.py`` (and click's usage
errors through the same in ``cli/entry.py``), so no message can carry one in clear, whatever
the server echoes back.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

MASK = "***"


class Secrets:
    """The secrets of one command run, each in every form it can take, longest first.

    A command's :class:`~secfeed_cli.run.environment.Environment` holds one; its option
    builders add what they read, and every line of the command's diagnostics is masked with
    it (``diagnostics.Stderr``): no module keeps secrets, so two commands run in one process
    (tests) share none."""

    def __init__(self) -> None:
        self.forms: list[str] = []

    def add(self, secret: str | None) -> None:
        """From now on, mask ``secret`` in everything :meth:`redact` sees."""
        if not secret:
            return
        forms = self.forms
        forms.extend(f for f in secret_forms(secret) if f and f not in forms)
        forms.sort(key=len, reverse=True)

    def add_url(self, url: str) -> None:
        """A URL's credentials join the secrets in every form they travel or echo in: the
        password as written and decoded, ``user:password``, and the Basic credential made of
        them; a user name without a password is a token (``nats://TOKEN@host``) and is masked
        itself."""
        from urllib.parse import unquote, urlsplit

        try:
            parts = urlsplit(url)
            user, password = parts.username, parts.password
        except ValueError:  # a malformed URL is refused where it is checked
            return
        if password is not None:
            self.add(password)
            self.add(unquote(password))
            self.add(f"{user or ''}:{password}")
            pair = f"{unquote(user or '')}:{unquote(password)}".encode()
            self.add(base64.b64encode(pair).decode())
        elif user:
            self.add(user)
            self.add(unquote(user))

    def redact(self, text: str) -> str:
        """``text`` with every secret masked."""
        for form in self.forms:
            if form in text:
                text = text.replace(form, MASK)
        return text


def secret_forms(secret: str) -> set[str]:
    """The secret plain, URL-encoded (both ways) and inside a Basic credential."""
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(f"finfeedapi:{secret}".encode()).decode(),
    }
