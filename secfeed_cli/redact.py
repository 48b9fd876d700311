"""Keeping the API key out of everything printed. Pure."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus


def redact(text: str, secret: str | None) -> str:
    """``text`` with the secret masked, plain, URL-encoded or inside a Basic credential."""
    if not secret:
        return text
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(f"finfeedapi:{secret}".encode()).decode(),
    }
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text
