"""What the emulator checks of a client: its key (every place the docs allow one) and its hello."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.http11 import Request


def hello_problem(message: str | bytes) -> str | None:
    if isinstance(message, bytes):
        return "binary frame"
    try:
        data = json.loads(message)
    except ValueError:
        return "malformed JSON"
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("type") != "hello":
        return f"unsupported message type {data.get('type')!r}"
    if not isinstance(data.get("heartbeat", False), bool):
        return "'heartbeat' is not a boolean"
    return None


def authorized(request: Request | None, key: str) -> bool:
    if request is None:
        return False
    return any(hmac.compare_digest(c.encode(), key.encode()) for c in offered_keys(request))


def offered_keys(request: Request) -> list[str]:
    """Every place the docs (and their siblings) allow a key: header, Basic, query, path."""
    offered = []
    for name in ("Authorization", "X-APIKey", "X-CoinAPI-Key"):
        for value in request.headers.get_all(name):
            value = value.strip()
            if name == "Authorization" and value[:6].lower() == "basic ":
                try:
                    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    continue
                if user == "finfeedapi":
                    offered.append(password)
            else:
                offered.append(value)
    parts = urlsplit(request.path)
    offered += parse_qs(parts.query).get("apikey", [])
    offered += [unquote(s[7:]) for s in parts.path.split("/") if s.upper().startswith("APIKEY-")]
    return offered
