"""Mutation testing of the core modules: do the tests catch what they claim to?

    python3 scripts/mutants.py                      # every group, a sample of each
    python3 scripts/mutants.py --group framing --all
    python3 scripts/mutants.py --list --group escaping   # the mutants, not run

Each mutant is one small change to one module (a comparison turned, ``and`` for ``or``, a
number moved by one, a condition negated, a call or an assignment dropped, ``break`` for
``continue``, a short string changed); the group's tests run against it in a copy of this
checkout (``-x``: the first failure kills it). A mutant that survives is a change no test
notices: a missing test, or an equivalent mutant (the same behaviour written differently),
which the note on the issue names. Results go to ``bench/.work/mutants.json`` and a table per
group on stdout. Not part of the test command: a full run takes tens of minutes.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = Path(sys.executable)  # run this with the venv's python: .venv/bin/python scripts/mutants.py

#: group: (modules, the tests that claim to cover them)
GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "connection": (
        ("secfeed_cli/feed/connection.py", "secfeed_cli/feed/linkstate.py"),
        (
            "tests/test_connection.py",
            "tests/test_linkstate.py",
            "tests/test_faults.py",
            "tests/test_hostile.py",
        ),
    ),
    "stream": (
        ("secfeed_cli/feed/stream.py", "secfeed_cli/feed/retry.py"),
        (
            "tests/test_stream_machine.py",
            "tests/test_retry.py",
            "tests/test_faults.py",
            "tests/test_tail.py",
        ),
    ),
    "snapshot": (
        ("secfeed_cli/run/snapshot.py", "secfeed_cli/common/files.py"),
        ("tests/test_snapshot.py", "tests/test_tail_state.py"),
    ),
    "redaction": (
        ("secfeed_cli/common/redact.py",),
        (
            "tests/test_verbose.py",
            "tests/test_config.py",
            "tests/test_local_input.py",
            "tests/test_alerts.py",
            "tests/test_pure.py",
        ),
    ),
    "protocol": (
        ("secfeed_cli/wire/protocol.py", "secfeed_cli/wire/details.py"),
        ("tests/test_protocol.py", "tests/test_pure.py"),
    ),
    "framing": (
        ("secfeed_cli/feed/frames.py",),
        ("tests/test_frames.py", "tests/test_linkstate.py"),
    ),
    "escaping": (
        ("secfeed_cli/common/escape.py",),
        (
            "tests/test_pure.py",
            "tests/test_layout.py",
            "tests/test_tail.py",
            "tests/test_alerts.py",
            "tests/test_verbose.py",
        ),
    ),
    # The core modules, each against its own in-process tests only (seconds a mutant):
    "linkstate": (
        ("secfeed_cli/feed/linkstate.py", "secfeed_cli/feed/retry.py"),
        ("tests/test_linkstate.py", "tests/test_retry.py"),
    ),
    "details": (
        (
            "secfeed_cli/details/ownership.py",
            "secfeed_cli/details/eightk.py",
            "secfeed_cli/details/schedule13.py",
            "secfeed_cli/details/sgml.py",
            "secfeed_cli/details/criteria.py",
        ),
        ("tests/test_details.py",),
    ),
    "filtering": (
        (
            "secfeed_cli/filtering/filters.py",
            "secfeed_cli/filtering/forms.py",
            "secfeed_cli/filtering/when.py",
            "secfeed_cli/filtering/formcheck.py",
            "secfeed_cli/filtering/watchlist.py",
        ),
        ("tests/test_filtering.py", "tests/test_pure.py", "tests/test_when.py"),
    ),
    "redact": (("secfeed_cli/common/redact.py",), ("tests/test_pure.py",)),
    "link": (
        (
            "secfeed_cli/feed/connection.py",
            "secfeed_cli/feed/links.py",
            "secfeed_cli/feed/events.py",
        ),
        ("tests/test_connection.py", "tests/test_linkstate.py", "tests/test_stream_machine.py"),
    ),
    "handshake": (("secfeed_cli/feed/handshake.py",), ("tests/test_hostile.py",)),
    "streaming": (
        (
            "secfeed_cli/feed/stream.py",
            "secfeed_cli/feed/dialing.py",
            "secfeed_cli/feed/dedupe.py",
        ),
        ("tests/test_stream_machine.py", "tests/test_retry.py", "tests/test_pure.py"),
    ),
    "fetching": (
        ("secfeed_cli/feed/httpget.py", "secfeed_cli/feed/proxy.py", "secfeed_cli/feed/sockets.py"),
        ("tests/test_httpget.py",),
    ),
}
#: The groups of the core modules (``--core``): 90% of their mutants killed, raw.
CORE = (
    "linkstate",
    "details",
    "filtering",
    "redact",
    "escaping",
    "framing",
    "protocol",
    "link",
    "handshake",
    "streaming",
    "fetching",
)

_SWAP_CMP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_SWAP_BIN = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
    ast.BitXor: ast.BitOr,
}


@dataclass
class Mutant:
    module: str
    line: int
    what: str
    start: tuple[int, int]  # (line, column) of the replaced text, 1-based line
    end: tuple[int, int]
    text: str  # what replaces it
    killed: bool | None = None
    by: str = ""


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _skipped(tree: ast.AST) -> set[int]:
    """Nodes not to mutate: annotations, docstrings, f-string parts, ``TYPE_CHECKING``."""
    ids = _docstrings(tree)
    for node in ast.walk(tree):
        inner: list[ast.AST] = []
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            inner.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.returns is not None:
                inner.append(node.returns)
            inner.extend(node.decorator_list)
        if isinstance(node, ast.JoinedStr):
            inner.extend(node.values)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inner.append(node)
        for sub in inner:
            ids.update(id(n) for n in ast.walk(sub))
    return ids


def mutants_of(path: str) -> list[Mutant]:
    source = (ROOT / path).read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    skip = _skipped(tree)
    found: list[Mutant] = []

    def add(node: ast.AST, what: str, text: str) -> None:
        assert isinstance(node, ast.expr | ast.stmt)
        if "no mutate" in lines[node.lineno - 1]:
            return
        end_line = node.end_lineno or node.lineno
        end_col = node.end_col_offset if node.end_col_offset is not None else 0
        start = (node.lineno, node.col_offset)
        found.append(Mutant(path, node.lineno, what, start, (end_line, end_col), text))

    def segment(node: ast.AST) -> str:
        return ast.get_source_segment(source, node) or ast.unparse(node)

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                other = _SWAP_CMP.get(type(op))
                if other is not None:
                    changed = ast.Compare(node.left, list(node.ops), node.comparators)
                    changed.ops[i] = other()
                    add(node, f"{type(op).__name__} -> {other.__name__}", ast.unparse(changed))
        elif isinstance(node, ast.BoolOp):
            swapped = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            add(node, "and <-> or", ast.unparse(ast.BoolOp(swapped, node.values)))
        elif isinstance(node, ast.BinOp) and not isinstance(node.left, ast.JoinedStr):
            swap = _SWAP_BIN.get(type(node.op))
            if swap is not None:
                changed_bin = ast.BinOp(node.left, swap(), node.right)
                add(node, f"{type(node.op).__name__} -> {swap.__name__}", ast.unparse(changed_bin))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(node, "not dropped", f"({segment(node.operand)})")
        elif isinstance(node, ast.Constant) and not isinstance(node.value, bytes | type(None)):
            value = node.value
            if isinstance(value, bool):
                add(node, f"{value} -> {not value}", repr(not value))
            elif isinstance(value, int):
                add(node, f"{value} -> {value + 1}", repr(value + 1))
            elif isinstance(value, float):
                add(node, f"{value} -> {value * 2 + 1}", repr(value * 2 + 1))
            elif isinstance(value, str) and 0 < len(value) <= 12:
                add(node, f"{value!r} -> 'XX'", repr("XX" + value))
        elif isinstance(node, ast.If | ast.While):
            add(node.test, "condition negated", f"not ({segment(node.test)})")
        elif isinstance(node, ast.Break):
            add(node, "break -> continue", "continue")
        elif isinstance(node, ast.Continue):
            add(node, "continue -> break", "break")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            add(node, f"call dropped: {segment(node)[:40]}", "pass")
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Attribute):
            add(node, f"assignment dropped: {segment(node)[:40]}", "pass")
        elif isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                add(node, "return None", "return None")
    return [m for m in found if _compiles(source, m)]


def apply(source: str, m: Mutant) -> str:
    lines = source.splitlines(keepends=True)
    (l0, c0), (l1, c1) = m.start, m.end
    before = "".join(lines[: l0 - 1]) + lines[l0 - 1][:c0]
    after = lines[l1 - 1][c1:] + "".join(lines[l1:])
    return before + m.text + after


def _compiles(source: str, m: Mutant) -> bool:
    try:
        compile(apply(source, m), m.module, "exec")
    except SyntaxError:
        return False
    return True


def run_one(m: Mutant, tests: tuple[str, ...], work: Path, timeout: float) -> Mutant:
    target = work / m.module
    original = (ROOT / m.module).read_text()
    target.write_text(apply(original, m))
    for cached in (target.parent / "__pycache__").glob(f"{target.stem}.*.pyc"):
        cached.unlink()
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    command = [str(PY), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-n", "0"]
    try:
        done = subprocess.run(
            [*command, *tests],
            cwd=work,
            env=env,
            capture_output=True,
            timeout=timeout,
            text=True,
        )
        m.killed = done.returncode != 0
        failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
        m.by = failed[0][7:100] if failed else ("" if not m.killed else done.stdout[-200:])
    except subprocess.TimeoutExpired:
        m.killed, m.by = True, f"timed out after {timeout:g} s"
    finally:
        target.write_text(original)
    return m


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", action="append", choices=sorted(GROUPS))
    parser.add_argument("--core", action="store_true", help="the core groups (CORE)")
    parser.add_argument("--per-group", type=int, default=25, help="mutants sampled per group")
    parser.add_argument("--all", action="store_true", help="every mutant, no sample")
    parser.add_argument("--seed", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--list", action="store_true", help="show the mutants, run nothing")
    parser.add_argument(
        "--again",
        type=Path,
        metavar="JSON",
        help="run only the survivors of an earlier run's results (bench/.work/mutants.json),"
        " counting its killed ones: after tests were added",
    )
    args = parser.parse_args()
    groups = args.group or (list(CORE) if args.core else sorted(GROUPS))
    chosen: list[tuple[str, Mutant]] = []
    for group in groups:
        modules, _ = GROUPS[group]
        pool = [m for module in modules for m in mutants_of(module)]
        if not args.all and len(pool) > args.per_group:
            pool = random.Random(f"{args.seed}:{group}").sample(pool, args.per_group)
        chosen += [(group, m) for m in sorted(pool, key=lambda m: (m.module, m.line))]
    earlier: list[tuple[str, Mutant]] = []
    if args.again is not None:
        before = {
            (r["group"], r["module"], r["line"], r["what"], r["text"]): r
            for r in json.loads(args.again.read_text())
        }
        rerun = []
        for group, m in chosen:
            found = before.get((group, m.module, m.line, m.what, m.text))
            if found is not None and found["killed"]:
                m.killed, m.by = True, found["by"]
                earlier.append((group, m))
            else:
                rerun.append((group, m))
        chosen = rerun
    if args.list:
        for group, m in chosen:
            print(f"{group:11} {m.module}:{m.line}: {m.what}")
        return 0
    workdir = ROOT / "bench" / ".work" / "mutants"
    works = []
    for n in range(args.jobs):
        work = workdir / f"w{n}"
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(
            ROOT,
            work,
            ignore=shutil.ignore_patterns(".venv", ".git", "bench", "__pycache__", ".*_cache"),
        )
        shared = ROOT.parent / "shared"
        if shared.exists() and not (work.parent / "shared").exists():
            (work.parent / "shared").symlink_to(shared)
        works.append(work)
    free = list(works)
    results: list[tuple[str, Mutant]] = []
    started = time.monotonic()

    def task(item: tuple[str, Mutant]) -> tuple[str, Mutant]:
        group, m = item
        work = free.pop()
        try:
            run_one(m, GROUPS[group][1], work, args.timeout)
        finally:
            free.append(work)
        mark = "killed " if m.killed else "SURVIVED"
        print(f"{mark} {group:11} {m.module}:{m.line}: {m.what}  {m.by}", flush=True)
        return group, m

    with ThreadPoolExecutor(args.jobs) as pool_:
        results = earlier + list(pool_.map(task, chosen))
    out = workdir.parent / "mutants.json"
    out.write_text(json.dumps([{"group": g, **asdict(m)} for g, m in results], indent=1))
    print(f"\n{len(results)} mutants in {time.monotonic() - started:.0f} s\n")
    # Raw: every mutant run counts. Judged: survivors explained as equivalent at their test
    # (a "mutant: equivalent" comment naming the module and line) are left out.
    judged = _equivalents()
    print(
        "| group | mutants | killed | raw rate | judged equivalent | judged rate |\n"
        "| --- | --- | --- | --- | --- | --- |"
    )
    for group in groups:
        mine = [m for g, m in results if g == group]
        killed = sum(1 for m in mine if m.killed)
        same = sum(1 for m in mine if not m.killed and (m.module, m.line) in judged)
        raw = killed / max(1, len(mine))
        rate = killed / max(1, len(mine) - same)
        print(f"| {group} | {len(mine)} | {killed} | {raw:.0%} | {same} | {rate:.0%} |")
    return 0


def _equivalents() -> set[tuple[str, int]]:
    """The (module, line)s whose surviving mutants a test explains as equivalent, in a comment
    ``# mutant: equivalent: secfeed_cli/x/y.py:LINE ...``."""
    import re

    found = set()
    for test in (ROOT / "tests").glob("test_*.py"):
        for module, line in re.findall(r"mutant: equivalent: (\S+\.py):(\d+)", test.read_text()):
            found.add((module, int(line)))
    return found


if __name__ == "__main__":
    sys.exit(main())
