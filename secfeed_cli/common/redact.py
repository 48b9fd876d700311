"""Keeping secrets (the API key, proxy, NATS and webhook credentials) out of everything printed.

Secrets are registered once, where they are read (:func:`add_secret`); every line secfeed writes
to stderr goes through :func:`redact` in ``diagnostics.py`` (and click's usage errors
through the same function in ``cli/entry.py``), so no message can carry one in clear, whatever
the server echoes back.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

MASK = "***"


class Secrets:
    """The secrets of one command run, each in every form it can take, longest first. The
    process masks with the running command's (:func:`use`; ``Environment.activated``)."""

    def __init__(self) -> None:
        self.forms: list[str] = []

    def add(self, secret: str) -> None:
        forms = self.forms
        forms.extend(f for f in secret_forms(secret) if f and f not in forms)
        forms.sort(key=len, reverse=True)


_active = Secrets()


def use(secrets: Secrets) -> Secrets:
    """Mask with ``secrets`` from now on (every thread: a hook's output, the status line);
    returns the ones in use before."""
    global _active
    before, _active = _active, secrets
    return before


def secret_forms(secret: str) -> set[str]:
    """The secret plain, URL-encoded (both ways) and inside a Basic credential."""
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(f"finfeedapi:{secret}".encode()).decode(),
    }


def add_secret(secret: str | None) -> None:
    """From now on, mask ``secret`` in everything :func:`redact` sees."""
    if secret:
        _active.add(secret)


def add_url_credentials(url: str) -> None:
    """A URL's credentials join the secrets in every form they travel or echo in: the password
    as written and decoded, ``user:password``, and the Basic credential made of them; a user
    name without a password is a token (``nats://TOKEN@host``) and is masked itself."""
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:  # a malformed URL is refused where it is checked
        return
    if password is not None:
        add_secret(password)
        add_secret(unquote(password))
        add_secret(f"{user or ''}:{password}")
        pair = f"{unquote(user or '')}:{unquote(password)}".encode()
        add_secret(base64.b64encode(pair).decode())
    elif user:
        add_secret(user)
        add_secret(unquote(user))


def redact(text: str) -> str:
    """``text`` with every registered secret masked."""
    for form in _active.forms:
        if form in text:
            text = text.replace(form, MASK)
    return text
