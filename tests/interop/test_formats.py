"""Network files out (issue 18, item 1): a model written as .causal text reads back as the same
model (variables, roles, types, parents, tables to 1e-12), from a BIF file or built in Python;
BIF written reads back, by us and by pgmpy; ``causaldsl.read``/``write`` pick the format by
the extension, and ``causal convert`` is the two in a row. What a format cannot hold is refused,
naming it."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import causaldsl
from causaldsl import CausalError, CausalModel, FiniteType, ModelBuilder, Role, parse
from causaldsl.app.cli import main
from causaldsl.graph import ADMG
from causaldsl.interop.bif import bif_text, parse_bif, read_bif
from causaldsl.lang.fmt import format_source
from causaldsl.lang.writer import model_source
from tests.interop.test_bif import ASIA2, EXAMPLES, SLOW_TO_READ, networks

#: networks whose .causal text takes more than a second or two to read back
SLOW_CAUSAL = SLOW_TO_READ | {"link", "mildew", "munin1"}


def assert_same(a: CausalModel, b: CausalModel, tol: float = 1e-12) -> None:
    """The same variables in the same order, roles, types (labels and their kinds, in order),
    parents, and tables to ``tol``."""
    assert list(a.variables) == list(b.variables)
    for v in a.variables.values():
        w = b[v.name]
        assert (v.role, v.parents, v.is_input) == (w.role, w.parents, w.is_input), v.name
        assert v.type == w.type, v.name
        if isinstance(v.type, FiniteType):
            assert [(type(x), x) for x in v.type.values] == [(type(x), x) for x in w.type.values]
        if isinstance(v.mechanism, causaldsl.Table):
            assert v.mechanism.shape == w.mechanism.shape
            np.testing.assert_allclose(w.mechanism.array, v.mechanism.array, rtol=0, atol=tol,
                                       err_msg=v.name)
        else:
            assert str(v.mechanism) == str(w.mechanism), v.name


def back(model: CausalModel) -> CausalModel:
    text = model_source(model)
    prog = parse(text)
    (out,) = prog.models.values()
    return out


@pytest.mark.parametrize("name", networks(SLOW_CAUSAL))
def test_a_bif_network_written_as_causal_reads_back_the_same(name):
    model = read_bif(EXAMPLES / f"{name}.bif.gz")
    text = model_source(model)
    again = back(model)
    assert again.name == name
    assert_same(model, again)
    assert model_source(again) == text  # and is written the same again


@pytest.mark.parametrize("name", ["asia", "child", "hepar2", "win95pts"])
def test_written_text_is_canonical(name):
    """What ``causal fmt`` would write: the writer and the formatter agree on layout."""
    text = model_source(read_bif(EXAMPLES / f"{name}.bif.gz"))
    assert format_source(text) == text


def test_floats_are_written_exactly():
    b = ModelBuilder("m")
    third = 1 / 3
    b.variable("X", ["a", "b", "c"], [third, 0.1 + 0.2 - 0.3 + third, 1 - 2 * third - 5.551115123125783e-17])
    b.variable("Y", ["a", "b"], {"a": [1e-300, 1 - 1e-300], "b": [0.7, 0.30000000000000004],
                                 "c": [np.nextafter(0.5, 1), np.nextafter(0.5, 0)]}, given="X")
    model = b.build()
    again = back(model)
    for n in ("X", "Y"):
        np.testing.assert_array_equal(again[n].mechanism.array, model[n].mechanism.array)


def test_a_python_model_with_every_kind_of_label_and_role_reads_back():
    b = ModelBuilder("mixed")
    yes_no = b.type("YesNo", ["no", "yes"])
    b.exogenous("U", causaldsl.Bool, [0.3, 0.7])
    b.latent("H", yes_no, [0.5, 0.5])
    b.variable("N", [0, 1, -2], {False: [0.2, 0.3, 0.5], True: [1, 0, 0]}, given="U")
    b.variable("S", ["0", "1", "true", "a b", 'say "hi"', "back\\slash", "table", "x'", "é"],
               {(0, "no"): [1 / 9] * 9, (0, "yes"): [0, 0, 0, 0, 0, 0, 0, 0, 1],
                (1, "no"): [0.5, 0.5, 0, 0, 0, 0, 0, 0, 0], (1, "yes"): [0, 1, 0, 0, 0, 0, 0, 0, 0],
                (-2, "no"): [0, 0, 0.5, 0.5, 0, 0, 0, 0, 0], (-2, "yes"): [0, 0, 0, 0, 0, 0, 0, 1, 0]},
               given=["N", "H"])
    b.variable("T", yes_no, {lab: [0.5, 0.5] for lab in ["0", "1", "true", "a b", 'say "hi"',
                                                        "back\\slash", "table", "x'", "é"]},
               given="S")
    model = b.build()
    text = model_source(model)
    assert text.startswith("type YesNo = {no, yes}\n\nmodel mixed {\n")
    assert ('S : {"0", "1", "true", "a b", "say \\"hi\\"", "back\\\\slash", "table", x\', "é"}'
            in text)
    again = back(model)
    assert_same(model, again)
    assert again["U"].role is Role.EXOGENOUS and again["H"].role is Role.LATENT
    assert again["U"].type == causaldsl.Bool and again["H"].type.name == "YesNo"
    assert again.query('P(T = yes | do(S = "say \\"hi\\""))') == pytest.approx(0.5)
    assert model.query("P(S)").probs == pytest.approx(again.query("P(S)").probs, abs=1e-12)


def test_the_examples_read_back_the_same():
    for path in sorted(Path(causaldsl.__file__).parents[2].joinpath("examples").glob("*.causal")):
        for model in causaldsl.load(path).models.values():
            if any(v.mechanism is None for v in model.variables.values()):
                continue  # a graph: structure only
            assert_same(model, back(model))


@pytest.mark.parametrize("seed", range(5))
def test_random_networks_read_back_the_same_and_answer_the_same(seed):
    """pgmpy's random networks of the oracle tests: integer labels (pgmpy's default), names,
    "0-5" and "10+" (quoted), "0" and "1" (names that look like integers)."""
    from tests.backends.test_pgmpy_oracle import pick_cause_effect, query_text, random_network

    bn, model, order = random_network(seed)
    again = back(model)
    assert_same(model, again)
    rng = np.random.default_rng(seed)
    x, y = pick_cause_effect(bn, order, rng)
    for xv in model[x].type.values:
        text = query_text([y], {x: xv})
        np.testing.assert_allclose(np.asarray(again.query(text).probs),
                                   np.asarray(model.query(text).probs), rtol=0, atol=1e-12)


def test_a_continuous_model_reads_back_the_same():
    text = ("model r {\n  exogenous U : Real in [0, 1] ~ Uniform(0, 1)\n"
            "  X : Real in (-inf, 2.5] := U + 1\n  Y : {lo, hi} ~ Bernoulli(sigmoid(X))\n}\n")
    model = parse(text).models["r"]
    assert model_source(model) == text
    assert_same(model, back(model))


def test_what_the_language_cannot_write_is_refused_by_name():
    def refused(model: CausalModel) -> str:
        with pytest.raises(CausalError) as e:
            model_source(model)
        return str(e.value)

    v = causaldsl.Variable
    t = FiniteType(["a", "b"])
    for bad in ("a b", "2x", "table", "é"):
        m = CausalModel.from_variables([v(bad, t, mechanism=causaldsl.Table([0.5, 0.5], 0))])
        assert refused(m).startswith(f"variable {bad!r} of model model cannot be written")
    m = CausalModel.from_variables([v("X", FiniteType(["a\nb", "c"]),
                                      mechanism=causaldsl.Table([0.5, 0.5], 0))])
    assert refused(m) == ("the label 'a\\nb' of variable 'X' of model model holds a line break, "
                          "which no .causal label can hold")
    smoking = causaldsl.load(Path(causaldsl.__file__).parents[2] / "examples" / "smoking.causal")
    assert refused(smoking.model.cut("S")) == ("variable 'S' of model smoking is an input (it was "
                                               "cut); a .causal file cannot write one")
    half = CausalModel.from_variables([v("X", t, mechanism=causaldsl.Table([0.5, 0.5], 0)),
                                       v("Y", t, parents=("X",))])
    assert refused(half) == ("variable 'Y' of model model has no mechanism; a .causal model "
                             "gives each variable one (a graph block, none)")


def test_a_model_name_the_language_cannot_write_is_written_with_underscores():
    model = parse_bif(ASIA2.replace("network unknown", 'network "Dog-Problem 2"'))
    assert model.name == "Dog-Problem 2"
    assert back(model).name == "Dog_Problem_2"
    assert back(parse_bif(ASIA2.replace("network unknown", "network table"))).name == "table_"
    assert back(parse_bif(ASIA2.replace("network unknown", "network 2nd"))).name == "_2nd"


# -- BIF out ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["asia", "child", "alarm", "hepar2", "win95pts"])
def test_bif_written_reads_back_the_same_by_us_and_by_pgmpy(name):
    from pgmpy.readwrite import BIFReader

    from causaldsl.interop.pgmpy import from_pgmpy

    model = read_bif(EXAMPLES / f"{name}.bif.gz")
    text = bif_text(model)
    assert_same(model, parse_bif(text, name=name))
    theirs = from_pgmpy(BIFReader(string=text).get_model())
    for v in model.variables.values():
        w = theirs[v.name]
        assert w.parents == v.parents and list(w.type.values) == list(v.type.values)
        np.testing.assert_allclose(w.mechanism.array, v.mechanism.array, rtol=0, atol=1e-12)


def test_bif_writes_names_it_cannot_write_bare_in_quotes_and_labels_as_names():
    b = ModelBuilder("m")
    b.variable("X", ["a b", 'q"', "0-3_days", "12+"], [0.25] * 4)
    b.variable("Y", [0, 1], {"a b": [1, 0], 'q"': [0, 1], "0-3_days": [1, 0], "12+": [0, 1]},
               given="X")
    model = b.build()
    text = bif_text(model)
    assert 'type discrete [ 4 ] { "a b", "q\\"", 0-3_days, 12+ };' in text
    again = parse_bif(text)
    assert again["X"].type.values == model["X"].type.values
    assert again["Y"].type.values == ("0", "1")  # BIF has names only
    np.testing.assert_array_equal(again["Y"].mechanism.array, model["Y"].mechanism.array)


def test_bif_refuses_what_it_cannot_hold():
    smoking = causaldsl.load(Path(causaldsl.__file__).parents[2] / "examples" / "smoking.causal")
    with pytest.raises(CausalError, match="variable H of model smoking is latent; BIF holds only "
                                          "observed variables with tables"):
        bif_text(smoking.model)
    linear = causaldsl.load(Path(causaldsl.__file__).parents[2] / "examples" / "linear.causal")
    with pytest.raises(CausalError, match=r"variable Ux of model linear is exogenous"):
        bif_text(linear.model)


# -- read and write by extension, and causal convert --------------------------------------------


def test_read_and_write_by_extension(tmp_path):
    model = read_bif(EXAMPLES / "child.bif.gz")
    for name in ("child.causal", "child.bif", "child.bif.gz", "CHILD.BIF.GZ"):
        causaldsl.write(model, tmp_path / name)
        assert_same(model, causaldsl.read(tmp_path / name))
    assert (tmp_path / "child.bif.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress((tmp_path / "child.bif.gz").read_bytes()) == \
        (tmp_path / "child.bif").read_bytes()
    assert causaldsl.read(str(tmp_path / "child.causal")).name == "child"
    with pytest.raises(CausalError, match=r"child\.txt: the extension names no format"):
        causaldsl.write(model, tmp_path / "child.txt")
    with pytest.raises(causaldsl.CausalTypeError, match="write takes a CausalModel"):
        causaldsl.write("child", tmp_path / "x.causal")
    with pytest.raises(causaldsl.MissingFileError, match=r"nope\.bif: no such file"):
        causaldsl.read(tmp_path / "nope.bif")


def test_read_names_the_model_where_a_file_has_several(tmp_path):
    (tmp_path / "asia2.bif").write_text(ASIA2)
    (tmp_path / "two.causal").write_text('import "asia2.bif"\nmodel m {\n  X : {a, b} ~ [0.5, 0.5]\n}\n')
    with pytest.raises(CausalError, match=r"two\.causal defines 2 models \(asia2, m\); name the "
                                          r"one to read: read\(path, model=NAME\)"):
        causaldsl.read(tmp_path / "two.causal")
    assert list(causaldsl.read(tmp_path / "two.causal", "asia2").variables) == ["asia", "tub"]
    assert causaldsl.read(tmp_path / "two.causal", model="m").name == "m"
    with pytest.raises(CausalError, match="no model or graph named 'n'"):
        causaldsl.read(tmp_path / "two.causal", "n")


def test_write_refuses_a_folder_or_a_fifo(tmp_path):
    model = parse_bif(ASIA2)
    (tmp_path / "dir.causal").mkdir()
    with pytest.raises(IsADirectoryError):
        causaldsl.write(model, tmp_path / "dir.causal")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.bif")
        with pytest.raises(OSError, match="FIFO"):
            causaldsl.write(model, tmp_path / "pipe.bif")  # refused, never waits for a reader


def run(capsys: Any, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "internal error" not in out.err
    return code, out.out, out.err


def test_causal_convert(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alarm.bif.gz").write_bytes((EXAMPLES / "alarm.bif.gz").read_bytes())
    assert run(capsys, "convert", "alarm.bif.gz", "-o", "alarm.causal") == (
        0, "wrote alarm.causal\n", "")
    assert run(capsys, "convert", "alarm.causal", "-o", "again.bif") == (0, "wrote again.bif\n", "")
    assert_same(read_bif("alarm.bif.gz"), read_bif("again.bif"))
    code, out, _ = run(capsys, "convert", "alarm.bif.gz", "-o", "-")
    assert code == 0 and out == (tmp_path / "alarm.causal").read_text()
    code, out, _ = run(capsys, "query", "alarm.causal", "P(BP | do(CO = HIGH))")
    assert code == 0 and "HIGH    0.567533" in out


def test_causal_convert_errors_exit_1_with_a_message(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "asia2.bif").write_text(ASIA2)
    (tmp_path / "bad.bif").write_text(ASIA2.replace("(no) 0.01", "(nope) 0.01"))
    (tmp_path / "two.causal").write_text('import "asia2.bif"\nmodel m {\n  X : {a, b} ~ [0.5, 0.5]\n}\n')
    (tmp_path / "dir.bif").mkdir()
    smoking = str(Path(causaldsl.__file__).parents[2] / "examples" / "smoking.causal")
    for args, message in (
        (["bad.bif", "-o", "x.causal"], "bad.bif:14:4: error: 'nope' is not a state of asia"),
        (["missing.bif", "-o", "x.causal"], "missing.bif: no such file"),
        (["two.causal", "-o", "x.bif"], "two.causal defines 2 models (asia2, m); name the one to "
                                        "read: --in MODEL"),
        (["two.causal", "--in", "n", "-o", "x.bif"], "no model or graph named 'n' in two.causal"),
        (["asia2.bif", "-o", "x.txt"], "x.txt: the extension names no format causaldsl writes"),
        (["asia2.bif", "-o", "dir.bif"], "dir.bif: cannot write: it is a folder, not a file"),
        (["asia2.bif", "-o", "no/such/folder.bif"], "no/such/folder.bif: cannot write: no such file"),
        ([smoking, "-o", "s.bif"], "variable H of model smoking is latent; BIF holds only observed"),
    ):
        code, out, err = run(capsys, "convert", *args)
        assert (code, out) == (1, ""), args
        assert err.startswith(message), (args, err)
    assert not (tmp_path / "x.causal").exists() and not (tmp_path / "s.bif").exists()
    code, out, _ = run(capsys, "convert", "two.causal", "--in", "m", "-o", "-")
    assert code == 0 and out == "model m {\n  X : {a, b} ~ [0.5, 0.5]\n}\n"


# -- graphs as .causal text ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["frontdoor", "napkin"])
def test_a_graph_is_written_as_a_graph_block_that_reads_back_the_same(name):
    prog = causaldsl.load(Path(causaldsl.__file__).parents[2] / "examples" / f"{name}.causal")
    graph = prog.models[name]
    text = model_source(graph)
    assert text.startswith(("type YesNo", f"graph {name} {{"))
    again = back(graph)
    assert again == graph and list(again.variables) == list(graph.variables)
    assert format_source(text) == text  # canonical: what causal fmt writes


def test_a_node_may_be_declared_without_a_type():
    """Alone (a node with no edge) or with its role; typed nodes keep their types."""
    text = ("type YesNo = {no, yes}\n\ngraph g {\n  latent U\n  Z\n  X\n  Y : YesNo\n"
            "  exogenous N : {a, b}\n  U -> X\n  N -> Y\n  X -> Y\n}\n")
    g = parse(text).models["g"]
    assert [(v.name, str(v.type), v.role.value, v.parents) for v in g.variables.values()] == [
        ("U", "?", "latent", ()), ("Z", "?", "observed", ()), ("X", "?", "observed", ("U",)),
        ("N", "{a, b}", "exogenous", ()), ("Y", "YesNo", "observed", ("N", "X"))]
    assert g.admg() == ADMG(["Z", "X", "Y"], [("X", "Y")])
    assert model_source(g) == text.replace("  Y : YesNo\n  exogenous N : {a, b}\n",
                                           "  exogenous N : {a, b}\n  Y : YesNo\n")
    assert back(g) == g
    assert format_source("graph g { latent U  Z\nU->Z }") == "graph g {\n  latent U\n  Z\n  U -> Z\n}\n"
