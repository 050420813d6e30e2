"""Import graph, import cycles and layer check for src/causaldsl (stdlib only).

Module ``causaldsl.<first>...`` is in layer <first> when <first> is in LAYERS; the package itself and
top-level modules ``causaldsl/<name>.py`` whose <name> is no layer (re-export shims) are in the top layer,
"app". A layer may import its own and earlier layers only. Every import counts: module level,
function-local (lazy) and under ``if TYPE_CHECKING:``."""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path
from typing import NamedTuple

LAYERS = ["core", "syntax", "ir", "model", "rewrite", "analysis", "backends", "estimation",
          "counterfactual", "bayes", "lang", "interop", "draw", "app"]
PACKAGE = "causaldsl"
ROOT = Path(__file__).resolve().parents[1] / "src" / PACKAGE
BEGIN, END = "<!-- layers:begin -->", "<!-- layers:end -->"

Graph = dict[str, list[str]]


class Import(NamedTuple):
    source: str
    target: str
    file: Path
    line: int
    lazy: bool
    type_checking: bool


class Cycle(NamedTuple):
    modules: list[str]  # the strongly connected component, sorted
    path: list[str]  # one concrete cycle in it: first == last


class Violation(NamedTuple):
    imp: Import
    source_layer: str
    target_layer: str

    def __str__(self) -> str:
        i = self.imp
        how = "".join(f" [{k}]" for k, on in (("lazy", i.lazy), ("TYPE_CHECKING", i.type_checking)) if on)
        return (f"{os.path.relpath(i.file)}:{i.line}: {i.source} imports {i.target} "
                f"(layer {self.source_layer} may not import later layer {self.target_layer}){how}")


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the package directory ``root``."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def layer_of(module: str, package: bool = False) -> str | None:
    """The layer of a module, None if it is in none (``package``: the module is an __init__.py)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return "app" if len(parts) == 1 or (len(parts) == 2 and not package) else None


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> tuple[bool, bool]:
    """(lazy, type_checking): inside a function; inside the body of ``if [typing.]TYPE_CHECKING:``."""
    lazy = checking = False
    while node in parents:
        up = parents[node]
        lazy |= isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if isinstance(up, ast.If) and node in up.body:  # TYPE_CHECKING or typing.TYPE_CHECKING
            checking |= getattr(up.test, "id", getattr(up.test, "attr", None)) == "TYPE_CHECKING"
        node = up
    return lazy, checking


def imports(root: Path = ROOT) -> list[Import]:
    """Every import of a package module by a package module (self-imports left out)."""
    mods = modules(root)
    found: list[Import] = []
    for source, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = source.split(".")[: None if path.name == "__init__.py" else -1]
                    if node.level - 1 >= len(pkg):
                        raise SyntaxError(f"{path}:{node.lineno}: relative import beyond the package")
                    pkg = pkg[: len(pkg) - node.level + 1]
                    base = ".".join(pkg + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for target in dict.fromkeys(targets):
                if target != source and (target == PACKAGE or target.startswith(PACKAGE + ".")):
                    found.append(Import(source, target, path, node.lineno, *_guarded(node, parents)))
    return found


def graph(mods: dict[str, Path], imps: list[Import]) -> Graph:
    """Module -> sorted list of the modules it imports (every module a key)."""
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for i in imps:
        edges.setdefault(i.source, set()).add(i.target)
    return {m: sorted(t) for m, t in sorted(edges.items())}


def cycles(g: Graph) -> list[Cycle]:
    """Strongly connected components of more than one module (Tarjan), each with a cycle through it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    comps: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in g.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp: list[str] = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop())
            comps.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(Cycle(c, _cycle_path(c, g)) for c in comps if len(c) > 1)


def _cycle_path(comp: list[str], g: Graph) -> list[str]:
    """A cycle from comp[0] back to itself, by depth-first search inside the component."""
    start, inside, seen = comp[0], set(comp), {comp[0]}
    todo = [[start]]
    while todo:
        path = todo.pop()
        for w in reversed(g.get(path[-1], [])):
            if w == start:
                return [*path, start]
            if w in inside and w not in seen:
                seen.add(w)
                todo.append([*path, w])
    raise AssertionError(f"no cycle in component {comp}")


def violations(imps: list[Import], mods: dict[str, Path]) -> list[Violation]:
    """Imports from a layer to a later layer (imports of unlayered modules are reported by unlayered)."""
    found: list[Violation] = []
    for i in imps:
        src, dst = _layer(i.source, mods), _layer(i.target, mods)
        if src and dst and LAYERS.index(dst) > LAYERS.index(src):
            found.append(Violation(i, src, dst))
    return sorted(found, key=lambda v: (str(v.imp.file), v.imp.line, v.imp.target))


def _layer(module: str, mods: dict[str, Path]) -> str | None:
    return layer_of(module, module in mods and mods[module].name == "__init__.py")


def unlayered(mods: dict[str, Path]) -> list[str]:
    """Modules that belong to no layer."""
    return [m for m in mods if _layer(m, mods) is None]


def mermaid(mods: dict[str, Path], imps: list[Import]) -> str:
    """Mermaid flowchart of layer -> layer imports; each layer node lists its modules."""
    members: dict[str, list[str]] = {}
    for m in mods:
        layer = _layer(m, mods)
        if layer:
            parts = m.split(".")[1 if layer == "app" else 2:]
            members.setdefault(layer, []).append(".".join(parts) or m.split(".")[-1])
    lines = ["flowchart TD"]
    for layer in (x for x in LAYERS if x in members):
        names = sorted(members[layer])
        rows = [", ".join(names[k:k + 5]) for k in range(0, len(names), 5)]
        lines.append(f'    {layer}["<b>{layer}</b><br/>{"<br/>".join(rows)}"]')
    pairs = {(_layer(i.source, mods), _layer(i.target, mods)) for i in imps}
    edges = sorted((LAYERS.index(a), LAYERS.index(b)) for a, b in pairs if a and b and a != b)
    lines += [f"    {LAYERS[a]} --> {LAYERS[b]}" for a, b in edges]
    return "\n".join(lines) + "\n"


def update_docs(text: str, diagram: str) -> str:
    """``text`` with the lines between the layer markers replaced by ``diagram`` in a mermaid fence."""
    lines = text.splitlines(keepends=True)
    stripped = [x.strip() for x in lines]
    if BEGIN not in stripped or END not in stripped or stripped.index(END) < stripped.index(BEGIN):
        raise ValueError(f"markers {BEGIN} and {END} missing or out of order")
    b, e = stripped.index(BEGIN), stripped.index(END)
    return "".join([*lines[: b + 1], f"```mermaid\n{diagram}```\n", *lines[e:]])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="package directory (default src/causaldsl)")
    ap.add_argument("--graph", action="store_true", help="print the module import graph")
    ap.add_argument("--mermaid", action="store_true", help="print the layer diagram")
    ap.add_argument("--write-docs", metavar="PATH", type=Path, help="rewrite the marked region of PATH")
    ap.add_argument("--check-docs", metavar="PATH", type=Path, help="exit 1 if PATH's region is stale")
    args = ap.parse_args(argv)
    mods, imps = modules(args.root), imports(args.root)
    if args.mermaid:
        print(mermaid(mods, imps), end="")
        return 0
    doc = args.write_docs or args.check_docs
    if doc:
        text = doc.read_text(encoding="utf-8")
        try:
            new = update_docs(text, mermaid(mods, imps))
        except ValueError as e:
            print(f"{doc}: {e}", file=sys.stderr)
            return 2
        if args.write_docs:
            doc.write_text(new, encoding="utf-8")
        elif new != text:
            print(f"{doc}: layer diagram is stale; run python tools/import_graph.py --write-docs {doc}")
            return 1
        return 0
    g = graph(mods, imps)
    if args.graph:
        print("".join(f"{m} -> {', '.join(targets) or '(none)'}\n" for m, targets in g.items()))
    cyc, bad, lost = cycles(g), violations(imps, mods), unlayered(mods)
    print(f"{len(mods)} modules, {sum(map(len, g.values()))} edges from {len(imps)} imports "
          f"({sum(i.lazy for i in imps)} lazy, {sum(i.type_checking for i in imps)} TYPE_CHECKING)")
    print(f"{len(lost)} modules in no layer" + "".join(f"\n  {m} ({os.path.relpath(mods[m])})" for m in lost))
    print(f"{len(cyc)} import cycles" + "".join(
        f"\n  {' -> '.join(c.path)}\n    component of {len(c.modules)}: {', '.join(c.modules)}" for c in cyc))
    print(f"{len(bad)} layer violations" + "".join(f"\n  {v}" for v in bad))
    return 1 if cyc or bad or lost else 0


if __name__ == "__main__":
    sys.exit(main())
