"""The package's layers (tools/import_graph.py): no cycles, no import of a later layer, the docs current.

The checker itself is tested on small fake package trees, so that it can be seen to fail.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "architecture.md"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph", REPO / "tools" / "import_graph.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)
    spec.loader.exec_module(module)
    return module


ig = _load()


def _fail(title: str, items: list[object]) -> None:
    if items:
        pytest.fail(f"{len(items)} {title}:\n" + "\n".join(f"  {x}" for x in items), pytrace=False)


# --- the real tree ---------------------------------------------------------------------------------


def test_every_module_is_in_a_layer() -> None:
    _fail("modules in no layer", ig.unlayered(ig.modules()))


def test_no_import_cycles() -> None:
    cyc = ig.cycles(ig.graph(ig.modules(), ig.imports()))
    _fail("import cycles", [" -> ".join(c.path) + f" (component of {len(c.modules)})" for c in cyc])


def test_no_layer_violations() -> None:
    _fail("layer violations", ig.violations(ig.imports(), ig.modules()))


def test_architecture_doc_is_current() -> None:
    if not DOC.exists():
        pytest.skip("docs/architecture.md does not exist yet")
    text = DOC.read_text(encoding="utf-8")
    if ig.update_docs(text, ig.mermaid(ig.modules(), ig.imports())) != text:
        pytest.fail("docs/architecture.md layer diagram is stale: run "
                    "python tools/import_graph.py --write-docs docs/architecture.md", pytrace=False)


# --- the checker, on fake trees ----------------------------------------------------------------


def tree(tmp: Path, files: dict[str, str]) -> Path:
    """A fake package: ``files`` maps paths under causaldsl/ to source; returns the package root."""
    root = tmp / "src" / "causaldsl"
    for name, src in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(src)
    return root


CLEAN = {
    "core/__init__.py": "",
    "core/a.py": "from . import b\nX = 1\n",
    "core/b.py": "import os\n",
    "syntax/__init__.py": "from .p import parse\n",
    "syntax/p.py": "from ..core import a\nfrom ..core.a import X\nimport causaldsl.core.b\n\n"
                   "def parse(): ...\n",
    "backends/__init__.py": "",
    "backends/np.py": "from causaldsl.syntax import parse\nfrom causaldsl.core import a, b\n",
    "identify.py": "from .backends.np import *\nfrom . import syntax\n",
}


def edges(root: Path) -> set[tuple[str, str]]:
    return {(i.source.removeprefix("causaldsl."), i.target.removeprefix("causaldsl."))
            for i in ig.imports(root)}


def test_clean_tree_passes(tmp_path: Path) -> None:
    root = tree(tmp_path, CLEAN)
    mods, imps = ig.modules(root), ig.imports(root)
    assert set(mods) == {"causaldsl", "causaldsl.core", "causaldsl.core.a", "causaldsl.core.b",
                         "causaldsl.syntax", "causaldsl.syntax.p", "causaldsl.backends",
                         "causaldsl.backends.np", "causaldsl.identify"}
    assert edges(root) == {
        ("core.a", "core.b"),  # from . import b: a module
        ("syntax", "syntax.p"),  # from .p import parse: a name, so the module .p
        ("syntax.p", "core.a"), ("syntax.p", "core.b"),  # no edge to core for core/__init__
        ("backends.np", "syntax"), ("backends.np", "core.a"), ("backends.np", "core.b"),
        ("identify", "backends.np"), ("identify", "syntax"),
    }
    assert ig.violations(imps, mods) == [] and ig.unlayered(mods) == []
    assert ig.cycles(ig.graph(mods, imps)) == []
    assert ig.main(["--root", str(root)]) == 0


def test_layer_of() -> None:
    assert ig.layer_of("causaldsl") == "app"
    assert ig.layer_of("causaldsl.identify") == "app"  # a top-level shim
    assert ig.layer_of("causaldsl.core") == ig.layer_of("causaldsl.core.x.y") == "core"
    assert ig.layer_of("causaldsl.backends.np") == "backends"
    assert ig.layer_of("causaldsl.stuff.x") is None
    assert ig.layer_of("causaldsl.stuff", package=True) is None
    assert ig.layer_of("numpy") is None


def test_unlayered_module_is_reported(tmp_path: Path) -> None:
    root = tree(tmp_path, {**CLEAN, "stuff/__init__.py": "", "stuff/x.py": ""})
    assert ig.unlayered(ig.modules(root)) == ["causaldsl.stuff", "causaldsl.stuff.x"]
    assert ig.main(["--root", str(root)]) == 1


def test_lazy_import_of_a_later_layer(tmp_path: Path) -> None:
    src = "X = 1\n\ndef f():\n    from causaldsl.backends import np\n    return np\n"
    root = tree(tmp_path, {**CLEAN, "core/b.py": src})
    (v,) = ig.violations(ig.imports(root), ig.modules(root))
    assert (v.imp.source, v.imp.target, v.imp.line) == ("causaldsl.core.b", "causaldsl.backends.np", 4)
    assert v.imp.lazy and not v.imp.type_checking
    assert (v.source_layer, v.target_layer) == ("core", "backends")
    assert str(v).endswith("core/b.py:4: causaldsl.core.b imports causaldsl.backends.np "
                           "(layer core may not import later layer backends) [lazy]")
    # and it closes a cycle: core.b -> backends.np -> core.b (and through syntax, core.a)
    g = ig.graph(ig.modules(root), ig.imports(root))
    (c,) = ig.cycles(g)
    assert c.modules == ["causaldsl.backends.np", "causaldsl.core.a", "causaldsl.core.b",
                         "causaldsl.syntax", "causaldsl.syntax.p"]
    assert c.path[0] == c.path[-1] == "causaldsl.backends.np"
    assert all(b in g[a] for a, b in zip(c.path, c.path[1:], strict=False))
    assert ig.main(["--root", str(root)]) == 1


def test_type_checking_import_of_a_later_layer(tmp_path: Path) -> None:
    src = ("import typing\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
           "    from ..backends.np import Y\nelse:\n    from . import p\n"
           "if typing.TYPE_CHECKING:\n    from ..identify import Z\n")
    root = tree(tmp_path, {**CLEAN, "syntax/q.py": src})
    found = ig.violations(ig.imports(root), ig.modules(root))
    assert [(v.imp.target, v.imp.line, v.imp.type_checking, v.imp.lazy) for v in found] == [
        ("causaldsl.backends.np", 4, True, False), ("causaldsl.identify", 8, True, False)]
    assert "[TYPE_CHECKING]" in str(found[0])
    (other,) = [i for i in ig.imports(root) if i.source == "causaldsl.syntax.q" and i.line == 6]
    assert other.target == "causaldsl.syntax.p" and not other.type_checking  # `else:` is no guard


def test_relative_imports(tmp_path: Path) -> None:
    root = tree(tmp_path, {
        **CLEAN,
        "model/__init__.py": "from . import m\nfrom .m import M\n",  # in a package, `.` is the package
        "model/m.py": "from ..core.a import X\nfrom ..syntax import p\nfrom .. import core\nM = 1\n",
        "model/sub/__init__.py": "from ... import identify\n",
    })
    e = edges(root)
    assert {("model", "model.m"), ("model.m", "core.a"), ("model.m", "syntax.p"), ("model.m", "core")} <= e
    assert ("model.sub", "identify") in e
    (v,) = ig.violations(ig.imports(root), ig.modules(root))
    assert (v.source_layer, v.target_layer, v.imp.target) == ("model", "app", "causaldsl.identify")


def test_two_module_cycle(tmp_path: Path) -> None:
    root = tree(tmp_path, {**CLEAN, "core/b.py": "def f():\n    from . import a\n"})
    g = ig.graph(ig.modules(root), ig.imports(root))
    (c,) = ig.cycles(g)
    assert c.modules == ["causaldsl.core.a", "causaldsl.core.b"]
    assert c.path == ["causaldsl.core.a", "causaldsl.core.b", "causaldsl.core.a"]
    assert ig.violations(ig.imports(root), ig.modules(root)) == []  # same layer: a cycle only


def test_shim_is_top_layer(tmp_path: Path) -> None:
    root = tree(tmp_path, {**CLEAN, "cli.py": "from causaldsl.backends.np import *\n",
                           "core/b.py": "import causaldsl.cli\n"})
    (v,) = ig.violations(ig.imports(root), ig.modules(root))
    assert (v.imp.source, v.imp.target, v.target_layer) == ("causaldsl.core.b", "causaldsl.cli", "app")


def test_mermaid_and_docs(tmp_path: Path) -> None:
    root = tree(tmp_path, CLEAN)
    text = ig.mermaid(ig.modules(root), ig.imports(root))
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert [x.split("[")[0].strip() for x in lines[1:5]] == ["core", "syntax", "backends", "app"]
    assert 'core["<b>core</b><br/>a, b, core"]' in text
    assert [x.strip() for x in lines[5:]] == [
        "syntax --> core", "backends --> core", "backends --> syntax", "app --> syntax", "app --> backends"]
    doc = tmp_path / "architecture.md"
    doc.write_text("# Layers\n\nno markers\n")
    assert ig.main(["--root", str(root), "--check-docs", str(doc)]) == 2
    with pytest.raises(ValueError, match="markers"):
        ig.update_docs(doc.read_text(), text)
    doc.write_text("# Layers\n\n<!-- layers:begin -->\nold\n<!-- layers:end -->\n\nafter\n")
    assert ig.main(["--root", str(root), "--check-docs", str(doc)]) == 1
    assert ig.main(["--root", str(root), "--write-docs", str(doc)]) == 0
    assert doc.read_text() == (f"# Layers\n\n<!-- layers:begin -->\n```mermaid\n{text}```\n"
                               "<!-- layers:end -->\n\nafter\n")
    assert ig.main(["--root", str(root), "--check-docs", str(doc)]) == 0
