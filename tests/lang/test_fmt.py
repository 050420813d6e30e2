"""`causal fmt`: canonical, idempotent, meaning-preserving, comment-keeping, atomic; it keeps a
file's mode, owner and hard links, and never loses an edit saved while it runs."""

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causaldsl.app.cli import main
from causaldsl.lang.fmt import format_source
from causaldsl.lang.loader import parse
from causaldsl.syntax.query import Event, Linear, Prob, parse_query

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.causal"))


def same_meaning(a, b):
    """Two programs define the same types, models, observations, diagrams and statements."""
    assert a.types == b.types
    assert a.models.keys() == b.models.keys()
    for k in a.models:
        assert a.models[k] == b.models[k], k
    assert a.graphs == b.graphs
    assert a.diagrams == b.diagrams and a.boxes == b.boxes
    assert a.observations.keys() == b.observations.keys()
    for k, obs in a.observations.items():
        for x, y in zip(obs, b.observations[k], strict=True):
            assert x.variables == y.variables and np.array_equal(x.probs, y.probs)
    assert [(type(s), str(getattr(s, "query", getattr(s, "prob", None))), t)
            for s, t in a.statements] == [
        (type(s), str(getattr(s, "query", getattr(s, "prob", None))), t) for s, t in b.statements]


def test_examples_are_canonical_and_round_trip(monkeypatch):
    monkeypatch.chdir(EXAMPLES[0].parent)  # text names its data files relative to the folder
    for p in EXAMPLES:
        text = p.read_text()
        out = format_source(text)
        assert out == text, f"{p.name} is not in canonical form: run causal fmt"
        same_meaning(parse(text), parse(out))


def test_messy_input_is_normalised_and_comments_survive():
    messy = ("# head\ntype   YN={no,yes}\nmodel m{S:YN~[0.5,0.5] # the cause\n"
             "  # the effect\n C : YN ~ table( S ){no:[1.0,0],yes:[0.25,0.75]}}\n"
             "query P( C|do(S=yes) )\n# tail\n")
    out = format_source(messy)
    assert out == ("# head\ntype YN = {no, yes}\n\nmodel m {\n  S : YN ~ [0.5, 0.5]  # the cause\n"
                   "  # the effect\n  C : YN ~ table(S) { no: [1, 0], yes: [0.25, 0.75] }\n}\n\n"
                   "query P(C | do(S = yes))\n\n# tail\n")
    assert format_source(out) == out
    same_meaning(parse(messy), parse(out))


def test_fmt_command_rewrites_atomically_and_check_changes_nothing(tmp_path, capsys):
    f = tmp_path / "m.causal"
    f.write_text("model m { A : Bool ~ [0.5,0.5] }\n")
    before = f.read_text()
    assert main(["fmt", "--check", str(f)]) == 1
    assert f.read_text() == before
    assert main(["fmt", str(f)]) == 0
    assert f.read_text() == "model m {\n  A : Bool ~ [0.5, 0.5]\n}\n"
    assert main(["fmt", "--check", str(f)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.causal"]  # no temporary left


def test_fmt_keeps_the_mode_and_writes_through_a_symbolic_link(tmp_path, capsys):
    real = tmp_path / "real.causal"
    real.write_text("model m { A : Bool ~ [0.5,0.5] }\n")
    real.chmod(0o644)
    link = tmp_path / "link.causal"
    link.symlink_to(real.name)
    assert main(["fmt", str(link)]) == 0
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert real.read_text() == "model m {\n  A : Bool ~ [0.5, 0.5]\n}\n"
    assert real.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.causal", "real.causal"]
    other = tmp_path / "other.causal"
    other.write_text("model m { A : Bool ~ [0.5,0.5] }\n")
    other.chmod(0o664)
    assert main(["fmt", str(other)]) == 0
    assert other.stat().st_mode & 0o777 == 0o664


MESSY = "model m { A : Bool ~ [0.5,0.5] }\n"
TIDY = "model m {\n  A : Bool ~ [0.5, 0.5]\n}\n"


def fmt_fails(capsys, path, message):
    """``causal fmt`` exits 1 with ``message`` and no traceback."""
    assert main(["fmt", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "internal error" not in err, err
    return err


# issue 17, item 6: a read-only folder, edits saved meanwhile, read-only files, hard links, owners


def test_fmt_in_a_folder_where_no_file_can_be_made_is_an_error(tmp_path, capsys, monkeypatch):
    import tempfile

    f = tmp_path / "m.causal"
    f.write_text(MESSY)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # as a read-only folder answers
    fmt_fails(capsys, f, f"{f}: cannot write: permission denied (a temporary file cannot be "
                         f"made in {tmp_path})")
    assert f.read_text() == MESSY


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into a read-only folder")
def test_fmt_in_a_read_only_folder_is_an_error(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    f = folder / "m.causal"
    f.write_text(MESSY)
    folder.chmod(0o555)
    try:
        fmt_fails(capsys, f, f"{f}: cannot write: permission denied")
        assert f.read_text() == MESSY
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("links", [1, 2])
def test_fmt_refuses_when_the_file_changed_while_it_was_formatted(tmp_path, capsys, monkeypatch,
                                                                  links):
    import causaldsl.lang.fmt

    f = tmp_path / "m.causal"
    f.write_text(MESSY)
    if links == 2:  # the file is written in place: the check is made there too
        os.link(f, tmp_path / "other.causal")
    edited = "# an edit saved meanwhile\n" + MESSY
    real = causaldsl.lang.fmt.format_source

    def slow_format(text, file="<string>"):
        out = real(text, file)
        f.write_text(edited)  # the editor saves while fmt works
        return out

    monkeypatch.setattr(causaldsl.lang.fmt, "format_source", slow_format)
    fmt_fails(capsys, f, f"{f}: the file changed while it was being formatted; not rewritten")
    assert f.read_text() == edited
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["m.causal"] + (["other.causal"] if links == 2 else []))  # no temporary left


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o555], ids=oct)
def test_fmt_refuses_a_read_only_file(tmp_path, capsys, mode):
    f = tmp_path / "m.causal"
    f.write_text(MESSY)
    f.chmod(mode)
    fmt_fails(capsys, f, f"{f}: the file is read-only; not rewritten")
    assert f.read_text() == MESSY and f.stat().st_mode & 0o777 == mode
    f.chmod(0o644)
    assert main(["fmt", "--check", str(f)]) == 1  # --check reads it all the same
    f.chmod(mode)
    assert main(["fmt", "--check", str(f)]) == 1
    capsys.readouterr()


def test_fmt_keeps_hard_links(tmp_path, capsys):
    f = tmp_path / "m.causal"
    f.write_text(MESSY)
    f.chmod(0o640)
    other = tmp_path / "elsewhere.causal"
    os.link(f, other)
    inode = f.stat().st_ino
    assert main(["fmt", str(f)]) == 0
    assert f.stat().st_ino == inode and f.stat().st_nlink == 2
    assert f.read_text() == TIDY and other.read_text() == TIDY
    assert f.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.causal", "m.causal"]


def test_fmt_keeps_the_owner_and_group(tmp_path, capsys):
    f = tmp_path / "m.causal"
    f.write_text(MESSY)
    before = f.stat()
    assert main(["fmt", str(f)]) == 0
    after = f.stat()
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert f.read_text() == TIDY


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="only root can give a file to another user")
def test_fmt_as_root_keeps_another_users_file_theirs(tmp_path, capsys):
    f = tmp_path / "m.causal"
    f.write_text(MESSY)
    os.chown(f, 4321, 4322)
    assert main(["fmt", str(f)]) == 0
    assert (f.stat().st_uid, f.stat().st_gid) == (4321, 4322) and f.read_text() == TIDY


def test_fmt_writes_in_place_where_it_could_not_keep_the_owner(tmp_path, capsys, monkeypatch):
    from causaldsl.lang import files

    f = tmp_path / "m.causal"
    f.write_text(MESSY)
    inode = f.stat().st_ino
    monkeypatch.setattr(files, "_can_own", lambda st: False)  # another user's file we may write
    assert main(["fmt", str(f)]) == 0
    assert f.stat().st_ino == inode and f.read_text() == TIDY


def test_fmt_refuses_a_file_that_does_not_parse(tmp_path, capsys):
    f = tmp_path / "bad.causal"
    f.write_text("model m { A : Bool ~ [0.5, 0.5] \n")
    assert main(["fmt", str(f)]) == 1
    assert f"{f}:" in capsys.readouterr().err
    assert f.read_text() == "model m { A : Bool ~ [0.5, 0.5] \n"


def test_comments_inside_tables_and_number_lists_stay_in_place():
    text = """type YN = {no, yes}
model m {
  S : YN ~ [0.5,  # no
    0.5]  # yes
  C : YN ~ table(S) { no: [1, 0],  # first
    # the second
    yes: [0.25,  # a
          0.75]  # b
    # before the brace
  }
}
graph g { X : YN  Y : YN  X -> Y }
observed P(X, Y) in g = [0.1, 0.2,  # X = no
  # X = yes:
  0.3, 0.4]
"""
    out = format_source(text)
    assert out == """type YN = {no, yes}

model m {
  S : YN ~ [
    0.5,  # no
    0.5   # yes
  ]
  C : YN ~ table(S) {
    no: [1, 0],  # first
    # the second
    yes: [
      0.25,  # a
      0.75   # b
    ]
    # before the brace
  }
}

graph g {
  X : YN
  Y : YN
  X -> Y
}

observed P(X, Y) in g = [
  0.1, 0.2,  # X = no
  # X = yes:
  0.3, 0.4
]
"""
    assert format_source(out) == out
    same_meaning(parse(text), parse(out))


def test_comments_keep_any_character_and_their_lines():
    # a NUL was the printer's own marker (a crash after code, lost before); a form feed or NEL
    # ends a line for str.splitlines but not for the parser, which shifted every comment after
    for odd in ["\0", "\x0c", "\x85", "\u2028", "\x1c"]:
        text = (f"# head {odd} one\nmodel m {{\n  X : Bool ~ [0.5, 0.5]  # x {odd} two\n"
                f"  # own {odd} three\n  Y : Bool ~ [0.5, 0.5]  # y\n}}\n")
        out = format_source(text)
        assert out == text, repr(odd)
        same_meaning(parse(text), parse(out))


def test_a_hash_or_quote_in_a_string_is_read_as_the_parser_reads_it():
    # a path has no escapes: "a\\" is a whole path, and the comment after it is kept
    for text in ['import "a\\"  # c "x"\n',
                 'graph g {\n  X : Bool\n}\n\nobserved P(X) in g from "d#.csv"  # c "#"\n',
                 'model m {\n  X : {a, b} ~ [0.5, 0.5]\n}\n\nquery P(X = "a#\\"#")  # c\n']:
        assert format_source(text) == text, text


def test_a_form_feed_in_a_comment_does_not_shift_error_lines(tmp_path, capsys):
    f = tmp_path / "ff.causal"
    f.write_text("model m {\n  X : Bool ~ [0.5, 0.5]  # a \x0c b\n}\nquery P(Z\n")
    assert main(["check", str(f)]) == 1
    assert f"{f}:4:10: error: unexpected end of file" in capsys.readouterr().err
    f.write_text("# a \x0c b\nmodel m {\n  X : Bool ~ [0.5, 0.5]\n}\nquery P(Y[X = true])\n")
    assert main(["check", str(f)]) == 1
    assert f"{f}:5:9: error:" in capsys.readouterr().err


QUERY_MODEL = "model m {\n  X : Bool ~ [0.5, 0.5]\n  Y : {0, 1} ~ [0.25, 0.75]\n}\n\n"


def test_queries_round_trip_exactly():
    for q in ["-(2 * P(X = true))", "-(2 * P(X = true) - P(X = false))", "1 * P(X = true)",
              "-(-P(X = true))", "0.1234567891 * P(X = true)", "1e-20 * P(X = true) - E[Y]",
              "0.1 * E[Y] - 123456789.123 * P(Y = 1 | X = true)", "-P(X = true) + 2 * E[Y]"]:
        text = f"{QUERY_MODEL}query {q}\n"
        out = format_source(text)
        assert format_source(out) == out, q
        same_meaning(parse(text), parse(out))
        assert parse_query(str(parse_query(q))) == parse_query(q), q


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=3))
def test_a_sum_prints_as_text_that_reads_back_as_it(coefficients):
    terms = tuple((c, Prob((Event("X", i % 2 == 0),))) for i, c in enumerate(coefficients))
    assert parse_query(str(Linear(terms))) == Linear(terms)


# -- generated programs -------------------------------------------------------------------------

LABELS = ["no", "yes", "lo", "mid", "hi", "a", "b"]


@st.composite
def programs(draw):
    """A valid program built from the grammar's constructs, with random layout and comments."""
    rng_ws = st.sampled_from([" ", "  ", "\n", " \n  ", "\t"])
    parts = []
    types = {}
    for i in range(draw(st.integers(1, 2))):
        labels = draw(st.lists(st.sampled_from(LABELS), min_size=2, max_size=3, unique=True))
        types[f"T{i}"] = labels
        parts.append(f"type T{i} ={draw(rng_ws)}{{{', '.join(labels)}}}")
    names = []
    items = []
    var_types: dict[str, str] = {}
    for j in range(draw(st.integers(1, 5))):
        name = f"V{j}"
        kind = draw(st.sampled_from(["inline", "table", "bool", "func"]))
        if kind in ("inline", "table"):
            tname = draw(st.sampled_from(sorted(types)))
            size = len(types[tname])
            parents = draw(st.lists(st.sampled_from(names), max_size=2, unique=True)) if names \
                and kind == "table" else []
            if not parents:
                row = [1.0 / size] * size
                items.append(f"{name} : {tname} ~ [{', '.join(map(repr, row))}]")
            else:
                ptys = [var_types[p] for p in parents]
                rows = []
                for combo in itertools.product(*(types.get(t, ["false", "true"]) for t in ptys)):
                    key = combo[0] if len(combo) == 1 else "(" + ", ".join(combo) + ")"
                    w = draw(st.lists(st.integers(1, 9), min_size=size, max_size=size))
                    rows.append(f"{key}: [{', '.join(repr(x / sum(w)) for x in w)}]")
                sep = draw(st.sampled_from([", ", ",  # r\n", ",\n  # own\n", ",\n"]))
                items.append(f"{name} : {tname} ~ table({', '.join(parents)}) {{ "
                             + sep.join(rows) + " }")
            var_types[name] = tname
        else:
            bools = [n for n in names if var_types.get(n) == "Bool"]
            if kind == "func" and bools:
                a = draw(st.sampled_from(bools))
                b = draw(st.sampled_from(bools))
                op = draw(st.sampled_from(["and", "or"]))
                items.append(f"{name} : Bool := {'not ' if draw(st.booleans()) else ''}{a} {op} {b}")
            else:
                p = draw(st.sampled_from(["0.25", "0.5", "0.9"]))
                items.append(f"{name} : Bool ~ Bernoulli({p})")
            var_types[name] = "Bool"
        names.append(name)
    body = "".join(f"{draw(rng_ws)}{it}" + (" # c" if draw(st.booleans()) else "") + "\n"
                   for it in items)
    parts.append(f"model m {{{body}}}")
    outcome = draw(st.sampled_from(names))
    others = [n for n in names if n != outcome]
    if others:
        x = draw(st.sampled_from(others))
        parts.append(f"query P({outcome} | do({x}))")
        vals = types.get(var_types[x], ["false", "true"])
        v = draw(st.sampled_from(vals))
        parts.append(f"query P({outcome}[{x} = {v}] | {x}, {outcome}[{x}={v}, {outcome}={v}])"
                     if draw(st.booleans()) and vals == types.get(var_types[outcome], ["false", "true"])
                     else f"query P({outcome}[{x}={v}] | {x})")
    parts.append(f"query P({outcome})")
    if draw(st.booleans()):
        parts.append("graph g { A -> B -> C  A <-> C }")
        parts.append("identify P(C | do(A)) in g")
    if draw(st.booleans()):  # observed data on a typed graph
        t0 = sorted(types)[0]
        k = len(types[t0])
        w = draw(st.lists(st.integers(1, 9), min_size=k * k, max_size=k * k))
        parts.append(f"graph h {{ X : {t0}  Y : {t0}  X -> Y }}")
        parts.append(f"observed P(X, Y) in h = [{', '.join(repr(x / sum(w)) for x in w)}]")
    if draw(st.booleans()):  # boxes and both forms of diagram
        t0 = sorted(types)[0]
        parts.append(f"box f : I -> {t0}")
        parts.append(f"box k : {t0} ⊗ {t0} -> {t0}")
        seq = draw(st.sampled_from([";", ">>"]))
        ten = draw(st.sampled_from(["⊗", "@"]))
        parts.append(f"diagram d1 = f {seq} copy({t0}) {seq} (id({t0}) {ten} id({t0})) {seq} k")
        parts.append(f"diagram d2() -> {t0} {{ a = f()  b = k(a, a)  return b }}")
    return "\n".join(parts) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_programs_round_trip(text):
    original = parse(text)
    out = format_source(text)
    assert format_source(out) == out
    same_meaning(original, parse(out))


def test_negative_zero_prints_as_zero_so_fmt_is_idempotent():
    """Found by the fuzzer (tools/FUZZ.md, finding 1): ``-.0`` printed as ``-0``, which reads
    back as the integer 0 and then prints ``0``: fmt's output was not canonical."""
    text = "identify P(D = -.0 | do(S)) in g\n"
    once = format_source(text)
    assert "D = 0 " in once and format_source(once) == once
