"""Reading BIF files (issue 18, item 1): every bnlearn network pgmpy ships reads as pgmpy reads
it, table by table; do-queries on what was read agree with pgmpy's surgery + variable
elimination; a malformed file is an error at its line and column, never a traceback; a network
file imports into a .causal file and answers the command line's commands."""

from __future__ import annotations

import gzip
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from causaldsl import CausalError, TableError, load
from causaldsl.app.cli import main
from causaldsl.interop.bif import network_stem, parse_bif, read_bif
from causaldsl.syntax.diagnostics import SourceError

pgmpy = pytest.importorskip("pgmpy")

EXAMPLES = Path(pgmpy.__file__).parent / "utils" / "example_models"

#: (nodes, arcs, free parameters) of each network: what the bnlearn repository lists (for
#: munin3 and pathfinder, what the files pgmpy ships hold, as pgmpy's reader also finds)
SIZES = {
    "alarm": (37, 46, 509), "andes": (223, 338, 1157), "asia": (8, 8, 18),
    "barley": (48, 84, 114005), "cancer": (5, 4, 10), "child": (20, 25, 230),
    "diabetes": (413, 602, 429409), "earthquake": (5, 4, 10), "hailfinder": (56, 66, 2656),
    "hepar2": (70, 123, 1453), "insurance": (27, 52, 1008), "link": (724, 1125, 14211),
    "mildew": (35, 46, 540150), "munin": (1041, 1397, 80592), "munin1": (186, 273, 15622),
    "munin2": (1003, 1244, 69431), "munin3": (1041, 1306, 71059),
    "munin4": (1038, 1388, 80352), "pathfinder": (109, 195, 72079), "pigs": (441, 592, 5618),
    "sachs": (11, 17, 178), "survey": (6, 6, 21), "water": (32, 66, 10083),
    "win95pts": (76, 112, 574),
}
#: the networks that take more than a second to read (1 to 3 s each)
SLOW_TO_READ = {"barley", "diabetes", "munin", "munin2", "munin3", "munin4", "pathfinder"}
#: and those whose reading by pgmpy, the oracle, takes more than a second or two
SLOW_FOR_PGMPY = SLOW_TO_READ | {"andes", "hepar2", "link", "mildew", "munin1", "pigs", "water"}


def networks(slow: set[str]) -> list[Any]:
    return [pytest.param(n, marks=pytest.mark.slow) if n in slow else n for n in sorted(SIZES)]


def test_every_network_pgmpy_ships_is_here():
    assert sorted(network_stem(p) for p in EXAMPLES.glob("*.bif.gz")) == sorted(SIZES)


_PGMPY: dict[str, Any] = {}


def pgmpy_network(name: str) -> Any:
    """pgmpy's reading of a shipped file (its own BIF reader), once per worker."""
    if name not in _PGMPY:
        from pgmpy.readwrite import BIFReader

        text = gzip.decompress((EXAMPLES / f"{name}.bif.gz").read_bytes()).decode()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _PGMPY[name] = BIFReader(string=text).get_model()
    return _PGMPY[name]


@pytest.mark.parametrize("name", networks(SLOW_FOR_PGMPY))
def test_a_network_reads_as_pgmpy_reads_it(name):
    model = read_bif(EXAMPLES / f"{name}.bif.gz")
    net = pgmpy_network(name)
    assert model.name == name
    assert sorted(model.variables) == sorted(net.nodes())
    assert model.observed == tuple(model.variables)  # every variable observed
    for cpd in net.get_cpds():
        v = model[cpd.variable]
        assert v.parents == tuple(cpd.variables[1:]), v.name
        for axis, u in enumerate((*v.parents, v.name)):  # states: names, in the file's order
            assert list(model[u].type.values) == list(cpd.state_names[u]), (v.name, u)
            assert v.mechanism.shape[axis] == model[u].type.size
        want = np.moveaxis(cpd.values, 0, -1)  # (*parents, variable), as the file's rows
        want = want / want.sum(axis=-1, keepdims=True)  # bnlearn's rows are off by up to 1e-7
        np.testing.assert_allclose(v.mechanism.array, want, rtol=0, atol=1e-12, err_msg=v.name)


@pytest.mark.parametrize("name", networks(SLOW_TO_READ))
def test_nodes_arcs_and_parameters(name):
    model = read_bif(EXAMPLES / f"{name}.bif.gz")
    vs = model.variables.values()
    params = sum((v.type.size - 1) * int(np.prod([model[p].type.size for p in v.parents]))
                 for v in vs)
    assert (len(vs), sum(len(v.parents) for v in vs), params) == SIZES[name]


# -- do-queries against pgmpy -------------------------------------------------------------------

QUERIED = ["asia", "sachs", "child", "insurance", "alarm",
           pytest.param("hailfinder", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name", QUERIED)
def test_seeded_do_queries_agree_with_pgmpy(name):
    assert_do_queries_agree(read_bif(EXAMPLES / f"{name}.bif.gz"), pgmpy_network(name), name)


def assert_do_queries_agree(model: Any, network: Any, name: str) -> None:
    """Three seeded cause/effect pairs: P(Y | do(X = x)) for every x, and P(Y | do(X = x),
    Z = z) for a third variable Z's every likely value z, equal to pgmpy's surgery and
    variable elimination on ``network`` to 1e-9."""
    import networkx as nx

    from tests.backends.test_pgmpy_oracle import (
        MIN_EVIDENCE,
        normalised,
        oracle,
        pick_cause_effect,
        probs,
        query_text,
        states_of,
    )

    net = normalised(network)  # as our tables are: rows summing to one
    order = list(nx.topological_sort(net))
    rng = np.random.default_rng(sum(map(ord, name)))
    for _ in range(3):
        x, y = pick_cause_effect(net, order, rng)
        z = str(rng.choice([v for v in order if v not in (x, y)]))
        for xv in states_of(net, x):
            text = query_text([y], {x: xv})
            np.testing.assert_allclose(probs(model.query(text)), oracle(net, [y], {x: xv}),
                                       rtol=0, atol=1e-9, err_msg=text)
            p_z = oracle(net, [z], {x: xv})
            for zv in (s for s, p in zip(states_of(net, z), p_z, strict=True) if p > MIN_EVIDENCE):
                text = query_text([y], {x: xv}, {z: zv})
                np.testing.assert_allclose(probs(model.query(text)),
                                           oracle(net, [y], {x: xv}, {z: zv}),
                                           rtol=0, atol=1e-9, err_msg=text)


# -- dialects and details -----------------------------------------------------------------------

ASIA2 = """network unknown {
}
variable asia {
  type discrete [ 2 ] { yes, no };
}
variable tub {
  type discrete [ 2 ] { yes, no };
}
probability ( asia ) {
  table 0.01, 0.99;
}
probability ( tub | asia ) {
  (yes) 0.05, 0.95;
  (no) 0.01, 0.99;
}
"""


def tables(model: Any) -> dict[str, list[Any]]:
    return {n: v.mechanism.array.tolist() for n, v in model.variables.items()}


def test_the_javabayes_dialect_quotes_spaces_and_a_table_with_the_variable_outermost():
    text = """// JavaBayes writes this
network "Dog-Problem" { property "credal-set constant-density-bounded 1.1" ; }
variable "light-on" { type discrete[2] { "true" "false" }; property "position = (218, 195)" ; }
variable "family out" { type discrete[2] { "true" "false" }; }
probability ( "light-on" "family out" ) { //2 variable(s) and 4 values
  table 0.6 0.05 0.4 0.95 ;
}
/* a comment
   over lines */
probability ( "family out" ) { table 0.15 0.85 ; }
"""
    model = parse_bif(text)
    assert model.name == "Dog-Problem"
    assert model["light-on"].parents == ("family out",)
    assert model["light-on"].type.values == ("true", "false")  # names, not booleans
    # P(light-on = true | family out = true) = 0.6, P(light-on = true | family out = false) = 0.05
    assert tables(model) == {"family out": [0.15, 0.85], "light-on": [[0.6, 0.4], [0.05, 0.95]]}


def test_default_rows_properties_and_a_comment_inside_numbers():
    model = parse_bif(ASIA2.replace("  (no) 0.01, 0.99;\n", "  default 0.5, 0.5;\n  property x = 1;\n")
                      .replace("(yes) 0.05,", "(yes) 0.05, // the rest\n"))
    assert tables(model)["tub"] == [[0.05, 0.95], [0.5, 0.5]]
    assert model.name == "bn"  # bnlearn names every network "unknown"; text has no file name


def test_a_file_is_named_after_itself_plain_or_gzipped(tmp_path):
    (tmp_path / "two nodes.bif").write_text(ASIA2)
    (tmp_path / "asia2.BIF.gz").write_bytes(gzip.compress(ASIA2.encode()))
    (tmp_path / "zipped.bif").write_bytes(gzip.compress(ASIA2.encode()))  # gzip, whatever the name
    for f, name in (("two nodes.bif", "two nodes"), ("asia2.BIF.gz", "asia2"), ("zipped.bif", "zipped")):
        model = read_bif(tmp_path / f)
        assert model.name == name and tables(model) == tables(parse_bif(ASIA2))


def test_labels_that_look_like_numbers_stay_names():
    model = parse_bif(ASIA2.replace("{ yes, no }", "{ 0, 1 }").replace("(yes)", "(0)")
                      .replace("(no)", "(1)"))
    assert model["asia"].type.values == ("0", "1")
    assert model.query("P(tub = 0 | do(asia = 1))") == pytest.approx(0.01)
    assert model.query('P(tub = "0" | asia = "0")') == pytest.approx(0.05)


# -- errors -------------------------------------------------------------------------------------

MALFORMED = [
    # (what, replace this, by this, the first line of the error)
    ("a missing ';'", "{ yes, no };\n}\nvariable tub", "{ yes, no }\n}\nvariable tub",
     "x.bif:5:1: error: unexpected '}'; expected ';'"),
    ("a count that is no number", "[ 2 ] { yes, no };\n}\nvariable tub",
     "[ x ] { yes, no };\n}\nvariable tub", "x.bif:4:19: error: unexpected 'x'; expected an integer"),
    ("a letter in the numbers", "0.05, 0.95", "0.05, 0.9x5",
     "x.bif:13:18: error: unexpected 'x5'; expected ';', numbers"),
    ("the end of the file too soon", "  (no) 0.01, 0.99;\n}\n", "  (no) 0.01, 0.99;\n",
     "x.bif:14:19: error: unexpected end of file; expected '(', 'default', 'table', '}', a property"),
    ("a row that does not sum to one", "(no) 0.01, 0.99", "(no) 0.01, 0.9",
     "x.bif:14:3: error: row no of variable tub (given asia) sums to 0.91, not 1 (off by -0.09)"),
    ("a negative entry", "(no) 0.01, 0.99", "(no) -0.01, 1.01",
     "x.bif:14:3: error: table of variable tub (given asia) has a negative entry -0.01 at row no, "
     "value yes"),
    ("a root table that does not sum to one", "table 0.01, 0.99;", "table 0.01, 0.89;",
     "x.bif:10:3: error: the table of variable asia sums to 0.9, not 1 (off by -0.1)"),
    ("a row of three numbers", "(no) 0.01, 0.99", "(no) 0.01, 0.49, 0.5",
     "x.bif:14:3: error: row (no) of tub has 3 numbers, but tub has 2 states {yes, no}"),
    ("a table of three numbers", "table 0.01, 0.99;", "table 0.01, 0.49, 0.5;",
     "x.bif:10:3: error: the table of asia has 3 numbers, but it needs 2: 2 states"),
    ("a state not declared", "(no) 0.01", "(nope) 0.01",
     "x.bif:14:4: error: 'nope' is not a state of asia; its states are {yes, no}; did you mean 'no'?"),
    ("a row given twice", "(no) 0.01", "(yes) 0.01",
     "x.bif:14:3: error: row (yes) of tub is given twice (first at line 13)"),
    ("a row missing", "  (no) 0.01, 0.99;\n", "",
     "x.bif:12:1: error: the probability of tub has no row for asia = no"),
    ("a row of two states for one parent", "(no) 0.01", "(no, yes) 0.01",
     "x.bif:14:3: error: row (no, yes) of tub names 2 states, but tub has given asia"),
    ("a parent not declared", "tub | asia", "tub | asai",
     "x.bif:12:21: error: 'asai' is not a declared variable; did you mean 'asia'?"),
    ("its own parent", "tub | asia", "tub | asia, tub",
     "x.bif:12:27: error: variable tub is given as its own parent"),
    ("a variable declared twice", "variable tub {", "variable asia {",
     "x.bif:6:10: error: variable asia is declared twice (first at line 3)"),
    ("a variable without probability", "probability ( tub | asia )", "probability ( tubb | asia )",
     "x.bif:6:10: error: variable tub has no probability block"),
    ("a count that is not the states'", "[ 2 ] { yes, no };\n}\nvariable tub",
     "[ 3 ] { yes, no };\n}\nvariable tub",
     "x.bif:4:19: error: variable asia is declared with 3 states but lists 2"),
    ("a count of 5000 digits", "[ 2 ] { yes, no };\n}\nvariable tub",
     f"[ {'9' * 5000} ] {{ yes, no }};\n}}\nvariable tub",
     "x.bif:4:19: error: variable asia is declared with more states but lists 2"),
    ("a state listed twice", "{ yes, no };\n}\nvariable tub", "{ yes, yes };\n}\nvariable tub",
     "x.bif:4:30: error: state yes of variable asia is listed twice"),
    ("a cycle", "probability ( asia ) {\n  table 0.01, 0.99;",
     "probability ( asia | tub ) {\n  (yes) 0.01, 0.99; (no) 0.5, 0.5;",
     "x.bif:12:1: error: model bn has a cycle: tub → asia → tub"),
    ("a second table", "table 0.01, 0.99;", "table 0.01, 0.99; table 0.5, 0.5;",
     "x.bif:10:21: error: the probability of asia has two table lines (first at line 10)"),
]


@pytest.mark.parametrize(("what", "old", "new", "first"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_file_is_an_error_at_its_place(what, old, new, first):
    assert old in ASIA2
    with pytest.raises(SourceError) as e:
        parse_bif(ASIA2.replace(old, new, 1), "x.bif")
    lines = str(e.value).splitlines()
    assert lines[0] == first
    line = int(first.split(":")[1])
    assert lines[1] == f" {line} | {ASIA2.replace(old, new, 1).splitlines()[line - 1]}"


def test_a_table_too_large_to_make_is_refused_before_it_is_allocated():
    """Ten parents of 10 states: 10^10 rows, from one `default` line."""
    decls = "".join(f"variable P{i} {{ type discrete [ 10 ] {{ {', '.join(f's{j}' for j in range(10))} "
                    f"}}; }}\nprobability ( P{i} ) {{ table {', '.join(['0.1'] * 10)}; }}\n"
                    for i in range(10))
    text = (decls + "variable Y { type discrete [ 2 ] { a, b }; }\n"
            f"probability ( Y | {', '.join(f'P{i}' for i in range(10))} ) {{ default 0.5, 0.5; }}\n")
    with pytest.raises(SourceError) as e:
        parse_bif(text, "big.bif")
    assert str(e.value).splitlines()[0] == (
        "big.bif:22:1: error: the probability of Y needs a table of 10 × 10 × 10 × 10 × 10 × 10 × "
        "10 × 10 × 10 × 10 × 2 = 20,000,000,000 entries (149.0 GiB), above the limit of "
        "268,435,456 entries (2.0 GiB)")


def test_every_error_is_reported_together():
    text = ASIA2.replace("(no) 0.01", "(nope) 0.01").replace("table 0.01, 0.99", "table 0.1, 0.1")
    with pytest.raises(SourceError) as e:
        parse_bif(text, "x.bif")
    assert [f"{d.span}" for d in e.value.diagnostics] == ["10:3", "14:4"]
    assert str(e.value).endswith("\n2 errors")


def test_a_table_error_is_the_projects_table_error_message():
    """The message a .causal table gets for the same fault."""
    from causaldsl import parse

    with pytest.raises(SourceError) as bif:
        parse_bif(ASIA2.replace("(no) 0.01, 0.99", "(no) 0.01, 0.9"))
    with pytest.raises(SourceError) as causal:
        parse("model m {\n asia : {yes, no} ~ [0.01, 0.99]\n tub : {yes, no} ~ table(asia) "
              "{ yes: [0.05, 0.95], no: [0.01, 0.9] }\n}\n")
    assert bif.value.diagnostics[0].message == causal.value.diagnostics[0].message
    with pytest.raises(TableError) as direct:
        from causaldsl import ModelBuilder

        b = ModelBuilder()
        b.variable("asia", ["yes", "no"], [0.01, 0.99])
        b.variable("tub", ["yes", "no"], {"yes": [0.05, 0.95], "no": [0.01, 0.9]}, given="asia")
        b.build()
    assert str(direct.value) in bif.value.diagnostics[0].message


def test_files_that_cannot_be_read(tmp_path):
    (tmp_path / "bad.bif.gz").write_bytes(gzip.compress(ASIA2.encode())[:-12])
    with pytest.raises(CausalError, match=r"bad\.bif\.gz: the file is damaged gzip data"):
        read_bif(tmp_path / "bad.bif.gz")
    (tmp_path / "latin.bif").write_bytes(ASIA2.replace("tub", "t\xfcb").encode("latin-1"))
    with pytest.raises(SourceError, match=r"latin\.bif:6:11: error: the file is not UTF-8 text"):
        read_bif(tmp_path / "latin.bif")
    with pytest.raises(IsADirectoryError):
        read_bif(tmp_path)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.bif")
        with pytest.raises(OSError, match="FIFO"):
            read_bif(tmp_path / "pipe.bif")  # refused, never waits for a writer


# -- in a .causal file and on the command line --------------------------------------------------


def test_a_network_file_imports_into_a_causal_file(tmp_path):
    (tmp_path / "asia2.bif").write_text(ASIA2)
    (tmp_path / "alarm.bif.gz").write_bytes((EXAMPLES / "alarm.bif.gz").read_bytes())
    (tmp_path / "m.causal").write_text('import "asia2.bif"\nimport "alarm.bif.gz"\n'
                                       "query P(tub = yes | do(asia = yes)) in asia2\n")
    prog = load(tmp_path / "m.causal")
    assert set(prog.models) == {"asia2", "alarm"}
    assert prog.model.name == "alarm"  # the last one imported
    assert prog.models["asia2"].query("P(tub = yes | do(asia = yes))") == pytest.approx(0.05)


def test_errors_in_an_imported_network_file_are_reported_in_it(tmp_path):
    (tmp_path / "sums.bif").write_text(ASIA2.replace("(no) 0.01, 0.99", "(no) 0.01, 0.9"))
    (tmp_path / "syntax.bif").write_text(ASIA2.replace("};\n}\nvariable tub", "}\n}\nvariable tub"))
    (tmp_path / "m.causal").write_text('import "sums.bif"\nimport "syntax.bif"\n'
                                       'import "missing.bif"\n')
    with pytest.raises(SourceError) as e:
        load(tmp_path / "m.causal")
    got = [f"{Path(d.file).name}:{d.span}: {d.message}" for d in e.value.diagnostics]
    assert got[0] == "m.causal:3:1: cannot import 'missing.bif': no such file"
    assert got[1] == ("sums.bif:14:3: row no of variable tub (given asia) sums to 0.91, not 1 "
                      "(off by -0.09)")
    assert got[2].startswith("syntax.bif:5:1: ")  # a syntax error: the file's words not shown


def test_the_command_line_reads_a_network_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "asia2.bif").write_text(ASIA2)
    (tmp_path / "bad.bif").write_text(ASIA2.replace("(no) 0.01", "(nope) 0.01"))
    assert main(["check", "asia2.bif"]) == 0
    assert capsys.readouterr().out == "asia2.bif: ok (1 model)\n"
    assert main(["query", "asia2.bif", "P(tub = yes | do(asia = no))"]) == 0
    assert "= 0.01" in capsys.readouterr().out
    assert main(["query", "bad.bif", "P(tub)"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bad.bif:14:4: error: 'nope' is not a state of asia")
    assert "Traceback" not in err
    assert main(["fmt", "asia2.bif"]) == 1
    assert capsys.readouterr().err == ("asia2.bif: a BIF file; causal fmt formats .causal files "
                                       "(causal convert asia2.bif -o FILE.causal writes one)\n")
    assert (tmp_path / "asia2.bif").read_text() == ASIA2
