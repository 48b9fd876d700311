"""NATS decentralised auth for tests: an operator, an account with JetStream, a user, their
JWTs signed with nkeys, a creds file as ``nsc generate creds`` writes it, and a nats-server
configuration that trusts them (resolver MEMORY). Made here, no nsc needed."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import nkeys

UNLIMITED = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1}
UNLIMITED |= {"wildcards": True, "conn": -1, "leaf": -1}
JETSTREAM = {"mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Key:
    def __init__(self, prefix: int) -> None:
        self.pair = nkeys.from_seed(nkeys.encode_seed(os.urandom(32), prefix))
        self.public = self.pair.public_key.decode()
        self.seed = self.pair.seed.decode()


def jwt(issuer: Key, subject: Key, name: str, nats: dict[str, Any]) -> str:
    claims = {
        "jti": base64.b32encode(os.urandom(20)).decode().rstrip("="),
        "iat": int(time.time()),
        "iss": issuer.public,
        "name": name,
        "sub": subject.public,
        "nats": {**nats, "version": 2},
    }
    head = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = _b64(issuer.pair.sign(f"{head}.{body}".encode()))
    return f"{head}.{body}.{signature}"


def operator_setup(folder: Path) -> tuple[Path, Path]:
    """(nats-server config, user creds file) in ``folder``."""
    operator = Key(nkeys.PREFIX_BYTE_OPERATOR)
    system, account = Key(nkeys.PREFIX_BYTE_ACCOUNT), Key(nkeys.PREFIX_BYTE_ACCOUNT)
    user = Key(nkeys.PREFIX_BYTE_USER)
    op_jwt = jwt(operator, operator, "test-operator", {"type": "operator"})
    sys_jwt = jwt(operator, system, "SYS", {"type": "account", "limits": UNLIMITED})
    acc_jwt = jwt(
        operator, account, "FEED", {"type": "account", "limits": {**UNLIMITED, **JETSTREAM}}
    )
    user_jwt = jwt(
        account,
        user,
        "relay",
        {"type": "user", "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1},
    )
    creds = folder / "relay.creds"
    creds.write_text(
        "-----BEGIN NATS USER JWT-----\n"
        f"{user_jwt}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n"
        "NKEYs are sensitive and should be treated as secrets.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{user.seed}\n"
        "------END USER NKEY SEED------\n"
    )
    creds.chmod(0o600)
    conf = folder / "server.conf"
    conf.write_text(
        f'operator: "{op_jwt}"\n'
        f"system_account: {system.public}\n"
        "resolver: MEMORY\n"
        "resolver_preload: {\n"
        f'  {system.public}: "{sys_jwt}"\n'
        f'  {account.public}: "{acc_jwt}"\n'
        "}\n"
    )
    return conf, creds
