"""Hand-made mutants of the hot modules, and whether the tests catch them.

Each mutant is one plausible wrong implementation (a biased sampler, an inflated standard error,
a dropped factor, an identify that refuses everything). For each, the package is copied, the
mutation applied to the copy, and the tests that guard that module run against it; a mutant is
caught when at least one of them fails. Prints a Markdown table; ``--write FILE`` also saves it.

    .venv/bin/python tools/mutants.py [--only NAME] [--write tools/MUTANTS.md]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLING = ["tests/backends/test_sample.py", "tests/backends/test_sample_language.py"]
EXACT = ["tests/backends/test_exact.py", "tests/backends/test_properties.py",
         "tests/backends/test_pgmpy_oracle.py", "tests/ir"]
IDENTIFY = ["tests/analysis"]


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str          # under src/causaldsl
    old: str           # replaced once; "" appends ``new`` to the file
    new: str
    tests: list[str]


MUTANTS = [
    Mutant("none (the control: every test must pass)", "backends/sample.py", "", "\n",
           [*SAMPLING, *EXACT, *IDENTIFY]),
    Mutant("sampling: every estimate biased by +0.03", "backends/sample.py",
           "    return est, se\n", "    return est + 0.03, se\n", SAMPLING),
    Mutant("sampling: standard errors × 20", "backends/sample.py",
           "    return est, se\n", "    return est, se * 20\n", SAMPLING),
    Mutant("sampling: bias +0.03 and standard errors × 20", "backends/sample.py",
           "    return est, se\n", "    return est + 0.03, se * 20\n", SAMPLING),
    Mutant("sampling: standard errors × 0.05", "backends/sample.py",
           "    return est, se\n", "    return est, se * 0.05\n", SAMPLING),
    Mutant("exact: a table ignores its first parent (an edge dropped)", "backends/exact.py",
           "    return Factor((*node.inputs, *node.outputs), mech.shape, mech.array)\n",
           "    array = mech.array if not node.inputs else np.broadcast_to(\n"
           "        mech.array.mean(axis=0, keepdims=True), mech.array.shape)\n"
           "    return Factor((*node.inputs, *node.outputs), mech.shape, array)\n", EXACT),
    Mutant("exact: a table's outcome values reversed", "backends/exact.py",
           "    return Factor((*node.inputs, *node.outputs), mech.shape, mech.array)\n",
           "    return Factor((*node.inputs, *node.outputs), mech.shape, mech.array[..., ::-1])\n",
           EXACT),
    Mutant("identify: refuses everything", "analysis/identify.py", "",
           "\n\ndef identify(source, query, method=None):  # type: ignore[no-redef]\n"
           "    raise NotIdentifiable('mutant', frozenset(), frozenset(), frozenset())\n",
           IDENTIFY),
    Mutant("identify: a district factor dropped", "analysis/id_algorithm.py",
           "    return Product(tuple(factors)).simplify()\n",
           "    return Product(tuple(factors[1:]) or (ONE,)).simplify()\n", IDENTIFY),
]


def run(m: Mutant) -> tuple[int, int, float]:
    """Failed and total tests with the mutant applied, and the seconds it took."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "src", Path(tmp) / "src")
        shutil.copytree(ROOT / "grammar", Path(tmp) / "grammar")  # found beside src/
        path = Path(tmp) / "src" / "causaldsl" / m.file
        text = path.read_text()
        if m.old:
            assert text.count(m.old) == 1, f"{m.name}: the text to mutate is not unique"
            text = text.replace(m.old, m.new)
        else:
            text += m.new
        path.write_text(text)
        env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "src")}
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "-p",
                              "no:cacheprovider", "-m", "slow or not slow", *m.tests],
                             cwd=ROOT, env=env, capture_output=True, text=True).stdout
        took = time.perf_counter() - t
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (failed|passed|errors?)", out)}
    failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    return failed, failed + counts.get("passed", 0), took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="run the mutants whose name contains this")
    ap.add_argument("--write", type=Path, help="also write the table to this file")
    args = ap.parse_args()
    rows = ["| mutant | tests run | failed | caught |", "|---|---|---|---|"]
    caught = total = 0
    for m in MUTANTS:
        if args.only and args.only not in m.name:
            continue
        failed, ran, took = run(m)
        if not m.old and m.new == "\n":  # the control
            assert failed == 0 and ran > 0, f"the tests fail on the unmutated copy ({failed})"
        else:
            total += 1
            caught += failed > 0
        verdict = "— (all pass)" if m.new == "\n" else "yes" if failed else "NO"
        rows.append(f"| {m.name} | {ran} ({', '.join(m.tests)}; {took:.0f} s) | {failed} | "
                    f"{verdict} |")
        print(rows[-1], flush=True)
    score = f"score: {caught} of {total} mutants caught"
    print(score)
    if args.write:
        args.write.write_text("# Mutants and the tests that catch them\n\n"
                              f"`{' '.join(['.venv/bin/python', *sys.argv])}`, "
                              f"{time.strftime('%Y-%m-%d')}\n\n" + "\n".join(rows)
                              + f"\n\n{score}\n")


if __name__ == "__main__":
    main()
