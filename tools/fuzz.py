"""A grammar-driven fuzzer of the ``causal`` command (issue 17).

Inputs come from hypothesis strategies of three kinds:

- ``generated``: ``.causal`` text expanded at random from the rules of ``grammar/causal.lark``
  and ``grammar/query.lark`` as lark compiles them (``Lark(...).rules`` and ``.terminals``),
  with a depth budget: past it, each rule takes one of its shallowest expansions. Terminals
  are drawn from small pools of realistic tokens (a few names that come back, so that
  references resolve sometimes; numbers that make rows sum to one; labels; file names), and
  now and then from their own patterns (``hypothesis.strategies.from_regex``). Half of them
  follow a valid example file (the prelude), so that their queries reach the backends.
- ``stress``: very long and deeply nested constructs: long sums, long ``;`` and ``⊗`` chains,
  nested ``if``, lists, parentheses, negations, worlds, many statements, long chains of
  variables, wide types, long numbers.
- ``mutated``: the files of ``examples/`` with tokens or lines deleted, duplicated, swapped or
  replaced, random bytes or text inserted, or cut short.

Each input is written to a temporary folder and run through ``causaldsl.app.cli.main`` for
``check``, ``run --samples 64``, ``fmt --check`` and ``fmt`` on a copy (then ``fmt --check``
on the result, which must be in canonical form). The oracle: no exit code 3, no traceback in
standard output or error, no command past its deadline, no worker process that dies, no file
changed by ``check``, ``run`` or ``fmt --check``, nor by a ``fmt`` that fails; and the
``examples/`` folder is the same before and after.

The commands run in worker processes (``tools/fuzz.py --worker``: JSON lines on a pipe) that
import causaldsl once; each command has a deadline (``signal.setitimer``), and the parent kills
a worker that overruns its input's deadline (a hang in C code) and starts another.

    PYTHONPATH=src .venv/bin/python tools/fuzz.py [-n 10000] [--seed 0] [--jobs 2] \\
        [--write tools/FUZZ.md]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GRAMMAR = ROOT / "grammar"
EXAMPLES = ROOT / "examples"

#: A command's deadline in a worker (seconds), and the samples ``run`` draws.
COMMAND_LIMIT = 20.0
SAMPLES = "64"

# -- the grammar ---------------------------------------------------------------------------------


@dataclass
class Grammar:
    """The compiled rules of causal.lark (with query.lark imported): each rule's expansions as
    tuples of symbol names, each terminal's pattern, and each rule's height (the least depth of
    a tree it can derive), so that expansion past the depth budget still ends."""

    rules: dict[str, list[tuple[str, ...]]]
    terminals: dict[str, tuple[str, str]]  # name -> ("str" | "re", pattern)
    height: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        inf = 10**9
        h = {name: inf for name in self.rules}
        changed = True
        while changed:
            changed = False
            for name, expansions in self.rules.items():
                best = min(self.expansion_height(e, h) for e in expansions)
                if best < h[name]:
                    h[name], changed = best, True
        self.height = h

    def expansion_height(self, expansion: tuple[str, ...], h: dict[str, int] | None = None) -> int:
        h = self.height if h is None else h
        return 1 + max((h[s] for s in expansion if s in self.rules), default=0)

    def shallowest(self, name: str) -> list[tuple[str, ...]]:
        expansions = self.rules[name]
        least = min(self.expansion_height(e) for e in expansions)
        return [e for e in expansions if self.expansion_height(e) == least]


@cache
def grammar() -> Grammar:
    """The rules and terminals of grammar/causal.lark, read by lark."""
    import lark

    parser = lark.Lark((GRAMMAR / "causal.lark").read_text(encoding="utf-8"), parser="lalr",
                       import_paths=[GRAMMAR], maybe_placeholders=False)
    rules: dict[str, list[tuple[str, ...]]] = {}
    for rule in parser.rules:
        rules.setdefault(rule.origin.name, []).append(tuple(str(s.name) for s in rule.expansion))
    for expansions in rules.values():  # lark's order follows the hash seed; draws must not
        expansions.sort()
    terminals = {t.name: (t.pattern.type, t.pattern.value) for t in parser.terminals}
    return Grammar(rules, terminals)


# -- tokens --------------------------------------------------------------------------------------

#: A few names that come back, so that references resolve sometimes (the examples use them);
#: not the keywords "I" (the unit) or "do", which lex as themselves and would not be names.
NAMES = ["X", "Y", "Z", "S", "T", "C", "H", "U", "W", "A", "B", "D", "M", "m", "g", "smoking",
         "frontdoor", "YesNo", "Dose", "yes", "no", "low", "high", "h", "s", "t", "c", "net",
         "Normal", "Bernoulli", "Categorical", "Uniform", "exp", "min", "clip", "P", "E"]
NUMBERS = ["0", "1", "0.5", "0.5", "0.25", "0.75", "0.1", "0.9", "0.2", "0.8", "2", "3", "1e-3",
           "1.0", "0.", ".5", "1e308", "1e309", "4e-324", "0.5000001", "10", "99999999999999999999"]
POOLS: dict[str, list[str]] = {
    "NAME": NAMES, "query__NAME": NAMES,
    "NUMBER": NUMBERS, "query__NUMBER": NUMBERS,
    "INT": ["0", "1", "2", "3", "10"],
    "SIGNED_INT": ["0", "1", "2", "3", "-1", "+1", "10"],
    "query__SIGNED_INT": ["0", "1", "2", "-1", "+1"],
    "query__SIGNED_REAL": ["0.5", "-1.5", "1e3", "+0.0", "1.", "-.5"],
    "STRING": ['"data.csv"', '"other.causal"', '"in.causal"', '"missing.causal"', '"/dev/null"',
               '""', '"."', '"cells.csv"'],
    "query__ESCAPED_STRING": ['"0-5"', '"yes"', '""', '"a\\"b"'],
    "INF": ["inf", "-inf"],
}


@cache
def token_strategy(name: str) -> Any:
    """A strategy for the text of one terminal: its pool mostly, its pattern sometimes."""
    from hypothesis import strategies as st

    kind, pattern = grammar().terminals[name]
    if kind == "str":
        return st.just(pattern)
    own = st.from_regex(pattern, fullmatch=True).filter(lambda s: "\n" not in s and s.strip() == s)
    if name not in POOLS:
        return own
    pool = st.sampled_from(POOLS[name])
    if "*?" in pattern:  # a lazy pattern's fullmatch may lex shorter ('""x"' reads '""'): pool only
        return pool
    return st.integers(0, 9).flatmap(lambda i: own if i == 0 else pool)


# -- strategies ----------------------------------------------------------------------------------


def example_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(EXAMPLES.glob("*.causal"))}


def _expand(draw: Any, symbol: str, budget: int, out: list[str]) -> None:
    from hypothesis import strategies as st

    g = grammar()
    if symbol not in g.rules:
        out.append(draw(token_strategy(symbol)))
        return
    options = g.rules[symbol] if budget > 0 else g.shallowest(symbol)
    expansion = options[draw(st.integers(0, len(options) - 1))] if len(options) > 1 else options[0]
    for s in expansion:
        _expand(draw, s, budget - 1, out)


def _layout(tokens: list[str], style: int) -> str:
    """Tokens joined by spaces (style 0), or with a newline after braces and before statement
    keywords (1), or one per line with comments (2)."""
    if style == 0:
        return " ".join(tokens)
    keywords = {"type", "model", "graph", "observed", "box", "diagram", "query", "identify", "import"}
    parts: list[str] = []
    for i, tok in enumerate(tokens):
        if style == 2:
            parts.append(tok + (f"  # {i}\n" if i % 3 == 0 else "\n"))
        else:
            sep = "\n" if tok in ("{", "}") or (i + 1 < len(tokens) and tokens[i + 1] in keywords) else " "
            parts.append(tok + sep)
    return "".join(parts)


def generated() -> Any:
    """Statements expanded from the grammar's rules, after a valid example half the time."""
    from hypothesis import strategies as st

    @st.composite
    def gen(draw: Any) -> dict[str, Any]:
        budget = draw(st.integers(2, 12))
        n = draw(st.integers(0, 6))
        tokens: list[str] = []
        for _ in range(n):
            _expand(draw, "statement", budget, tokens)
        text = _layout(tokens, draw(st.integers(0, 2)))
        files = example_files()
        prelude = draw(st.sampled_from([None, *files]))
        if prelude is not None:
            text = files[prelude].decode("utf-8") + "\n" + text
        kind = "generated" if prelude is None else "generated after an example"
        return {"kind": kind, "desc": f"{n} statements, depth {budget}"
                + (f", after {prelude}" if prelude else ""), "data": text.encode("utf-8")}

    return gen()


PRELUDE = ("type YesNo = {no, yes}\nmodel m {\n  X : YesNo ~ [0.5, 0.5]\n"
           "  Y : YesNo ~ table(X) { no: [0.9, 0.1], yes: [0.2, 0.8] }\n}\n")
BOXES = "type YesNo = {no, yes}\nbox h : I -> YesNo\nbox s : YesNo -> YesNo\n"
REALS = "model r {\n  exogenous U : Real ~ Normal(0, 1)\n  X : Real := U\n"


def _stress_text(kind: str, n: int) -> str:
    """One long or deeply nested construct of size (or depth) ``n``."""
    rng = range(n)
    if kind == "long sum (real)":
        return REALS + "  Y : Real := " + " + ".join("X" for _ in rng) + "\n}\nquery E[Y]\n"
    if kind == "long sum (finite)":
        return (PRELUDE + "model f {\n  X : {0, 1} ~ [0.5, 0.5]\n  Y : Bool := "
                + " + ".join("X" for _ in rng) + " > 1\n}\nquery P(Y)\n")
    if kind == "long query sum":
        return PRELUDE + "query " + " + ".join("P(Y = yes)" if i % 2 else "-P(Y = no | X = yes)"
                                             for i in rng) + "\n"
    if kind == "long ; chain":
        return BOXES + "diagram d = h" + "".join(" ; s" for _ in rng) + "\n"
    if kind == "long ⊗ chain":
        return BOXES + "diagram d = " + " ⊗ ".join("s" for _ in rng) + "\n"
    if kind == "nested if":
        return (REALS + "  Y : Real := " + "if X > 0 then " * n + "1" + " else 0" * n + "\n}\n"
                "query E[Y]\n")
    if kind == "nested parentheses":
        return REALS + "  Y : Real := " + "(" * n + "X" + ")" * n + "\n}\nquery E[Y]\n"
    if kind == "nested lists":
        return (PRELUDE + "model f {\n  Z : YesNo ~ Categorical(" + "[" * n + "0.5, 0.5"
                + "]" * n + ")\n}\n")
    if kind == "negation chain":
        return REALS + "  Y : Real := " + "- " * n + "X\n}\nquery E[Y]\n"
    if kind == "not chain":
        return PRELUDE + "model f {\n  A : Bool ~ Bernoulli(0.5)\n  B : Bool := " + "not " * n + "A\n}\n"
    if kind == "power chain":
        return REALS + "  Y : Real := " + " ^ ".join("X" for _ in rng) + "\n}\n"
    if kind == "nested query parentheses":
        return PRELUDE + "query " + "(" * n + "P(Y)" + ")" * n + "\n"
    if kind == "nested worlds":
        return (PRELUDE + "query P(" + "Y[X = " * n + "yes" + "]" * n + ")\n"
                + "query P(Y[X = " + "Y[X = " * n + "X" + "]" * n + "] = yes)\n")
    if kind == "nested diagram parentheses":
        return BOXES + "diagram d = " + "(" * n + "s" + ")" * n + "\n"
    if kind == "many queries":
        return PRELUDE + "".join(f"query P(Y = yes | X = {'yes' if i % 2 else 'no'})\n" for i in rng)
    if kind == "many types":
        return "".join(f"type T{i} = {{a{i}, b{i}}}\n" for i in rng)
    if kind == "long chain of variables":
        lines = ["type YesNo = {no, yes}", "model chain {", "  X0 : YesNo ~ [0.5, 0.5]"]
        lines += [f"  X{i} : YesNo ~ table(X{i - 1}) {{ no: [0.9, 0.1], yes: [0.2, 0.8] }}"
                  for i in range(1, n)]
        return "\n".join([*lines, "}", f"query P(X{n - 1} | do(X0 = yes))", ""])
    if kind == "long graph chain":
        return ("graph g {\n  " + " -> ".join(f"V{i}" for i in rng) + "\n  V0 <-> V1\n}\n"
                f"identify P(V{n - 1} | do(V0)) in g\n")
    if kind == "wide type":
        return ("type Wide = {" + ", ".join(f"v{i}" for i in rng) + "}\n"
                "model w {\n  X : Wide ~ Uniform()\n}\nquery P(X)\n")
    if kind == "long number":
        return (PRELUDE + "model f {\n  Z : {0, 1} ~ [0." + "5" * n + ", 0.5]\n  N : {"
                + "9" * n + ", 1} ~ [0.5, 0.5]\n}\nquery E[N]\n")
    if kind == "long table row":
        return (PRELUDE + "model f {\n  Z : YesNo ~ [" + ", ".join("0" for _ in rng) + ", 1]\n}\n")
    if kind == "many parents":
        k = min(n, 14)  # a table of 2**k rows
        body = "".join(f"  P{i} : Bool ~ Bernoulli(0.5)\n" for i in range(k))
        return ("model wide {\n" + body + "  Y : Bool := " + " or ".join(f"P{i}" for i in range(k))
                + "\n}\nquery P(Y)\nquery P(Y | do(P0 = true))\nquery P(Y | P0, P1)\n")
    raise ValueError(kind)


STRESS = ["long sum (real)", "long sum (finite)", "long query sum", "long ; chain", "long ⊗ chain",
          "nested if", "nested parentheses", "nested lists", "negation chain", "not chain",
          "power chain", "nested query parentheses", "nested worlds", "nested diagram parentheses",
          "many queries", "many types", "long chain of variables", "long graph chain", "wide type",
          "long number", "long table row", "many parents"]


def stress() -> Any:
    """Very long or deeply nested constructs, at sizes 1 to 3,000."""
    from hypothesis import strategies as st

    @st.composite
    def gen(draw: Any) -> dict[str, Any]:
        kind = draw(st.sampled_from(STRESS))
        n = draw(st.sampled_from([10, 50, 200, 1000, 3000]) | st.integers(1, 3000))
        return {"kind": "stress", "desc": f"{kind}, n = {n}",
                "data": _stress_text(kind, n).encode("utf-8")}

    return gen()


TOKEN = re.compile(r"\s+|[A-Za-z0-9_'.]+|:=|->|<->|>>|==|!=|<=|>=|.", re.S)
MUTATIONS = ["delete a token", "duplicate a token", "swap two tokens", "replace a token",
             "delete a line", "duplicate a line", "swap two lines", "repeat a line",
             "insert bytes", "insert text", "truncate"]


def _mutate(draw: Any, op: str, data: bytes) -> bytes:
    from hypothesis import strategies as st

    def at(n: int) -> int:
        return draw(st.integers(0, max(n - 1, 0)))

    if op in ("insert bytes", "truncate"):
        i = at(len(data) + 1)
        if op == "truncate":
            return data[:i]
        return data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
    text = data.decode("utf-8", errors="surrogateescape")
    if op == "insert text":
        i = at(len(text) + 1)
        new = text[:i] + draw(st.text(min_size=1, max_size=6)) + text[i:]
        return new.encode("utf-8", errors="surrogateescape")
    if "line" in op:
        items: list[str] = text.splitlines(keepends=True)
    else:
        items = TOKEN.findall(text)
    if not items:
        return data
    i, j = at(len(items)), at(len(items))
    if op.startswith("delete"):
        del items[i]
    elif op.startswith("duplicate"):
        items.insert(i, items[i])
    elif op.startswith("swap"):
        items[i], items[j] = items[j], items[i]
    elif op == "replace a token":
        items[i] = items[j] if draw(st.booleans()) else draw(st.sampled_from(NAMES + NUMBERS))
    elif op == "repeat a line":
        items.insert(i, items[i] * draw(st.sampled_from([2, 10, 100, 1000])))
    return "".join(items).encode("utf-8", errors="surrogateescape")


def mutated() -> Any:
    """An example file with one to four mutations."""
    from hypothesis import strategies as st

    @st.composite
    def gen(draw: Any) -> dict[str, Any]:
        files = example_files()
        name = draw(st.sampled_from(sorted(files)))
        data, ops = files[name], []
        for _ in range(draw(st.integers(1, 4))):
            op = draw(st.sampled_from(MUTATIONS))
            ops.append(op)
            data = _mutate(draw, op, data)
        return {"kind": "mutated", "desc": f"{name}: " + ", ".join(ops), "data": data}

    return gen()


def collect(strategy: Any, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` inputs drawn from ``strategy`` by hypothesis, reproducibly from ``seed``."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    out: list[dict[str, Any]] = []
    if n <= 0:
        return out

    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(strategy)
    def draw_one(x: dict[str, Any]) -> None:
        out.append(x)

    draw_one()
    if 0 < len(out) < n:  # hypothesis stopped early (a space it thinks exhausted): top up
        out += collect(strategy, n - len(out), seed + 1000)
    return out[:n]


def inputs(n_generated: int, n_stress: int, n_mutated: int, seed: int) -> list[dict[str, Any]]:
    return (collect(generated(), n_generated, seed) + collect(stress(), n_stress, seed + 1)
            + collect(mutated(), n_mutated, seed + 2))


# -- the worker ----------------------------------------------------------------------------------


class Hang(BaseException):
    """A command past its deadline (a BaseException, so ``main``'s ``except Exception`` lets
    it through)."""


OTHER = 'type YesNo = {no, yes}\nmodel other {\n  X : YesNo ~ [0.5, 0.5]\n}\nimport "in.causal"\n'
DATA = "S,T,C\nno,no,no\nyes,no,yes\nyes,yes,yes\nno,yes,no\n"
CELLS = "S,T,C,P\n" + "".join(f"{s},{t},{c},0.125\n" for s in ("no", "yes") for t in ("no", "yes")
                              for c in ("no", "yes"))


def _call(main: Callable[[list[str]], int], argv: list[str], limit: float) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc: int | str = main(argv)
    except Hang:
        rc = "hang"
    except SystemExit as e:
        rc = f"SystemExit({e.code})"
    except BaseException as e:
        import traceback

        err.write("".join(traceback.format_exception(e)))
        rc = f"escaped {type(e).__name__}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return {"rc": rc, "out": out.getvalue(), "err": err.getvalue(),
            "s": round(time.perf_counter() - start, 3)}


def run_input(data: bytes, limit: float = COMMAND_LIMIT) -> list[dict[str, Any]]:
    """Every command on one input; each result says what went wrong (``problem``), if anything."""
    from causaldsl.app.cli import main

    results = []
    with tempfile.TemporaryDirectory(prefix="causal-fuzz-") as d:
        folder = Path(d)
        for name, text in (("other.causal", OTHER), ("data.csv", DATA), ("cells.csv", CELLS)):
            (folder / name).write_text(text, encoding="utf-8")
        f, copy = folder / "in.causal", folder / "copy.causal"
        f.write_bytes(data)
        copy.write_bytes(data)
        steps: list[tuple[str, list[str], Path]] = [
            ("check", ["check", str(f)], f),
            ("run", ["run", str(f), "--samples", SAMPLES, "--seed", "0"], f),
            ("fmt --check", ["fmt", "--check", str(f)], f),
            ("fmt", ["fmt", str(copy)], copy),
        ]
        for name, argv, path in steps:
            before = path.read_bytes()
            r = _call(main, argv, limit)
            r["command"] = name
            after = path.read_bytes()
            problem = None
            if r["rc"] == "hang":
                problem = "hang"
            elif not isinstance(r["rc"], int):
                problem = str(r["rc"])
            elif r["rc"] == 3:
                problem = "exit 3"
            elif "in _on_alarm\n" in r["out"] + r["err"]:
                problem = "hang"  # the deadline fired in a callback that prints and goes on
            elif "Traceback (most recent call last)" in r["out"] + r["err"]:
                problem = "traceback"
            elif after != before and (name != "fmt" or r["rc"] != 0):
                problem = "file changed"
            r["problem"] = problem
            results.append(r)
            if r["rc"] == "hang":
                break  # the worker's state is suspect: the parent starts a new one
            if name == "fmt" and r["rc"] == 0 and after != before:
                again = _call(main, ["fmt", "--check", str(copy)], limit)
                again["command"] = "fmt, then fmt --check"
                again["problem"] = None
                if again["rc"] == "hang":
                    again["problem"] = "hang"
                elif again["rc"] != 0:
                    again["problem"] = "fmt not idempotent"
                results.append(again)
    for r in results:
        if not r["problem"]:
            r["out"] = r["err"] = ""  # keep the pipe light
    return results


def worker() -> None:
    """Read tasks (JSON lines) on standard input, answer each on the original standard output;
    what the commands print goes to their own buffers."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    signal.signal(signal.SIGALRM, _on_alarm)
    import causaldsl.app.cli
    with contextlib.suppress(Exception):  # the engines, so no deadline cuts an import short
        import causaldsl.backends.exact
        import causaldsl.backends.sample  # noqa: F401
    proto.write(json.dumps({"ready": True}) + "\n")
    proto.flush()
    for line in sys.stdin:
        task = json.loads(line)
        results = run_input(base64.b64decode(task["data"]), task["limit"])
        proto.write(json.dumps({"id": task["id"], "results": results}) + "\n")
        proto.flush()
        if any(r["rc"] == "hang" for r in results):
            return


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang()


# -- the pool ------------------------------------------------------------------------------------


class _Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, cwd=tempfile.gettempdir())
        self.buffer = b""
        self.ready = False
        self.task: int | None = None
        self.since = 0.0

    def send(self, index: int, data: bytes, limit: float) -> None:
        assert self.proc.stdin
        self.task, self.since = index, time.monotonic()
        line = json.dumps({"id": index, "data": base64.b64encode(data).decode(), "limit": limit})
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()


def run_all(items: Sequence[dict[str, Any]], jobs: int = 2, limit: float = COMMAND_LIMIT,
            progress: Callable[[int, int], None] | None = None) -> list[list[dict[str, Any]]]:
    """Run every input in ``jobs`` worker processes; the results of each, in order. An input
    whose worker overruns five deadlines (stuck in C code) or dies is recorded as such."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    hard = 5 * limit + 30.0  # the worker's own deadlines come first; start-up not counted
    results: list[list[dict[str, Any]] | None] = [None] * len(items)
    todo = list(range(len(items)))[::-1]
    sel = selectors.DefaultSelector()
    workers: list[_Worker] = []

    def spawn() -> None:
        w = _Worker(env)
        assert w.proc.stdout
        os.set_blocking(w.proc.stdout.fileno(), False)
        sel.register(w.proc.stdout, selectors.EVENT_READ, w)
        workers.append(w)

    def retire(w: _Worker) -> None:
        sel.unregister(w.proc.stdout)
        w.kill()
        workers.remove(w)

    def finish(w: _Worker, res: list[dict[str, Any]]) -> None:
        assert w.task is not None
        results[w.task] = res
        w.task = None
        if progress:
            progress(sum(r is not None for r in results), len(items))

    for _ in range(min(jobs, len(items))):
        spawn()
    try:
        while todo or any(w.task is not None for w in workers):
            for w in list(workers):
                if w.ready and w.task is None and todo:
                    i = todo.pop()
                    w.send(i, items[i]["data"], limit)
            for key, _ in sel.select(timeout=0.5):
                w = key.data
                chunk = os.read(w.proc.stdout.fileno(), 1 << 20)
                if not chunk:  # the worker died
                    code = w.proc.wait()
                    if w.task is not None:
                        finish(w, [{"command": "(worker)", "rc": f"died ({code})", "out": "",
                                    "err": "", "s": 0, "problem": f"worker died (exit {code})"}])
                    retire(w)
                    if todo or len(workers) == 0:
                        spawn()
                    continue
                w.buffer += chunk
                while b"\n" in w.buffer:
                    line, w.buffer = w.buffer.split(b"\n", 1)
                    msg = json.loads(line)
                    if msg.get("ready"):
                        w.ready = True
                        w.since = time.monotonic()
                        continue
                    if any(r["rc"] == "hang" for r in msg["results"]):
                        w.ready = False  # it exits after a hang: no new task for it
                    finish(w, msg["results"])
            for w in list(workers):
                if w.task is not None and time.monotonic() - w.since > hard:
                    finish(w, [{"command": "(worker)", "rc": "killed", "out": "", "err": "",
                                "s": round(time.monotonic() - w.since, 1),
                                "problem": "hang (killed)"}])
                    retire(w)
                    spawn()
            while len(workers) < min(jobs, len(todo) + sum(w.task is not None for w in workers)):
                spawn()
    finally:
        for w in list(workers):
            retire(w)
    return [r or [] for r in results]


# -- findings ------------------------------------------------------------------------------------


TRACE_FILE = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)', re.M)


def signature(r: dict[str, Any]) -> str:
    """What makes two failures the same: the problem and, for a traceback, the exception's type
    and the innermost causaldsl frame (whatever the command); else the problem and command."""
    text = r["out"] + r["err"]
    if r["problem"] == "hang" or "Traceback (most recent call last)" not in text:
        return f"{r['problem']} in {r['command']}"
    if "maximum recursion depth exceeded" in text:  # bare, or wrapped in lark's VisitError
        text += "\nRecursionError: maximum recursion depth exceeded"
    frames = [m for m in TRACE_FILE.finditer(text) if "causaldsl" in m.group(1)] or \
        list(TRACE_FILE.finditer(text))
    where = ""
    if frames:
        path, line, func = frames[-1].groups()
        where = f" at {path.split('src/')[-1]}:{line} ({func})"
    last = [ln for ln in text.strip().splitlines() if re.match(r"^[A-Za-z_.]+(Error|Exception|Exit)\b", ln)
            or re.match(r"^[A-Za-z_.]+:", ln)]
    exc = last[-1].split(":")[0] if last else "?"
    return f"{r['problem']}: {exc}{where}"


def trace_head(r: dict[str, Any], lines: int = 12) -> str:
    text = (r["err"] or r["out"]).strip().splitlines()
    start = next((i for i, ln in enumerate(text) if ln.startswith("Traceback")), 0)
    tail = text[start:]
    if len(tail) > lines:
        tail = [*tail[:3], "  ...", *tail[-(lines - 4):]]
    return "\n".join(tail)


@dataclass
class Finding:
    signature: str
    command: str
    problem: str
    count: int
    input: dict[str, Any]
    result: dict[str, Any]
    commands: set[str] = field(default_factory=set)


def findings(items: Sequence[dict[str, Any]], results: Sequence[list[dict[str, Any]]]) -> list[Finding]:
    """The distinct failures, each with its shortest input."""
    found: dict[str, Finding] = {}
    for item, res in zip(items, results, strict=True):
        for r in res:
            if not r["problem"]:
                continue
            sig = signature(r)
            f = found.get(sig)
            if f is None:
                found[sig] = f = Finding(sig, r["command"], r["problem"], 1, item, r)
            else:
                f.count += 1
                if len(item["data"]) < len(f.input["data"]):
                    f.input, f.result, f.command = item, r, r["command"]
            f.commands.add(r["command"])
    return sorted(found.values(), key=lambda f: (-f.count, f.signature))


def shrink(data: bytes, sig: str, command: str, limit: float = COMMAND_LIMIT,
           budget: int = 40) -> bytes:
    """A smaller input with the same failure of ``command``, tried in this process: greedily
    drop lines, then tokens, in halving chunks, at most ``budget`` tries."""
    from causaldsl.app.cli import main as cli_main

    argv = {"check": ["check"], "run": ["run", "--samples", SAMPLES, "--seed", "0"],
            "fmt --check": ["fmt", "--check"], "fmt": ["fmt"]}.get(command)
    if argv is None:
        return data
    tries = 0
    old = signal.signal(signal.SIGALRM, _on_alarm)

    def same(candidate: bytes) -> bool:
        nonlocal tries
        tries += 1
        with tempfile.TemporaryDirectory(prefix="causal-shrink-") as d:
            f = Path(d) / "in.causal"
            f.write_bytes(candidate)
            r = _call(cli_main, [*argv[:1], str(f), *argv[1:]], limit)
        r["command"] = command
        r["problem"] = "exit 3" if r["rc"] == 3 else "traceback" \
            if "Traceback (most recent call last)" in r["out"] + r["err"] else None
        return bool(r["problem"]) and signature(r) == sig

    try:
        for split in (lambda b: b.splitlines(keepends=True), lambda b: re.findall(rb"\s+|[^\s]+", b)):
            parts = split(data)
            chunk = max(len(parts) // 2, 1)
            while chunk >= 1 and tries < budget:
                i = 0
                while i < len(parts) and tries < budget:
                    candidate = parts[:i] + parts[i + chunk:]
                    if candidate and same(b"".join(candidate)):
                        parts = candidate
                    else:
                        i += chunk
                chunk //= 2
            data = b"".join(parts)
    finally:
        signal.signal(signal.SIGALRM, old)
    return data


# -- the report ----------------------------------------------------------------------------------


def _show(data: bytes, limit: int = 600) -> str:
    try:
        text = data.decode("utf-8")
        printable = "```" not in text and all(c.isprintable() or c in "\n\t" for c in text)
    except UnicodeDecodeError:
        printable = False
    if printable and len(text) <= limit:
        return "```\n" + text.rstrip("\n") + "\n```"
    shown = repr(data[:limit])
    more = f" … ({len(data):,} bytes in all)" if len(data) > limit else ""
    return f"```\n{shown}{more}\n```"


def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def report(items: Sequence[dict[str, Any]], results: Sequence[list[dict[str, Any]]],
           found: Sequence[Finding], *, seed: int, seconds: float, jobs: int,
           examples_same: bool, command: str, limit: float = COMMAND_LIMIT) -> str:
    lines = ["# Fuzzing the `causal` command", "",
             f"`{command}`: {len(items):,} inputs, seed {seed}, {jobs} worker processes, "
             f"{seconds:,.0f} s ({time.strftime('%Y-%m-%d')}).", "",
             "Generator, commands and oracle: the docstring of `tools/fuzz.py`. Each input ran "
             f"`check`, `run --samples {SAMPLES} --seed 0`, `fmt --check` and `fmt` on a copy (then "
             f"`fmt --check` on what it wrote), each with a {limit:g} s deadline.", "",
             "## Inputs by kind", "", "| kind | inputs | bytes (median) | bytes (max) |", "|---|---|---|---|"]
    by_kind: dict[str, list[int]] = {}
    for item in items:
        by_kind.setdefault(item["kind"], []).append(len(item["data"]))
    for kind, sizes in by_kind.items():
        sizes.sort()
        lines.append(f"| {kind} | {len(sizes):,} | {sizes[len(sizes) // 2]:,} | {sizes[-1]:,} |")
    stress_kinds = Counter(item["desc"].split(",")[0] for item in items if item["kind"] == "stress")
    if stress_kinds:
        lines += ["", "Stress constructs: " + ", ".join(f"{k} ({v})" for k, v in sorted(stress_kinds.items()))
                  + "."]
    codes: dict[str, Counter[str]] = {}
    slowest: dict[str, float] = {}
    for res in results:
        for r in res:
            codes.setdefault(r["command"], Counter())[str(r["rc"])] += 1
            slowest[r["command"]] = max(slowest.get(r["command"], 0.0), float(r["s"]))
    all_codes = sorted({c for cnt in codes.values() for c in cnt})
    lines += ["", "## Exit codes", "", "| command | " + " | ".join(all_codes) + " | slowest (s) |",
              "|---|" + "---|" * (len(all_codes) + 1)]
    for cmd, cnt in codes.items():
        lines.append(f"| {cmd} | " + " | ".join(f"{cnt.get(c, 0):,}" for c in all_codes)
                     + f" | {slowest[cmd]:.1f} |")
    problems = Counter(r["problem"] for res in results for r in res if r["problem"])
    lines += ["", "## Findings", "",
              f"- tracebacks or exit 3: {problems['traceback'] + problems['exit 3']:,}",
              f"- hangs: {problems['hang'] + problems['hang (killed)']:,}",
              f"- files changed: {problems['file changed']:,}",
              f"- `fmt` output not in canonical form: {problems['fmt not idempotent']:,}",
              f"- worker processes that died: "
              f"{sum(v for k, v in problems.items() if k.startswith('worker died')):,}",
              f"- other: {sum(v for k, v in problems.items() if k.startswith(('escaped', 'SystemExit'))):,}",
              f"- `examples/` unchanged: {'yes' if examples_same else '**no**'}", "",
              f"{len(found)} distinct failures (by problem, command, exception and innermost "
              "causaldsl frame)" + ("." if not found else ", each with its smallest input:")]
    for k, f in enumerate(found, 1):
        lines += ["", f"### {k}. {f.signature}", "",
                  f"{f.count:,} occurrences, in "
                  + ", ".join(f"`{c}`" for c in sorted(f.commands))
                  + f"; smallest input ({f.input['kind']}: {f.input['desc']}, "
                  f"{len(f.input['data']):,} bytes), command `causal {f.command}`:", "",
                  _show(f.input["data"])]
        if f.input.get("shrunk") is not None:
            lines += ["", "shrunk to:", "", _show(f.input["shrunk"])]
        head = trace_head(f.result)
        if head:
            lines += ["", "```", head, "```"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=10_000, help="inputs (default 10,000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    p.add_argument("--limit", type=float, default=COMMAND_LIMIT, help="seconds a command may take")
    p.add_argument("--write", metavar="FILE", help="write the Markdown summary there")
    p.add_argument("--no-shrink", action="store_true", help="report the smallest input as found")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker()
        return 0
    start = time.monotonic()
    n_stress = args.n * 15 // 100
    n_mutated = args.n * 40 // 100
    n_generated = args.n - n_stress - n_mutated
    before = tree_digest(EXAMPLES)
    items = inputs(n_generated, n_stress, n_mutated, args.seed)
    print(f"{len(items)} inputs drawn in {time.monotonic() - start:.0f} s", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if done % 250 == 0 or done == total:
            print(f"  {done}/{total} ({time.monotonic() - start:.0f} s)", file=sys.stderr)

    results = run_all(items, jobs=args.jobs, limit=args.limit, progress=progress)
    found = findings(items, results)
    if not args.no_shrink:
        for f in found:
            if f.problem in ("exit 3", "traceback"):
                small = shrink(f.input["data"], f.signature, f.command, limit=args.limit)
                if small != f.input["data"]:
                    f.input = dict(f.input, shrunk=small)
    same = tree_digest(EXAMPLES) == before
    command = "tools/fuzz.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = report(items, results, found, seed=args.seed, seconds=time.monotonic() - start,
                  jobs=args.jobs, examples_same=same, command=command.strip(), limit=args.limit)
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    print(text)
    return 1 if found or not same else 0


def failures(items: Iterable[dict[str, Any]], results: Iterable[list[dict[str, Any]]]) -> list[str]:
    """One line per failed command: its signature and input (for test messages)."""
    out = []
    for item, res in zip(items, results, strict=True):
        for r in res:
            if r["problem"]:
                out.append(f"{signature(r)} [{item['kind']}: {item['desc']}] {item['data'][:300]!r}")
    return out


if __name__ == "__main__":
    sys.exit(main())
