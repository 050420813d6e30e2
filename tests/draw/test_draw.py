"""Pictures: every example in every format, SVG that names every variable and box, DOT that is
the same bytes every time, surgery pictures that mark exactly the wires the rewrite cut, charts
without matplotlib, and the CLI, REPL and notebook entry points (with and without graphviz)."""

import io
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causaldsl import Diagram, FiniteType, cut, do, load
from causaldsl.app.cli import main
from causaldsl.app.repl import Session
from causaldsl.core.errors import DrawError
from causaldsl.draw import Picture, draw, render, seeing_and_doing, surgery_picture
from causaldsl.draw.gallery import stale
from causaldsl.draw.raster import chart_dot
from causaldsl.model.distribution import Batch, Distribution
from causaldsl.model.graph import ADMG
from tests.backends.test_properties import random_models

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.causal"))
HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="graphviz's dot is not installed")
SVG = "{http://www.w3.org/2000/svg}"


def pictures(path):
    """(what, picture, names it must show) for everything an example file can draw."""
    prog = load(path)
    for name, d in prog.diagrams.items():
        yield name, draw(d), {*d.wire_types, *(n.box.name for n in d.nodes)}
    for name, m in prog.models.items():
        names = set(m.variables)
        if name in prog.graphs:
            yield name, draw(m.admg()), set(m.observed)
            continue
        yield name, draw(m), names
        yield f"{name}-graph", draw(m, graph=True), set(m.observed)
        yield f"{name}-dag", draw(m, graph=True, latent="show"), names
        yield f"{name}-lr", draw(m, direction="LR"), names
        yield f"{name}-cut", draw(m, cut=[m.observed[0]]), names


def svg_texts(svg: str) -> set[str]:
    root = ET.fromstring(svg)
    return {t.text.strip() for t in root.iter(f"{SVG}text") if t.text}


@needs_dot
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_in_every_format(path, tmp_path):
    for what, pic, names in pictures(path):
        svg = pic.render("svg").decode()
        texts = svg_texts(svg)  # parses as XML
        words = {w for t in texts for w in re.split(r"[\s:=,]+", t)}
        assert names <= words, f"{path.name} {what}: {names - words} not in the picture"
        assert pic.render("png").startswith(b"\x89PNG")
        assert pic.render("pdf").startswith(b"%PDF")
        assert pic.render("dot") == pic.source.encode()
        for ext in ("svg", "png", "pdf", "dot"):
            assert pic.save(tmp_path / f"{what}.{ext}").stat().st_size > 0


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_dot_is_deterministic_within_a_process(path):
    first = [pic.source for _, pic, _ in pictures(path)]
    again = [pic.source for _, pic, _ in pictures(path)]
    assert first == again


def test_dot_is_the_same_bytes_in_a_fresh_process():
    smoking = str(ROOT / "examples" / "smoking.causal")
    here = draw(load(smoking)["smoking"], do={"S": "yes"}).source
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-m", "causaldsl.app.cli", "draw", smoking, "--do", "S=yes",
                          "-o", "-"], capture_output=True, text=True, env=env, check=True).stdout
    assert out == here


def test_a_string_diagram_has_boxes_copies_discards_and_latent_wires():
    m = load(ROOT / "examples" / "firing_squad.causal")["firing_squad"]
    after = do(m, A=False)
    g = draw(after).graph
    nodes = g.all_nodes()
    kinds = [str(a.get("class")) for a in nodes.values()]
    assert kinds.count("box") == len(m.variables)
    assert "discard" in kinds            # W is read only by A, which do(A) no longer reads
    copies = {n for n, a in nodes.items() if a.get("class") == "copy"}
    assert copies == {"copy:C", "copy:A", "copy:B"}
    latent = {e.attrs["id"] for e in g.all_edges() if "latent" in str(e.attrs.get("class"))}
    c = next(j for j, n in enumerate(after.diagram.nodes) if n.outputs == ("C",))
    assert latent == {f"U>{c}.0", "W>discard"}


def _cut_ids(pic: Picture, prefix: str = "before:") -> set[str]:
    return {str(e.attrs["id"]) for e in pic.graph.all_edges()
            if "cut" in str(e.attrs.get("class", "")).split() and
            str(e.attrs["id"]).startswith(prefix)}


def _expected_cut(model, names):
    """The wires surgery removes, read off the model by hand: every parent of each variable,
    as the edge id (wire > reader node . input position) of the before picture."""
    index = {n.outputs[0]: j for j, n in enumerate(model.diagram.nodes)}
    return {f"before:{p}>{index[v]}.{k}" for v in names for k, p in enumerate(model[v].parents)}


@pytest.mark.parametrize("example,name,values,cuts", [
    ("smoking", "smoking", {"S": "yes"}, []),
    ("smoking", "smoking", {}, ["C"]),
    ("smoking", "smoking", {"S": "no", "T": "yes"}, []),
    ("firing_squad", "firing_squad", {"A": False}, []),
    ("firing_squad", "firing_squad", {"D": True}, ["A"]),
    ("sprinkler", "sprinkler", {}, ["X2", "X4"]),
])
def test_a_surgery_picture_marks_exactly_the_wires_the_rewrite_cut(example, name, values, cuts):
    model = load(ROOT / "examples" / f"{example}.causal")[name]
    after = model
    if values:
        after = do(after, values)
    if cuts:
        after = cut(after, *cuts)
    removed = {(p, v) for v, var in model.variables.items() for p in var.parents
               if p not in after[v].parents}
    names = [*values, *cuts]
    assert removed == {(p, v) for v in names for p in model[v].parents}
    pic = surgery_picture(model, do=values, cut=cuts)
    assert _cut_ids(pic) == _expected_cut(model, names)
    assert _cut_ids(pic, "after:") == set()
    # the after side is the rewritten diagram: new states and opened inputs highlighted
    new = {n for n, a in pic.graph.all_nodes().items() if "new" in str(a.get("class"))}
    a_index = {n.outputs[0]: j for j, n in enumerate(after.diagram.nodes)}
    assert new == {f"after:b{a_index[v]}" for v in values if v not in cuts}
    inputs = pic.graph.all_nodes().get("after:in", {})
    assert str(inputs.get("label", "")).count("#e6550d") == len(cuts)
    if HAVE_DOT:  # the marks survive into the SVG
        svg = ET.fromstring(pic.svg())
        cut_groups = {g.get("id") for g in svg.iter(f"{SVG}g") if g.get("class") == "edge wire cut"
                      or g.get("class") == "edge wire latent cut"}
        assert cut_groups == _expected_cut(model, names)


@settings(max_examples=40, deadline=None)
@given(spec=random_models(), data=st.data())
def test_on_random_models_the_marked_wires_are_the_parents_surgery_drops(spec, data):
    names = data.draw(st.lists(st.sampled_from(spec.order), min_size=1, max_size=3, unique=True))
    split = data.draw(st.integers(0, len(names)))
    values = {v: spec.types[v].values[0] for v in names[:split]}
    cuts = names[split:]
    model = spec.model
    pic = surgery_picture(model, do=values, cut=cuts)
    index = {n.outputs[0]: j for j, n in enumerate(model.diagram.nodes)}
    want = {f"before:{p}>{index[v]}.{k}" for v in names for k, p in enumerate(spec.parents[v])}
    assert _cut_ids(pic) == want
    assert _cut_ids(pic, "after:") == set()
    assert pic.source == surgery_picture(model, do=values, cut=cuts).source


def test_comb_regions_are_shaded_when_comb_disintegration_applies():
    smoking = load(ROOT / "examples" / "smoking.causal")["smoking"]
    before = surgery_picture(smoking, do={"S": "yes"}).graph.subgraphs[0]
    assert "comb" in str(before.attrs["label"]) and "P(T | S)" in str(before.attrs["label"])
    fills = {n: re.search(r'BGCOLOR="([^"]+)"', str(a["label"])).group(1)
             for n, a in before.all_nodes().items() if a.get("class") == "box"}
    # H, S, T, C in the diagram's order: T is the channel g, the rest the comb f around it
    assert fills["before:b2"] != fills["before:b1"] == fills["before:b0"] == fills["before:b3"]
    sprinkler = load(ROOT / "examples" / "sprinkler.causal")["sprinkler"]
    label = surgery_picture(sprinkler, do={"X2": True}).graph.subgraphs[0].attrs["label"]
    assert label == "before"  # X2 has an observed parent: no comb


@needs_dot
def test_causal_graphs_draw_bidirected_edges_dashed_and_latents_on_request():
    napkin = load(ROOT / "examples" / "napkin.causal")["napkin"]
    g = draw(napkin.admg()).graph
    bi = [e for e in g.edges if e.attrs.get("class") == "bidirected"]
    assert {(e.tail, e.head) for e in bi} == {("W", "X"), ("W", "Y")}
    assert all(e.attrs["style"] == "dashed" and e.attrs["dir"] == "both" for e in bi)
    shown = draw(napkin, graph=True, latent="show").graph
    assert {"U_W_X", "U_W_Y"} <= set(shown.nodes)
    assert not [e for e in shown.edges if e.attrs.get("class") == "bidirected"]
    assert "U_W_X" not in draw(napkin, graph=True).graph.nodes
    a = ADMG(["A", "B"], [("A", "B")], [("A", "B")], name="g")
    assert "A" in svg_texts(a._repr_svg_())


def test_a_counterfactual_graph_is_drawn_over_its_terms():
    """ID*'s counterfactual graph of the papers' example (Shpitser & Pearl 2008, Fig. 5):
    nodes named by their terms, the shared noise of X and Y[X = 1] a dashed ↔."""
    from causaldsl.analysis.idstar import event, make_cg

    paper = ADMG(["X", "W", "Y", "D", "Z"], [("X", "W"), ("W", "Y"), ("D", "Z"), ("Z", "Y")],
                 [("X", "Y")])
    cg = make_cg(paper, [event("Y", 1, X=1), event("X", 0), event("Z", 1, D=1), event("D", 1)])
    g = draw(cg).graph
    assert set(g.nodes) == {"X", "W[X = 1]", "Y[X = 1]", "D", "Z"}
    assert {(e.tail, e.head) for e in g.edges if e.attrs.get("class") != "bidirected"} == \
        {("W[X = 1]", "Y[X = 1]"), ("D", "Z"), ("Z", "Y[X = 1]")}
    assert [{e.tail, e.head} for e in g.edges if e.attrs.get("class") == "bidirected"] == \
        [{"X", "Y[X = 1]"}]
    assert "Y[X = 1]" in svg_texts(cg._repr_svg_())


def test_charts_are_svg_without_matplotlib_or_graphviz(monkeypatch):
    monkeypatch.setenv("CAUSAL_DOT", "no-such-dot-program")
    yn = FiniteType("YN", ["no", "yes"])
    d = Distribution(("C",), (yn,), np.array([[0.7, 0.3], [0.4, 0.6]]), ("S",), (yn,))
    svg = d._repr_svg_()
    root = ET.fromstring(svg)
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]) == 4
    assert {"P(C | S)", "C = no", "C = yes", "S"} <= svg_texts(svg)
    assert "<pre>" in d._repr_html_()
    both = draw({"seeing": d["yes"], "doing": d["no"]}, title="compare")
    assert {"seeing", "doing", "compare"} <= svg_texts(both.svg())
    b = Batch(np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]), ("C",), (yn,), title="P(C | T)")
    assert len([r for r in ET.fromstring(b._repr_svg_()).iter(f"{SVG}rect")
                if r.get("class") == "bar"]) == 6
    with pytest.raises(DrawError, match="as SVG or PNG, not pdf"):
        both.render("pdf")
    with pytest.raises(DrawError, match="same values"):
        draw({"a": d, "b": d["yes"]})


def test_seeing_and_doing():
    m = load(ROOT / "examples" / "smoking.causal")["smoking"]
    svg = seeing_and_doing(m, "P(C = yes | do(S = yes))").svg()
    assert {"P(C | S = yes)", "P(C | do(S = yes))", "0.49", "0.618"} <= svg_texts(svg)
    with pytest.raises(DrawError, match="needs a P"):
        seeing_and_doing(m, "P(C | S = yes)")


def test_drawing_imports_neither_jax_nor_matplotlib():
    code = (
        "import sys, causaldsl\n"
        "from causaldsl.draw import draw\n"
        "m = causaldsl.load('examples/smoking.causal')['smoking']\n"
        "draw(m).source; draw(m, do={'S': 'yes'}).source; draw(m.admg()).source\n"
        "assert 'jax' not in sys.modules and 'matplotlib' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@needs_dot
def test_notebook_reprs():
    prog = load(ROOT / "examples" / "smoking.causal")
    m = prog["smoking"]
    for x in (m, m.diagram, m.admg()):
        svg = x._repr_svg_()
        assert svg is not None and "S" in svg_texts(svg)
        assert x._repr_html_().startswith('<div class="causaldsl-picture"><svg')


def test_without_graphviz_dot_still_works_and_the_error_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("CAUSAL_DOT", "no-such-dot-program")
    m = load(ROOT / "examples" / "smoking.causal")["smoking"]
    pic = draw(m)
    assert pic.render("dot").startswith(b'digraph "diagram"')
    with pytest.raises(DrawError, match=r"apt install graphviz.*brew install graphviz"):
        pic.render("svg")
    assert m._repr_svg_() is None and m._repr_html_() is None  # the notebook shows the text
    assert pic.save(tmp_path / "m.dot").read_text().startswith("digraph")
    out = tmp_path / "m.png"
    assert main(["draw", str(ROOT / "examples" / "smoking.causal"), "-o", str(out)]) == 1
    assert not out.exists()


def test_missing_graphviz_from_the_command_line_is_a_message_not_a_traceback(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no dot on it
    proc = subprocess.run([sys.executable, "-m", "causaldsl.app.cli", "draw",
                           str(ROOT / "examples" / "smoking.causal"), "-o", "x.pdf"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 1
    assert "apt install graphviz" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.pdf").exists()


@needs_dot
def test_causal_draw(tmp_path, monkeypatch, capsys):
    smoking = str(ROOT / "examples" / "smoking.causal")
    monkeypatch.chdir(tmp_path)
    assert main(["draw", smoking]) == 0
    assert capsys.readouterr().out.strip() == "wrote smoking.svg"
    ET.parse(tmp_path / "smoking.svg")
    assert main(["draw", smoking, "smoking", "--do", "S=yes", "-o", "s.png"]) == 0
    assert (tmp_path / "s.png").read_bytes().startswith(b"\x89PNG")
    assert main(["draw", smoking, "--cut", "S", "--lr", "-o", "c.pdf"]) == 0
    assert main(["draw", smoking, "--graph", "--latent", "-o", "g.dot"]) == 0
    assert "H" in (tmp_path / "g.dot").read_text()
    capsys.readouterr()
    assert main(["draw", str(ROOT / "examples" / "diagrams.causal"), "net", "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith('digraph "diagram"')


@pytest.mark.parametrize("args,message", [
    (["nope"], "no model, graph, diagram or box named 'nope'"),
    (["smokin"], "did you mean 'smoking'"),
    (["--do", "S"], "expected NAME = VALUE"),
    (["--do", "S=maybe"], "'maybe' is not a value of YesNo"),
    (["--do", "Q=yes"], "'Q' is not a variable"),
    (["--do", "S=yes,S=no"], "S is set twice"),
    (["--cut", ","], "expected variable names"),
    (["--graph", "--do", "S=yes"], "give one or the other"),
    (["-o", "out.jpg"], "unknown picture format '.jpg'"),
    (["-o", "out"], "unknown picture format '(no extension)'"),
])
def test_causal_draw_bad_input(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["draw", str(ROOT / "examples" / "smoking.causal"), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_causal_draw_do_on_a_variable_without_values_suggests_cut(capsys):
    napkin = str(ROOT / "examples" / "napkin.causal")
    assert main(["draw", napkin, "--do", "X=x", "-o", "-"]) == 1
    assert "--cut X draws the same surgery" in capsys.readouterr().err
    assert main(["draw", napkin, "--cut", "X", "-o", "-"]) == 0
    assert 'class="wire latent cut"' in capsys.readouterr().out


def test_causal_draw_a_diagram_with_do_is_an_error(capsys):
    assert main(["draw", str(ROOT / "examples" / "diagrams.causal"), "net", "--do", "h=yes",
                 "-o", "-"]) == 1
    assert "apply to models" in capsys.readouterr().err


@needs_dot
def test_repl_draw_writes_a_file_and_says_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    s = Session(out, err)
    s.load(str(ROOT / "examples" / "smoking.causal"))
    for line in [':draw', ':draw --do "S=yes" -o s.png', ":draw P(C | do(S)) -o c.svg",
                 ":draw nope", ":draw --do"]:
        s.handle(line)
    said = out.getvalue()
    for f in ("smoking.svg", "s.png", "c.svg"):
        assert f"wrote {tmp_path / f}" in said
        assert (tmp_path / f).stat().st_size > 0
    assert "no model, graph, diagram or box named 'nope'" in err.getvalue()
    assert "--do needs a value" in err.getvalue()


def test_left_to_right_and_bad_options():
    d = Diagram.copy(FiniteType("A", ["a0", "a1"]))
    assert 'rankdir="LR"' in draw(d, direction="LR").source
    with pytest.raises(DrawError, match="direction"):
        draw(d, direction="up")
    with pytest.raises(DrawError, match="cannot draw"):
        draw(3)


def test_the_gallery_is_up_to_date():
    assert stale(ROOT / "examples", ROOT / "docs") == [], "run docs/make_gallery.py"


def _ids_and_classes(svg: str) -> list[tuple[str, str]]:
    """Every element's id and class, in document order (what CSS and the tests select on)."""
    return [(e.get("id", ""), e.get("class", "")) for e in ET.fromstring(svg).iter()
            if e.get("id") or e.get("class")]


@pytest.mark.skipif(render.bundled_dot() is None, reason="graphviz-pure is not installed")
def test_without_dot_on_the_path_the_bundled_graphviz_pure_draws_svg_and_png(monkeypatch,
                                                                             tmp_path):
    m = load(ROOT / "examples" / "smoking.causal")["smoking"]
    system = render.dot_program() if HAVE_DOT and "CAUSAL_DOT" not in os.environ else None
    monkeypatch.delenv("CAUSAL_DOT", raising=False)
    real_which = render._which
    monkeypatch.setattr(render, "_which",
                        lambda name: None if name in ("dot", "graphviz-pure") else real_which(name))
    assert render.dot_program().endswith(("graphviz-pure", "graphviz-pure.exe"))
    for pic in (draw(m), draw(m, do={"S": "yes"}), draw(m.admg())):
        svg = pic.svg()
        assert "graphviz-pure" in svg and {"S", "T", "C"} <= svg_texts(svg)
        if system is not None:  # the same ids and classes as graphviz's own dot gives
            monkeypatch.setattr(render, "_which", real_which)
            want = pic.render("svg").decode()
            monkeypatch.setattr(render, "_which",
                                lambda name: None if name in ("dot", "graphviz-pure")
                                else real_which(name))
            assert "graphviz-pure" not in want
            assert _ids_and_classes(svg) == _ids_and_classes(want)
    assert draw(m).render("png").startswith(b"\x89PNG\r\n\x1a\n")
    assert m._repr_svg_() is not None  # notebooks show the picture, not the text
    assert main(["draw", str(ROOT / "examples" / "smoking.causal"), "-o",
                 str(tmp_path / "m.png")]) == 0
    assert (tmp_path / "m.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(DrawError, match=r"PDF needs graphviz's dot.*apt install graphviz"):
        draw(m).render("pdf")
    monkeypatch.setattr(render, "bundled_dot", lambda: None)
    with pytest.raises(DrawError, match=r"pip install graphviz-pure.*apt install graphviz"):
        draw(m).render("svg")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.skipif(not HAVE_DOT and render.bundled_dot() is None, reason="no dot to draw with")
@pytest.mark.parametrize("bundled", [False, True])
def test_charts_render_as_png_with_their_shapes_where_the_svg_puts_them(bundled, monkeypatch):
    if bundled:
        if render.bundled_dot() is None:
            pytest.skip("graphviz-pure is not installed")
        monkeypatch.delenv("CAUSAL_DOT", raising=False)
        monkeypatch.setattr(render, "_which", lambda name: None)
    elif not HAVE_DOT:
        pytest.skip("graphviz's dot is not installed")
    yn = FiniteType("YN", ["no", "yes"])
    d = Distribution(("C",), (yn,), np.array([[0.7, 0.3], [0.4, 0.6]]), ("S",), (yn,))
    chart = draw(d)
    root = ET.fromstring(chart.svg())
    w, h = float(root.get("width")), float(root.get("height"))
    pw, ph = _png_size(chart.render("png"))
    # 144 dpi: twice the SVG's size in points; pinned, not laid out anew (which would pack the
    # shapes into another box); text may reach a few points past the edge
    assert abs(pw - 2 * w) <= 0.1 * 2 * w and abs(ph - 2 * h) <= 0.1 * 2 * h, (pw, ph, w, h)
    dot = chart_dot(chart.svg())
    bars = [n for n in dot.nodes.values() if n.get("shape") == "box" and n.get("fillcolor")
            in ("#4e79a7", "#f28e2b")]
    assert len(bars) == 4 + 2  # four bars and the legend's two swatches
    heights = sorted(round(float(n["height"]) * 72, 1) for n in bars if float(n["height"]) > 0.2)
    assert heights == [0.3 * 150, 0.4 * 150, 0.6 * 150, 0.7 * 150]  # 150 points for 1
    labels = {n.get("label") for n in dot.nodes.values()}
    assert {"P(C | S)", "C = no", "C = yes", "0.7", "0.25"} <= labels


def test_batches_and_estimates_show_as_escaped_html_tables():
    yn = FiniteType("YN", ["no", "yes"])
    b = Batch(np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]), ("C",), (yn,), title="P(C | T)",
              settings={"T": ["<b>t</b>", "u & v", "w"]})
    html = b._repr_html_()
    table = html[html.index('<div class="causaldsl-result">'):]
    assert "<b>t</b>" not in table and "&lt;b&gt;t&lt;/b&gt;" in table and "u &amp; v" in table
    assert [c.strip() for c in re.findall(r"<th>(.*?)</th>", table)] == ["setting", "T", "C", "P"]
    assert len(re.findall(r"<tr>", table)) == 6  # a row per setting and cell
    assert "<td>0.9</td>" in table and "<p><b>P(C | T)</b></p>" in table
    est = Estimate_from_data()
    html = est._repr_html_()
    cells = re.findall(r"<td>(.*?)</td>", html[html.index('<div class="causaldsl-result">'):])
    assert cells[0] == "E[Y | do(X = 1)] - E[Y | do(X = 0)]" and cells[6:] == ["aipw", "400", "Z"]
    assert float(cells[1]) == pytest.approx(float(est), rel=1e-5)


def Estimate_from_data():
    import pandas as pd

    import causaldsl

    rng = np.random.default_rng(0)
    n = 400
    z = rng.normal(size=n)
    x = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    df = pd.DataFrame({"Z": z, "X": x, "Y": 2 * x + z + rng.normal(size=n)})
    g = ADMG(["Z", "X", "Y"], [("Z", "X"), ("Z", "Y"), ("X", "Y")])
    return causaldsl.estimate(g, "E[Y | do(X = 1)] - E[Y | do(X = 0)]", df, method="aipw")
