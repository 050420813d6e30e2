"""Pictures of estimates from data: the forest plot puts each interval where its numbers are on
an axis whose ticks and zero line agree with them; the overlap plot's bars are the propensity
histograms, to scale; notebooks show an estimate as its forest plot; ``causal estimate -o`` and
``--overlap`` write them, and bad requests are located errors, exit 1, with nothing written."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import causaldsl
from causaldsl.app.cli import main
from causaldsl.core.errors import DrawError
from causaldsl.draw import draw, forest_plot, overlap_plot
from causaldsl.draw.estimates import nice_ticks
from causaldsl.model.estimate import EffectEstimate

ROOT = Path(__file__).resolve().parents[2]
SPECTOR = str(ROOT / "examples" / "spector.causal")
DATA = str(ROOT / "examples" / "spector.csv")
EFFECT = "P(GRADE = 1 | do(PSI = 1)) - P(GRADE = 1 | do(PSI = 0))"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def spector():
    """aipw and gformula on Spector & Mazzeo's 32 students (each call jit-compiles: once)."""
    g = causaldsl.load(SPECTOR)["spector"]
    return {m: causaldsl.estimate(g, EFFECT, DATA, method=m) for m in ("aipw", "gformula")}


def made(value, lo, hi, *, method="aipw", query="E[Y | do(X = 1)] - E[Y | do(X = 0)]",
         level=0.95, **details):
    return EffectEstimate(value, (hi - lo) / 3.92, method, query=query, method=method,
                          ci=(lo, hi), level=level, n=100, **details)


def of_class(root, tag, cls):
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") == cls]


def axis(root):
    """The ticks as (value, x), and value → x fitted through them (checked to be linear)."""
    ticks = [(float(t.text), float(t.get("x"))) for t in of_class(root, "text", "tick")]
    values, xs = np.array(ticks).T
    assert list(values) == sorted(values) and list(xs) == sorted(xs)  # left to right, rising
    slope, icept = np.polyfit(values, xs, 1)
    assert np.allclose(values * slope + icept, xs, atol=0.15)
    return ticks, lambda v: slope * v + icept


def test_forest_plot_puts_each_interval_and_point_where_its_numbers_are(spector):
    aipw, gformula = spector["aipw"], spector["gformula"]
    below = made(-0.8, -1.25, -0.35, method="ipw")  # wholly below zero
    rows = [aipw, gformula, below, made(0.1, -0.2, 0.4)]
    root = ET.fromstring(forest_plot(rows, labels=["a", "b", "c", "d"], title="four").svg())
    ticks, x_of = axis(root)
    lines = of_class(root, "line", "interval")
    points = of_class(root, "circle", "estimate")
    assert len(lines) == len(points) == 4  # one interval and one point per estimate
    assert [t.text for t in of_class(root, "text", "label")] == ["a", "b", "c", "d"]
    ys = [float(ln.get("y1")) for ln in lines]
    assert ys == sorted(ys)  # in the order given, top to bottom
    for e, ln, pt in zip(rows, lines, points, strict=True):
        lo, hi = e.ci
        assert lo < float(e) < hi
        # at the interval's ends, lo on the left: an interval drawn elsewhere, or swapped, fails
        assert float(ln.get("x1")) == pytest.approx(x_of(lo), abs=0.2)
        assert float(ln.get("x2")) == pytest.approx(x_of(hi), abs=0.2)
        assert float(pt.get("cx")) == pytest.approx(x_of(float(e)), abs=0.2)
        assert float(ln.get("y1")) == float(ln.get("y2")) == float(pt.get("cy"))
    # the axis covers every number, and the zero line sits between the ticks around zero
    values = [t for t, _ in ticks]
    assert values[0] <= -1.25 and values[-1] >= max(e.ci[1] for e in rows)
    zero = of_class(root, "line", "zero")
    assert len(zero) == 1 and zero[0].get("x1") == zero[0].get("x2")
    x0 = float(zero[0].get("x1"))
    left = max((x for t, x in ticks if t <= 0), default=None)
    right = min((x for t, x in ticks if t >= 0), default=None)
    assert left is not None and right is not None and left <= x0 <= right
    assert x0 == pytest.approx(x_of(0.0), abs=0.2)
    assert x_of(-0.8) < x0 < x_of(float(aipw))  # below zero left of it, the effect right
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "estimates and 95% confidence intervals" in texts
    assert "four" in texts and f"{float(aipw):.3g} [{aipw.ci[0]:.3g}, {aipw.ci[1]:.3g}]" in texts


def test_one_estimate_defaults_to_its_method_and_query_and_shows_its_means(spector):
    aipw = spector["aipw"]
    root = ET.fromstring(forest_plot(aipw, means=True).svg())
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert EFFECT in texts  # the query is the title
    assert [t.text for t in of_class(root, "text", "label")] == ["aipw"]
    assert "estimate and 95% confidence interval" in texts
    _, x_of = axis(root)
    means = aipw.details["means"]
    lines = of_class(root, "line", "mean-interval")
    assert [t.text for t in of_class(root, "text", "mean-label")] == [m[0] for m in means]
    assert len(lines) == len(means) == 2
    for (_, v, se), ln in zip(means, lines, strict=True):
        assert float(ln.get("x1")) == pytest.approx(x_of(v - 1.959964 * se), abs=0.2)
        assert float(ln.get("x2")) == pytest.approx(x_of(v + 1.959964 * se), abs=0.2)
    # queries that differ: each row says which, with its method, and there is no shared title
    other = made(0.2, 0.1, 0.3, query="E[Y | do(X = 1)]", method="gformula")
    root = ET.fromstring(forest_plot([aipw, other]).svg())
    assert [t.text for t in of_class(root, "text", "label")] == [
        f"{EFFECT} by aipw", "E[Y | do(X = 1)] by gformula"]


def test_ticks_are_round_numbers_around_the_data():
    assert nice_ticks(0.0, 0.81) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(-3.0, 1.3) == [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0]
    assert nice_ticks(0.0, 0.0) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    ticks = nice_ticks(-0.013, 0.0021)
    assert ticks[0] <= -0.013 and ticks[-1] >= 0.0021 and 0.0 in ticks


def test_an_estimate_in_a_notebook_is_its_forest_plot_above_its_text(spector):
    aipw = spector["aipw"]
    svg = aipw._repr_svg_()
    assert svg == forest_plot(aipw).svg() == draw(aipw).svg()
    assert len(of_class(ET.fromstring(svg), "line", "interval")) == 1
    html = aipw._repr_html_()
    assert html.startswith('<div class="causaldsl-picture"><svg')
    assert "<pre>" in html and "augmented IPW" in html and "95% CI" in html
    bundle = aipw._repr_mimebundle_()
    assert bundle["image/svg+xml"] == svg and bundle["text/html"] == html
    # a dict or a list of estimates draws as one forest plot, labelled by the keys
    both = ET.fromstring(draw({"doubly robust": aipw, "outcome model": spector["gformula"]}).svg())
    assert [t.text for t in of_class(both, "text", "label")] == ["doubly robust", "outcome model"]
    assert len(of_class(ET.fromstring(draw([aipw, aipw]).svg()), "line", "interval")) == 2


@pytest.mark.parametrize(("args", "message"), [
    (([],), "at least one estimate"),
    (([0.3],), "estimates from causaldsl.estimate, not a float"),
    ((3.0,), "not a float"),
    (([made(0.1, 0, 0.2)], ["a", "b"]), "2 labels for 1 estimates"),
    (([made(float("nan"), 0, 0.2)],), "no value to draw"),
])
def test_forest_plot_refuses_what_it_cannot_draw(args, message):
    with pytest.raises(DrawError, match=message):
        forest_plot(*args)


def panels(root):
    """{treatment level: (the midline's y, the bars)} per panel of an overlap plot."""
    out = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "panel":
            mid = of_class(g, "line", "midline")
            assert len(mid) == 1
            out[g.get("data-arm")] = (float(mid[0].get("y1")), of_class(g, "rect", "bar"))
    return out


def check_histograms(est, root):
    """Every nonzero count is one bar, its height count × one scale per panel, above the midline
    for the panel's own arm and stacked below it for the others, in its bin on the [0, 1] axis."""
    diagnostics = est.diagnostics
    drawn = panels(root)
    assert list(drawn) == list(diagnostics)
    for arm, (mid, bars) in drawn.items():
        level = arm.partition(" = ")[2]
        hist = diagnostics[arm]["histogram"]
        assert len(bars) == sum(c > 0 for counts in hist.values() for c in counts)
        per_row = {float(b.get("height")) / hist[b.get("data-arm")][int(b.get("data-bin"))]
                   for b in bars}
        assert max(per_row) - min(per_row) < 0.02  # heights proportional to the counts
        g = next(g for g in root.iter(f"{SVG}g") if g.get("data-arm") == arm)
        ticks = [(float(t.text), float(t.get("x"))) for t in of_class(g, "text", "tick")]
        (t0, x0), (t1, x1) = ticks[0], ticks[-1]
        below: dict[int, float] = {}
        for b in sorted(bars, key=lambda b: float(b.get("y"))):
            k, y, h = int(b.get("data-bin")), float(b.get("y")), float(b.get("height"))
            x, w = float(b.get("x")), float(b.get("width"))
            assert x == pytest.approx(x0 + (k / 20 - t0) / (t1 - t0) * (x1 - x0) + 0.5, abs=0.1)
            assert x + w == pytest.approx(x0 + ((k + 1) / 20 - t0) / (t1 - t0) * (x1 - x0) - 0.5,
                                          abs=0.1)
            if b.get("data-arm") == level:
                assert y + h == pytest.approx(mid, abs=0.02)  # up from the midline
            else:
                assert y == pytest.approx(mid + below.get(k, 0.0), abs=0.02)  # stacked down
                below[k] = below.get(k, 0.0) + h


def test_overlap_plot_bars_are_the_propensity_histograms(spector):
    aipw = spector["aipw"]
    root = ET.fromstring(overlap_plot(aipw).svg())
    check_histograms(aipw, root)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"P(PSI = 0 | GPA, TUCE)", "P(PSI = 1 | GPA, TUCE)"} <= set(texts)
    legend = [t.text for t in of_class(root, "text", "legend")]
    assert legend == ["PSI = 0 (18 rows)", "PSI = 1 (14 rows)"]


def test_overlap_plot_stacks_the_other_arms_of_a_treatment_with_three_levels():
    rng = np.random.default_rng(1)
    levels = ("low", "mid", "high")
    diagnostics = {f"dose = {lvl}": {"propensity_min": 0.1, "propensity_max": 0.9, "ess": 30.0,
                                     "rows": 40, "weights_above_20": 0.0,
                                     "histogram": {a: rng.integers(0, 7, 20).tolist()
                                                   for a in levels}} for lvl in levels}
    est = made(1.0, 0.5, 1.5, adjustment=("age",), diagnostics=diagnostics)
    check_histograms(est, ET.fromstring(overlap_plot(est).svg()))


def test_overlap_plot_without_a_propensity_model_says_why(spector):
    with pytest.raises(DrawError, match=r"method gformula\) has no propensity model.*ipw or aipw"):
        overlap_plot(spector["gformula"])
    with pytest.raises(DrawError, match="no propensity model"):
        overlap_plot(made(0.1, 0.0, 0.2, method="plugin"))
    with pytest.raises(DrawError, match="not a float"):
        overlap_plot(0.5)  # type: ignore[arg-type]


def test_causal_estimate_writes_the_forest_and_overlap_plots(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["estimate", SPECTOR, EFFECT, "--data", DATA, "--method", "aipw",
                 "-o", "forest.svg", "--overlap", "overlap.svg"]) == 0
    out = capsys.readouterr().out
    assert "wrote forest.svg" in out and "wrote overlap.svg" in out and "augmented IPW" in out
    forest = ET.parse(tmp_path / "forest.svg").getroot()
    assert len(of_class(forest, "line", "interval")) == 1
    assert EFFECT in [t.text for t in forest.iter(f"{SVG}text")]
    assert set(panels(ET.parse(tmp_path / "overlap.svg").getroot())) == {"PSI = 0", "PSI = 1"}
    # with --json standard output stays one JSON line; where the files went is on stderr
    assert main(["estimate", SPECTOR, EFFECT, "--data", DATA, "--method", "gformula", "--json",
                 "-o", "f2.svg"]) == 0
    got = capsys.readouterr()
    assert json.loads(got.out)["method"] == "gformula" and "wrote f2.svg" in got.err
    f2 = ET.parse(tmp_path / "f2.svg").getroot()
    assert [t.text for t in of_class(f2, "text", "label")] == ["gformula"]


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "forest.pdf"], r"-o forest\.pdf: the forest and overlap plots are drawn as SVG or PNG"),
    (["-o", "forest"], r"name a \.svg or \.png file \(not no extension\)"),
    (["--overlap", "o.pdf"], r"--overlap o\.pdf: .* SVG or PNG.*'\.pdf'"),
    (["-o", "forest.svg", "--overlap", "overlap.svg", "--method", "gformula"],
     "method gformula fits no propensity model"),
])
def test_causal_estimate_bad_pictures_are_located_errors(args, message, tmp_path, monkeypatch,
                                                         capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["estimate", SPECTOR, EFFECT, "--data", DATA, *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{SPECTOR}: error: ") and "Traceback" not in err
    assert re.search(message, err)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_overlap_of_a_plugin_estimate_is_an_error_and_writes_nothing(tmp_path, monkeypatch,
                                                                     capsys):
    """``auto`` takes the plug-in on finite data with enough rows a cell: no propensity model,
    so no overlap; the forest plot asked for alongside is not written either."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.causal").write_text("graph g {\n  X -> Y\n}\n")
    rows = [("yes", "yes")] * 15 + [("yes", "no")] * 5 + [("no", "yes")] * 8 + [("no", "no")] * 12
    (tmp_path / "d.csv").write_text("X,Y\n" + "".join(f"{x},{y}\n" for x, y in rows))
    assert main(["estimate", "g.causal", "P(Y = yes | do(X = yes))", "--data", "d.csv",
                 "-o", "forest.svg", "--overlap", "overlap.svg"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("g.causal: error: ") and "method plugin) has no propensity model" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "g.causal"]
