"""The REPL, driven through a pseudo terminal as a person would use it."""

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo terminal")


class Terminal:
    def __init__(self, args, env):
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen([sys.executable, "-m", "causaldsl.app.cli", "repl", *args],
                                     stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT,
                                     close_fds=True)
        os.close(slave)
        self.seen = ""

    def read_until(self, text, timeout=60.0):
        end = time.time() + timeout
        while text not in self.seen:
            left = end - time.time()
            if left <= 0:
                raise AssertionError(f"did not see {text!r}; screen so far:\n{self.seen}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096).decode(errors="replace")
                except OSError:
                    break
                self.seen += chunk
        i = self.seen.index(text) + len(text)
        out, self.seen = self.seen[:i], self.seen[i:]
        return out

    def send(self, text):
        os.write(self.master, text.encode())

    def close(self):
        self.proc.wait(timeout=30)
        os.close(self.master)


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e["CAUSAL_HISTORY"] = str(tmp_path / "history")
    e["JAX_PLATFORMS"] = "cpu"
    return e


def test_a_session(env, tmp_path):
    t = Terminal([str(ROOT / "examples" / "smoking.causal")], env)
    t.read_until("causal> ")
    t.send("P(C = yes | do(S = yes))\r")
    assert "= 0.49" in t.read_until("causal> ")
    t.send(":type T\r")
    assert "T : YesNo" in t.read_until("causal> ")
    # a multi-line block, then a query of it
    t.send("model coin {\r")
    t.read_until("...> ")
    t.send("  A : Bool ~ [0.25, 0.75]\r  B : Bool := not A\r}\r")
    t.read_until("causal> ")
    t.send("P(B = true)\r")
    assert "= 0.25" in t.read_until("causal> ")
    # an error does not end the session
    t.send("P(Nope)\r")
    assert "not a variable of model coin" in t.read_until("causal> ")
    t.send("model broken { X : Bool ~ [0.5, 0.6] }\r")
    assert "<repl>:1:" in t.read_until("causal> ")
    # tab completion of commands and names
    t.send(":mod\t\r")
    assert "smoking, coin" in t.read_until("causal> ")
    t.send(":quit\r")
    t.close()
    assert t.proc.returncode == 0
    assert "P(B = true)" in Path(env["CAUSAL_HISTORY"]).read_text()  # history across sessions


def test_graph_sessions_identify_and_answer_from_observed_data(tmp_path):
    """A graph with observed data answers in the REPL as `causal run` does: identify
    statements print their formula and value, and bare queries are identified first."""
    import io

    from causaldsl.app.repl import Session

    out, err = io.StringIO(), io.StringIO()
    s = Session(out, err)
    s.load(str(ROOT / "examples" / "frontdoor.causal"))
    s.ask("P(C = yes | do(S = yes))")
    s.draw(f"P(C | do(S = yes)) -o {tmp_path / 'answer.svg'}")
    assert err.getvalue() == ""
    text = out.getvalue()
    assert "= Σ_t P(t|s) Σ_s' P(s') P(c|s',t)    (by comb)" in text
    assert "(by id)" in text and "identified by frontdoor" in text
    assert ("P(C = yes | do(S = yes))  [frontdoor]  (identified by frontdoor, evaluated on the "
            "observed data)\n= 0.542297\n") in text  # 4013/7400, the paper's example
    assert (tmp_path / "answer.svg").exists()


def test_brackets_in_strings_and_comments_do_not_hold_the_prompt(env):
    from causaldsl.app.repl import balanced

    assert balanced('P(C = "a(")') and balanced('P(C = "a#b")') and balanced('import "x{"')
    assert balanced('P(C = "a\\"(")') and balanced("model m { # {\n}")
    assert not balanced('model m { A : {"}", b}') and not balanced('P(C | do(S = "x"), "(" = "#"')
    assert not balanced('P(C = "a#b"') and balanced('P(C = "unclosed(\n)')
    t = Terminal([str(ROOT / "examples" / "smoking.causal")], env)
    t.read_until("causal> ")
    t.send('P(C = "yes(")\r')
    assert "is not a value of C" in t.read_until("causal> ", timeout=30)
    t.send(":quit\r")
    t.close()


def test_the_repl_shows_answers_as_causal_run_does(capsys):
    import io

    from causaldsl.app.cli import main
    from causaldsl.app.repl import Session

    for name in ("smoking.causal", "frontdoor.causal", "sprinkler.causal"):
        path = str(ROOT / "examples" / name)
        assert main(["run", path]) == 0
        ran = capsys.readouterr().out
        out, err = io.StringIO(), io.StringIO()
        Session(out, err).load(path)
        assert err.getvalue() == "" and out.getvalue() == ran, name


def test_drawing_a_query_without_a_model_is_an_error(tmp_path):
    import io

    from causaldsl.app.repl import Session

    f = tmp_path / "d.causal"
    f.write_text("box f : I -> Bool\ndiagram d = f\n")
    s = Session(io.StringIO(), io.StringIO())
    s.load(str(f))
    s.draw("P(X)")
    assert "error: no model in <repl>" in s.err.getvalue()


def test_long_definitions_and_queries_are_answered_not_an_internal_error(tmp_path, within):
    """Issue 17: a 2000-term sum, a 1000-term difference of queries and a :load of a file at the
    end of a 1500-file import chain said "internal error: RecursionError"."""
    import io

    from causaldsl.app.repl import Session

    for i in range(1500):
        head = f'import "f{i + 1}.causal"\n' if i + 1 < 1500 else ""
        (tmp_path / f"f{i}.causal").write_text(f"{head}type T{i} = {{a, b}}\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    s = Session(out, err)
    with within(120):
        s.handle("model r {\n  X : {0, 2000} := " + " + ".join(["1"] * 2000) + "\n}")
        s.handle("P(X = 2000)")
        s.handle(" - ".join(["P(X = 2000)"] * 1000))
        s.handle(f":load {tmp_path / 'f0.causal'}")
        s.handle(":type T1499")
    assert err.getvalue() == ""
    text = out.getvalue()
    assert "P(X = 2000)  [r]\n= 1\n" in text
    assert "= -998\n" in text  # 1 - 999
    assert "T1499 = {a, b}" in text


def test_an_unclosed_bracket_can_be_dropped():
    """A stray bracket no longer swallows every later line: :cancel or two empty lines drop
    the input, and the next line is read afresh."""
    from causaldsl.app.repl import read_block

    def lines(*xs):
        it = iter(xs)
        return lambda prompt: next(it)

    assert read_block(lines("P(C | do(S = yes)", ":cancel")) == ""
    assert read_block(lines("model m {", "", "", "P(C)")) == ""
    assert read_block(lines("model m {", "", "  S : Bool ~ [0.5, 0.5]", "}")) == \
        "model m {\n\n  S : Bool ~ [0.5, 0.5]\n}"  # one empty line inside a block is kept
    assert read_block(lines("P(C)")) == "P(C)"


def test_identify_defaults_to_the_last_model():
    import io

    from causaldsl.app.repl import Session

    out, err = io.StringIO(), io.StringIO()
    s = Session(out, err)
    s.load(str(ROOT / "examples" / "frontdoor.causal"))
    s.define("identify P(C | do(S)) by frontdoor")
    assert err.getvalue() == "", err.getvalue()
    assert "(by frontdoor)" in out.getvalue()


def test_use_is_respected_by_every_statement():
    """After `:use a`, typed `query`, `identify` and bare queries ask `a`, though `b` was
    defined last; `in NAME` still wins, and earlier statements keep their model. The two
    models give P(Y = 1) = 0.25 and 0.75, so the answer says which was asked."""
    import io

    from causaldsl.app.repl import Session

    out, err = io.StringIO(), io.StringIO()
    s = Session(out, err)
    s.define("type B = {0, 1}\nmodel a {\n  X : B ~ [0.5, 0.5]\n"
             "  Y : B ~ table(X) { 0: [1, 0], 1: [0.5, 0.5] }\n}")
    s.define("model b {\n  X : B ~ [0.5, 0.5]\n  Y : B ~ table(X) { 0: [0.5, 0.5], 1: [0, 1] }\n}")
    s.define("query P(Y = 1)")  # before :use: the last model, b
    assert "[b]" in out.getvalue() and "0.75" in out.getvalue()
    s.handle(":use a")
    for typed in ("query P(Y = 1)", "P(Y = 1)", "query P(Y = 1 | do(X = 1))"):
        out.truncate(0), out.seek(0)
        s.handle(typed)
        assert "[a]" in out.getvalue() and "[b]" not in out.getvalue(), (typed, out.getvalue())
    assert "0.5" in out.getvalue()  # P(Y = 1 | do(X = 1)) in a
    out.truncate(0), out.seek(0)
    s.handle("query P(Y = 1) in b")
    assert "[b]" in out.getvalue() and "0.75" in out.getvalue()
    out.truncate(0), out.seek(0)
    s.handle("identify P(Y | do(X))")
    assert "[a]" in out.getvalue() and "[b]" not in out.getvalue(), out.getvalue()
    assert "0      |  1    0\n" in out.getvalue()  # a's P(Y = 1 | X = 0) = 0 (b's is 0.5)
    out.truncate(0), out.seek(0)
    s.handle("model c {\n  X : B ~ [0.5, 0.5]\n}")  # a model without Y, defined after :use
    s.handle("query P(Y = 1)")  # still a: checked against a, not refused as c's
    assert "[a]" in out.getvalue() and "0.25" in out.getvalue(), out.getvalue()
    assert err.getvalue() == "", err.getvalue()
