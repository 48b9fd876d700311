#!/usr/bin/env python3
"""Set-up and checks with nothing but python3: ``python3 scripts/dev.py demo|test|bench``.

Builds ``.venv`` next to pyproject.toml on first use (and again when pyproject.toml changes),
then runs the command in it. On a Debian python3 without the ``python3-venv`` package (no
ensurepip), the venv is made without pip and pip is bootstrapped from its own wheel on PyPI.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PY = BIN / "python"
STAMP = VENV / ".secfeed-installed"


def log(text: str) -> None:
    print(f"dev.py: {text}", file=sys.stderr, flush=True)


def run(*cmd: str | Path, check: bool = True) -> int:
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, check=check).returncode


def _bootstrap_pip() -> None:
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    log(f"no ensurepip in this python; fetching pip's wheel from {index}")
    req = urllib.request.Request(
        f"{index}/pip/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        files = json.load(resp)["files"]
    wheels = [
        f for f in files if f["filename"].endswith("-py3-none-any.whl") and not f.get("yanked")
    ]
    wheel = wheels[-1]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / wheel["filename"]
        with urllib.request.urlopen(wheel["url"], timeout=120) as resp:
            path.write_bytes(resp.read())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if "sha256" in wheel.get("hashes", {}) and wheel["hashes"]["sha256"] != digest:
            raise SystemExit("dev.py: pip wheel checksum mismatch")
        run(PY, path / "pip", "install", "-q", path)


#: What each command installs: the demo only what it runs (the ui's Textual, --text's
#: inscriptis), the tests
#: every extra and their tools. A .venv set up for the tests serves the demo as it is.
EXTRAS = {"demo": "ui,text", "test": "test"}


def ensure_venv(what: str) -> None:
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    done = STAMP.read_text().split() if STAMP.exists() else []
    if PY.exists() and done[:1] == [want] and (what in done[1:] or "test" in done[1:]):
        return
    if not PY.exists():
        log("creating .venv")
        try:
            venv.create(VENV, with_pip=True)
        except (subprocess.CalledProcessError, OSError):
            shutil.rmtree(VENV, ignore_errors=True)
            venv.create(VENV, with_pip=False)
            _bootstrap_pip()
    # The distribution was called "secfeed" before it became "secfeed-cli" (PyPI's "secfeed"
    # is another project): a .venv made before then loses the old name first.
    if any(VENV.glob("lib/python*/site-packages/secfeed-*.dist-info")):
        run(PY, "-m", "pip", "uninstall", "-y", "-q", "secfeed", check=False)
    extra = EXTRAS[what]
    tools = " and its test tools" if what == "test" else ""
    log(f"installing secfeed{tools} into .venv (pip install -e '.[{extra}]')")
    run(PY, "-m", "pip", "install", "-q", "-e", f".[{extra}]")
    levels = done[1:] if done[:1] == [want] else []
    STAMP.write_text(" ".join([want, *sorted({*levels, what})]))


def ensure_tmux() -> None:
    if shutil.which("tmux"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing tmux (the live-table tests drive a real terminal)")
        run("apt-get", "update", "-qq", check=False)
        run("apt-get", "install", "-y", "-qq", "tmux", check=False)
    if not shutil.which("tmux"):
        log("tmux is not installed: the live-table tests will be skipped")


def main() -> int:
    what = sys.argv[1] if len(sys.argv) > 1 else "help"
    rest = sys.argv[2:]
    if what not in ("demo", "test", "bench", "venv"):
        print("usage: python3 scripts/dev.py demo|test|bench|venv [args...]", file=sys.stderr)
        return 2
    ensure_venv("demo" if what == "demo" else "test")
    if what == "venv":
        return 0
    if what == "demo":
        os.execv(BIN / "secfeed", [str(BIN / "secfeed"), "demo", *rest])
    if what == "bench":
        return run(PY, ROOT / "bench" / "run.py", *rest, check=False)
    ensure_tmux()
    steps: list[list[str | Path]] = [
        [BIN / "ruff", "check", "."],
        [BIN / "ruff", "format", "--check", "."],
        [BIN / "mypy"],  # strict, over secfeed_cli, tests, bench and scripts (pyproject.toml)
        [BIN / "pytest", *rest],
    ]
    for step in steps:
        log("running " + " ".join(str(s).replace(str(ROOT) + "/", "") for s in step))
        code = run(*step, check=False)
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
