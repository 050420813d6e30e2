"""The ``causal`` command: check, run and query .causal files.

Exit codes: 0 ok; 1 errors in the input (located, never a traceback); 2 usage; 3 an internal
error (a bug in causaldsl: the message says how to report it).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from causaldsl import __version__
from causaldsl.app.answer import EXIT_INPUT, EXIT_OK, answer_statement, identify_statement
from causaldsl.core.errors import CausalError, DrawError
from causaldsl.core.startup import resume_collector

EXIT_USAGE, EXIT_INTERNAL = 2, 3

EPILOG = """exit codes: 0 ok, 1 errors in the input, 2 usage, 3 internal error
examples:
  causal check examples/smoking.causal
  causal run examples/smoking.causal
  causal query examples/smoking.causal "P(C | do(S = yes))"
  causal fmt --check examples/*.causal
  causal draw examples/smoking.causal --do "S=yes" -o surgery.png
  causal estimate examples/spector.causal "E[GRADE | do(PSI = 1)] - E[GRADE | do(PSI = 0)]" \
      --data examples/spector.csv -o forest.svg --overlap overlap.svg
  causal sample examples/smoking.causal -n 1000 --do "S=yes" -o smoking.csv
  causal repl examples/smoking.causal
  causal fit examples/smoking_bayes.causal --data examples/smoking_data.csv -q "P(C | do(S = yes))"
  causal convert alarm.bif.gz -o alarm.causal
"""


class _Unused:
    """Stands for the parser of a command that was not given: its arguments are not built
    (about 3 ms of a one-shot command for the eleven others)."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        pass


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``command``, the arguments of that command only (the
    others are listed, with their help, but take no arguments)."""
    p = argparse.ArgumentParser(prog="causal", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="causaldsl: causal inference by string diagram surgery.")
    p.add_argument("--version", action="version", version=f"causal {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, **kwargs: Any) -> Any:
        made = sub.add_parser(name, **kwargs)
        return made if command in (None, name) else _Unused()

    c = add("check", help="parse and type-check files; print every error",
            epilog="example: causal check examples/smoking.causal",
            formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("files", nargs="+", metavar="FILE")
    r = add("run", help="answer every query statement of the files",
            epilog="example: causal run examples/smoking.causal --json")
    r.add_argument("files", nargs="+", metavar="FILE")
    r.add_argument("--json", action="store_true", help="print answers as JSON lines")
    _sampling_flags(r)
    q = add("query", help="answer one query against a file's model",
            epilog='example: causal query examples/smoking.causal "P(C | do(S = yes))"')
    q.add_argument("file", metavar="FILE")
    q.add_argument("query", metavar="QUERY")
    q.add_argument("--in", dest="target", metavar="MODEL", help="the model to ask (default: last)")
    q.add_argument("--json", action="store_true", help="print the answer as JSON")
    _sampling_flags(q)
    i = add("identify", help="the formula for an effect over observed variables, or "
            "why there is none", epilog='example: causal identify '
            'examples/frontdoor.causal "P(C | do(S))" --method frontdoor')
    i.add_argument("file", metavar="FILE")
    i.add_argument("query", metavar="QUERY")
    i.add_argument("--in", dest="target", metavar="MODEL", help="the model or graph (default: last)")
    i.add_argument("--method", choices=["backdoor", "adjustment", "frontdoor", "comb", "id"],
                   help="the rule to use (default: back-door, front-door, then the ID algorithm)")
    i.add_argument("--latex", action="store_true", help="print the formula as LaTeX")
    i.add_argument("--json", action="store_true", help="print the answer as JSON")
    e = add("estimate", help="estimate an effect from data, with its standard error "
            "and confidence interval",
            epilog='example: causal estimate examples/spector.causal '
            '"E[GRADE | do(PSI = 1)] - E[GRADE | do(PSI = 0)]" --data '
            'examples/spector.csv')
    e.add_argument("file", metavar="FILE")
    e.add_argument("query", metavar="QUERY")
    e.add_argument("--in", dest="target", metavar="NAME", help="the graph or model (default: last)")
    e.add_argument("--data", required=True, metavar="PATH",
                   help="the data: .csv .tsv .parquet .feather .json .jsonl .xlsx (columns are "
                   "matched to variables by name)")
    e.add_argument("--method", choices=["auto", "plugin", "gformula", "ipw", "aipw", "iv"],
                   default="auto", help="the estimator (default auto: the plug-in for finite "
                   "data, else aipw for a discrete treatment, else gformula)")
    e.add_argument("--instrument", metavar="Z", help="the instruments for --method iv "
                   "(default: every one the graph shows)")
    e.add_argument("--adjust", metavar="A,B", help="the adjustment set (default: chosen from "
                   "the graph; checked)")
    e.add_argument("--outcome", metavar="FORMULA", help='the outcome model, e.g. "C(X) * age + '
                   'I(age**2)" (default: main effects)')
    e.add_argument("--propensity", metavar="FORMULA", help="the propensity model (default: main "
                   "effects)")
    e.add_argument("--level", type=float, default=0.95, help="the confidence level (0.95)")
    e.add_argument("--bootstrap", type=int, default=0, metavar="N",
                   help="N bootstrap replicates for the se and a percentile interval (default: "
                   "the sandwich se and a normal interval)")
    e.add_argument("--seed", type=_seed, default=0, help="the bootstrap's seed (default 0)")
    e.add_argument("--missing", choices=["error", "drop", "censored"], default="error",
                   help="rows with missing values: an error (default), dropped, or (a missing "
                   "outcome, method gformula) kept as censored: standardised over, not fitted")
    e.add_argument("--json", action="store_true", help="print the estimate as JSON")
    e.add_argument("--progress", action="store_true", help="show the bootstrap's progress")
    e.add_argument("-o", "--output", metavar="OUT.svg", help="write the forest plot: the "
                   "estimate and its confidence interval, against zero")
    e.add_argument("--overlap", metavar="OUT.svg", help="write the overlap plot: the "
                   "propensity histograms of the treatment arms (methods ipw and aipw)")
    ft = add("fit", help="learn a model's unknown tables from data; answer queries "
             "with their posterior", epilog='example: causal fit '
             'examples/smoking_bayes.causal --data examples/smoking_data.csv '
             '-q "P(C = yes | do(S = yes))"')
    ft.add_argument("file", metavar="FILE")
    ft.add_argument("--data", required=True, metavar="PATH",
                    help="the data: .csv .tsv .parquet .feather .json .jsonl .xlsx (columns are "
                    "matched to observed variables by name)")
    ft.add_argument("--in", dest="target", metavar="MODEL", help="the model (default: last)")
    ft.add_argument("--method", choices=["auto", "exact", "nuts", "svi", "mle"], default="auto",
                    help="exact: the conjugate posterior; nuts, svi: sampled, hidden variables "
                    "summed out; mle: maximum likelihood and a bootstrap (default auto: exact "
                    "where every unknown table's variable and parents are columns, else nuts)")
    ft.add_argument("-q", "--query", action="append", default=[], metavar="QUERY",
                    help="a query to answer with its posterior (repeatable)")
    ft.add_argument("--level", type=float, default=0.95, help="the interval's level (0.95)")
    ft.add_argument("--draws", type=int, default=1000, help="posterior draws (1000)")
    ft.add_argument("--warmup", type=int, default=500, help="NUTS warm-up steps per chain (500)")
    ft.add_argument("--chains", type=int, default=2, help="NUTS chains (2)")
    ft.add_argument("--steps", type=int, default=2000, help="SVI / mle optimiser steps (2000)")
    ft.add_argument("--bootstrap", type=int, default=200, help="mle bootstrap replicates (200)")
    ft.add_argument("--seed", type=_seed, default=0, help="random seed (0)")
    ft.add_argument("--missing", choices=["error", "drop"], default="error",
                    help="rows with missing values: an error (default) or dropped")
    ft.add_argument("--mass", choices=["auto", "dense", "diagonal"], default="auto",
                    help="the mass matrix NUTS adapts for a model with parameters (default "
                    "auto: dense for up to 50 sampled dimensions, else diagonal)")
    ft.add_argument("--progress", action="store_true", help="show the sampler's progress")
    ft.add_argument("--json", action="store_true", help="print the fit and answers as JSON")
    d = add("draw", help="draw a model, graph or diagram (svg, png, pdf or dot)",
            epilog='examples: causal draw examples/smoking.causal -o smoking.png\n'
            '          causal draw examples/smoking.causal --do "S=yes" -o surgery.svg',
            formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("file", metavar="FILE")
    d.add_argument("name", nargs="?", metavar="NAME",
                   help="the model, graph, diagram or box to draw (default: the last model)")
    d.add_argument("-o", "--output", metavar="OUT", help="the file to write; its extension "
                   "(.svg .png .pdf .dot) picks the format; - writes DOT to standard output "
                   "(default: NAME.svg)")
    d.add_argument("--do", metavar='"S=yes"', help="draw the surgery before and after "
                   "setting variables (comma-separated NAME=VALUE)")
    d.add_argument("--cut", metavar="S", help="draw the surgery before and after cutting "
                   "variables (comma-separated) into inputs")
    d.add_argument("--graph", action="store_true",
                   help="draw the causal graph, not the string diagram (the default for graphs)")
    d.add_argument("--latent", action="store_true",
                   help="in a causal graph, draw latent variables instead of projecting them")
    d.add_argument("--lr", action="store_true", help="lay out left to right, not top to bottom")
    sm = add("sample", help="draw rows from a model: a CSV, TSV, Parquet or Feather "
             "file of synthetic data", epilog="examples: causal sample "
             "examples/smoking.causal -n 1000 -o smoking.csv\n"
             '          causal sample examples/firing_squad.causal -n 5 --columns '
             '"A, D, D[A = false]" -o -',
             formatter_class=argparse.RawDescriptionHelpFormatter)
    sm.add_argument("file", metavar="FILE")
    sm.add_argument("-n", dest="rows", type=_rows, required=True, metavar="N",
                    help="the number of rows")
    sm.add_argument("-o", "--output", metavar="OUT", required=True,
                    help="the file to write, .csv .tsv .parquet .pq .feather (by extension); - "
                    "writes CSV to standard output")
    sm.add_argument("--do", action="append", metavar='"X=x"', help="draw after surgery: set "
                    "variables (NAME=VALUE, comma-separated; may be repeated)")
    sm.add_argument("--columns", metavar='"A,B,Y[X=1]"', help="the columns: observed variables "
                    "and potential outcomes (default: every observed variable)")
    sm.add_argument("--in", dest="target", metavar="MODEL", help="the model (default: last)")
    sm.add_argument("--seed", type=_seed, default=0, help="random seed, 0 to 2**32 - 1 "
                    "(default 0); the same seed draws the same rows")
    po = add("posteriors", help="every observed variable's posterior under evidence "
             "and/or surgery, exactly, from one junction tree",
             epilog='example: causal posteriors examples/smoking.causal --given '
             '"C = yes" --do "T = no"')
    po.add_argument("file", metavar="FILE")
    po.add_argument("--given", action="append", metavar='"Y=y"', help="the evidence "
                    "(NAME=VALUE, comma-separated; may be repeated)")
    po.add_argument("--do", action="append", metavar='"X=x"', help="set variables by surgery "
                    "(NAME=VALUE, comma-separated; may be repeated)")
    po.add_argument("--in", dest="target", metavar="MODEL", help="the model (default: last)")
    po.add_argument("--json", action="store_true", help="print one JSON object: each "
                    "variable's distribution")
    rp = add("repl", help="an interactive session (history, tab completion)",
             epilog="example: causal repl examples/smoking.causal")
    rp.add_argument("file", nargs="?", metavar="FILE", help="a .causal file to load first")
    cv = add("convert", help="convert a network or graph file: .causal, .bif, "
             ".bif.gz, .xmlbif, .bifxml, .xml, .net, .dagitty (by extension)",
             epilog="examples: causal convert alarm.bif.gz -o alarm.causal\n"
             "          causal convert g.dagitty -o g.causal\n"
             "          causal convert examples/smoking.causal -o - ",
             formatter_class=argparse.RawDescriptionHelpFormatter)
    cv.add_argument("file", metavar="IN", help="a .causal, BIF, XMLBIF, Hugin or dagitty file")
    cv.add_argument("-o", "--output", metavar="OUT", required=True,
                    help="the file to write, .causal, .bif, .bif.gz, .xmlbif, .bifxml, .xml, .net "
                    "or .dagitty; - "
                    "writes .causal text to standard output")
    cv.add_argument("--in", dest="target", metavar="MODEL",
                    help="the model to convert (default: the file's only model)")
    f = add("fmt", help="rewrite files in the canonical form (comments kept)",
            epilog="example: causal fmt --check examples/*.causal")
    f.add_argument("files", nargs="+", metavar="FILE")
    f.add_argument("--check", action="store_true",
                   help="change nothing; exit 1 if a file is not in canonical form")
    return p


def _sampling_flags(p: Any) -> None:
    p.add_argument("--backend", choices=["exact", "sample"],
                   help="force a route (default: exact for finite models, else sampling)")
    p.add_argument("--method", choices=["closed", "forward", "importance", "nuts"],
                   help="the sampling method (default: a closed form, else chosen per query)")
    p.add_argument("--seed", type=_seed, help="random seed for sampling, 0 to 2**32 - 1 "
                   "(default 0)")
    p.add_argument("--samples", type=int, help="samples (NUTS: draws per chain)")
    p.add_argument("--progress", action="store_true", default=None,
                   help="show a progress bar on standard error while it samples")
    p.add_argument("--assume", choices=["response-functions"],
                   help="answer on the model's canonical response-function model, so a "
                        "counterfactual on tables is determined (docs/counterfactuals.md)")


def _seed(text: str) -> int:
    """A --seed: an integer that JAX takes as a seed (argparse says so where it is not)."""
    from causaldsl.core.checks import check_seed

    try:
        return check_seed(int(text))
    except (ValueError, CausalError) as e:
        raise argparse.ArgumentTypeError(str(e) if isinstance(e, CausalError) else
                                         f"the seed must be an integer, not {text!r}") from None


def _rows(text: str) -> int:
    """A -n: a count of rows (argparse says so where it is not)."""
    from causaldsl.core.checks import check_count

    try:
        return check_count("the number of rows", int(text), 0)
    except (ValueError, CausalError) as e:
        raise argparse.ArgumentTypeError(str(e) if isinstance(e, CausalError) else
                                         f"the number of rows must be an integer, not "
                                         f"{text!r}") from None


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The query options the command line gave: backend, method, seed, samples, progress."""
    out = {k: getattr(args, k) for k in ("backend", "method", "seed", "samples", "progress")
           if getattr(args, k, None) is not None}
    if getattr(args, "assume", None):
        out["assume"] = args.assume.replace("-", "_")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``causal``."""
    given = sys.argv[1:] if argv is None else list(argv)
    first = next((a for a in given if not a.startswith("-")), None)  # the command, if any
    parser = _parser(first if first in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help/--version exit 0, usage errors exit 2
        resume_collector()
        return int(e.code or 0)
    if args.command not in _LOAD_FIRST:
        resume_collector()  # held while the modules loaded (core/startup.py)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return {"check": _check, "run": _run, "query": _query, "fmt": _fmt,
                "repl": _repl, "identify": _identify_cmd, "draw": _draw,
                "estimate": _estimate_cmd, "convert": _convert, "sample": _sample_cmd,
                "fit": _fit_cmd, "posteriors": _posteriors_cmd}[args.command](args)
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    except BrokenPipeError:  # the reader went away (`causal ... | head`): stop quietly
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception:  # a bug, not bad input
        print("causal: internal error (a bug in causaldsl, not in your input). Please report it "
              "with the file and command that caused it, and this trace:", file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL


#: the commands of the command line
COMMANDS = ("check", "run", "query", "identify", "estimate", "fit", "draw", "sample",
            "posteriors", "repl", "convert", "fmt")

#: the commands whose first work is to load their files (``_load``), with the collector held
_LOAD_FIRST = ("check", "run", "query", "identify")


def _load(path: str) -> Any:
    from causaldsl.lang.files import why
    from causaldsl.lang.loader import load

    try:
        return load(path)
    except FileNotFoundError:
        raise CausalError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CausalError(f"{path}: is a folder, not a .causal file") from None
    except OSError as e:  # a FIFO, a device, a loop of symbolic links, no permission
        raise CausalError(f"{path}: cannot read: {why(e)}") from None
    finally:
        resume_collector()  # held through the modules' loading and the first file's


def _load_target(args: argparse.Namespace) -> tuple[Any, str]:
    """The file's program and the model to ask: ``--in``, else the last one defined."""
    prog = _load(args.file)
    return prog, prog.target(args.target)


def _programs(files: Sequence[str], status: list[int]) -> Any:
    """Each file that loads, with its program; errors are printed and set ``status[0]``."""
    for f in files:
        try:
            yield f, _load(f)
        except CausalError as e:
            print(e, file=sys.stderr)
            status[0] = EXIT_INPUT


def _check(args: argparse.Namespace) -> int:
    status = [EXIT_OK]
    for f, prog in _programs(args.files, status):
        print(f"{f}: ok ({_summary(prog)})")
    return status[0]


def _identify_cmd(args: argparse.Namespace) -> int:
    from types import SimpleNamespace

    from causaldsl.syntax.query import Prob, parse_query

    try:
        prog, target = _load_target(args)
        q = parse_query(args.query)
        if not isinstance(q, Prob):
            raise CausalError(f"identify takes one P(...) query, not {q}")
    except CausalError as e:
        print(e, file=sys.stderr)
        return EXIT_INPUT
    st = SimpleNamespace(prob=q, text=args.query, method=args.method)
    return identify_statement(prog, target, st, f"{args.file}: ", args.json, latex=args.latex)


def _estimate_cmd(args: argparse.Namespace) -> int:
    import json

    from causaldsl.estimation.estimate import estimate

    try:
        if args.output or args.overlap:  # a bad file name is said before any work
            from causaldsl.draw.cli import check_chart_path

            for flag, path in (("-o", args.output), ("--overlap", args.overlap)):
                if path:
                    check_chart_path(path, flag)
            if args.overlap and args.method == "gformula":
                raise DrawError("--overlap: method gformula fits no propensity model, so there "
                                "is no overlap to draw; use method ipw or aipw")
        prog, target = _load_target(args)
        adjust = None if args.adjust is None else \
            [a.strip() for a in args.adjust.split(",") if a.strip()]
        instrument = None if args.instrument is None else \
            [a.strip() for a in args.instrument.split(",") if a.strip()]
        result = estimate(prog.models[target], args.query, args.data, method=args.method,
                          adjust=adjust, outcome=args.outcome, propensity=args.propensity,
                          instrument=instrument,
                          level=args.level, bootstrap=args.bootstrap, seed=args.seed,
                          missing=args.missing, trusted=False,
                          progress=bool(args.progress))
        written = []
        if args.output or args.overlap:
            from causaldsl.draw.cli import estimate_pictures

            written = estimate_pictures(result, args.output, args.overlap)
    except CausalError as e:
        print(f"{args.file}: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    if args.json:
        print(json.dumps({"model": target, **result.to_dict()}))
    else:
        print(f"{result}\n  [{target}]")
    for path in written:  # with --json, standard output stays one JSON line
        print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK


def _draw(args: argparse.Namespace) -> int:
    from causaldsl.draw.cli import draw_command

    try:
        prog = _load(args.file)
        out = draw_command(prog, args.file, args.name, args.output, args.do, args.cut,
                           graph=args.graph, latent=args.latent, lr=args.lr)
    except CausalError as e:
        print(e, file=sys.stderr)
        return EXIT_INPUT
    if out is not None:
        print(f"wrote {out}")
    return EXIT_OK


def _convert(args: argparse.Namespace) -> int:
    from causaldsl.interop.formats import pick, write
    from causaldsl.lang.files import why
    from causaldsl.lang.writer import model_source

    try:
        model = pick(_load(args.file), args.target, args.file, "--in MODEL")
        if args.output == "-":
            sys.stdout.write(model_source(model))
            return EXIT_OK
        write(model, args.output)
    except CausalError as e:
        print(e, file=sys.stderr)
        return EXIT_INPUT
    except OSError as e:
        print(f"{args.output}: cannot write: {why(e)}", file=sys.stderr)
        return EXIT_INPUT
    print(f"wrote {args.output}")
    return EXIT_OK


def _settings(texts: Sequence[str] | None, flag: str) -> dict[str, Any]:
    """The NAME=VALUE settings of a repeatable flag, each variable set once."""
    from causaldsl.syntax.query import parse_settings

    out: dict[str, Any] = {}
    for text in texts or ():
        for name, value in parse_settings(text, flag).items():
            if name in out:
                raise CausalError(f"{flag}: {name} is set twice")
            out[name] = value
    return out


def _posteriors_cmd(args: argparse.Namespace) -> int:
    import json

    try:
        prog, target = _load_target(args)
    except CausalError as e:
        print(e, file=sys.stderr)
        return EXIT_INPUT
    try:
        given, do = _settings(args.given, "--given"), _settings(args.do, "--do")
        both = set(given) & set(do)
        if both:
            raise CausalError(f"{', '.join(sorted(both))} is both given and set by --do")
        post = prog.models[target].posteriors(given, do)
    except CausalError as e:
        print(f"{args.file}: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    if args.json:
        print(json.dumps({"model": target, "given": given, "do": do, "posteriors": {
            v: {str(k): p for k, p in d.to_dict().items()} for v, d in post.items()}}))
    else:
        print("\n\n".join(str(d) for d in post.values()))
    return EXIT_OK


def _sample_cmd(args: argparse.Namespace) -> int:
    from causaldsl.estimation.data import check_writable, write_table
    from causaldsl.lang.files import why

    try:
        check_writable(args.output)  # a bad file name is said before any work
        prog, target = _load_target(args)
    except CausalError as e:
        print(e, file=sys.stderr)
        return EXIT_INPUT
    try:
        do = _settings(args.do, "--do")
        frame = prog.models[target].sample(args.rows, seed=args.seed, do=do or None,
                                           columns=args.columns)
        write_table(frame, args.output)
    except CausalError as e:
        print(f"{args.file}: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as e:
        print(f"{args.output}: cannot write: {why(e)}", file=sys.stderr)
        return EXIT_INPUT
    if args.output != "-":
        print(f"wrote {args.output}: {len(frame):,} rows of {', '.join(map(str, frame.columns))}"
              f" [{target}]")
    return EXIT_OK


def _repl(args: argparse.Namespace) -> int:
    from causaldsl.app.repl import run

    return run(args.file)


def _fmt(args: argparse.Namespace) -> int:
    from pathlib import Path

    from causaldsl.lang.files import read_regular, rewrite, why
    from causaldsl.lang.fmt import format_source
    from causaldsl.lang.loader import is_network
    from causaldsl.lang.parse import decode_source

    status = EXIT_OK
    for f in args.files:
        path = Path(f)
        if is_network(f):
            from causaldsl.interop.formats import TITLES, format_of

            print(f"{f}: {TITLES[format_of(f)]}; causal fmt formats .causal files (causal "
                  f"convert {f} -o FILE.causal writes one)", file=sys.stderr)
            status = EXIT_INPUT
            continue
        try:
            before = read_regular(path)  # a regular file only: a FIFO or a device is refused
            text = decode_source(before, f)  # not UTF-8: an error at its line and column
            new = format_source(text, f)
        except FileNotFoundError:
            print(f"{f}: no such file", file=sys.stderr)
            status = EXIT_INPUT
            continue
        except OSError as e:
            print(f"{f}: cannot read: {why(e)}", file=sys.stderr)
            status = EXIT_INPUT
            continue
        except CausalError as e:
            print(e, file=sys.stderr)
            status = EXIT_INPUT
            continue
        if new == text:
            continue
        if args.check:
            print(f"{f}: not in canonical form (causal fmt {f} rewrites it)")
            status = EXIT_INPUT
            continue
        try:
            # keeps a symbolic link, the mode, the owner and hard links; refuses a read-only
            # file and one that changed since it was read
            rewrite(path, before, new, f)
        except CausalError as e:
            print(e, file=sys.stderr)
            status = EXIT_INPUT
            continue
        except OSError as e:
            print(f"{f}: cannot write: {why(e)}", file=sys.stderr)
            status = EXIT_INPUT
            continue
        print(f"{f}: formatted")
    return status


def _summary(prog: Any) -> str:
    from causaldsl.lang.ast import EstimateStmt, FitStmt, IdentifyStmt

    kinds = [type(st) for st, _ in prog.statements]
    parts = []
    for one, many, n in (("model", "models", len(prog.models) - len(prog.graphs)),
                         ("graph", "graphs", len(prog.graphs)),
                         ("diagram", "diagrams", len(prog.diagrams)),
                         ("query", "queries", len(kinds) - kinds.count(IdentifyStmt)
                          - kinds.count(EstimateStmt) - kinds.count(FitStmt)),
                         ("identification", "identifications", kinds.count(IdentifyStmt)),
                         ("estimate", "estimates", kinds.count(EstimateStmt)),
                         ("fit", "fits", kinds.count(FitStmt))):
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts) or "empty"


def _run(args: argparse.Namespace) -> int:
    status = [EXIT_OK]
    for f, prog in _programs(args.files, status):
        fits: dict[str, Any] = {}  # models learned by the file's fit statements so far
        for st, target in prog.statements:
            status[0] = max(status[0], answer_statement(prog, target, st, f, args.json,
                                                        options=_options(args), fits=fits))
    return status[0]


def _fit_cmd(args: argparse.Namespace) -> int:
    import json

    from causaldsl.syntax.query import parse_query

    try:
        prog, target = _load_target(args)
        queries = [parse_query(q) for q in args.query]
        fitted = prog.models[target].fit(
            args.data, args.method, draws=args.draws, warmup=args.warmup, chains=args.chains,
            steps=args.steps, bootstrap=args.bootstrap, seed=args.seed, missing=args.missing,
            progress=args.progress, mass=args.mass)
        answers = [fitted.query(q, level=args.level) for q in queries]
    except CausalError as e:
        print(f"{args.file}: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    if args.json:
        print(json.dumps({"fit": target, "data": args.data, **fitted.to_dict(),
                          "answers": [a.to_dict() for a in answers]}))
        return EXIT_OK
    print(f"{fitted}\n")
    for text, a in zip(args.query, answers, strict=True):
        print(f"{text}  [{target}]\n{a.body()}\n")
    return EXIT_OK


def _query(args: argparse.Namespace) -> int:
    import contextlib

    from causaldsl.lang.ast import FitStmt
    from causaldsl.syntax.query import parse_query

    try:
        prog, target = _load_target(args)
        q = parse_query(args.query)
    except CausalError as e:
        print(e, file=sys.stderr)
        return EXIT_INPUT
    fits: dict[str, Any] = {}
    for st, t in prog.statements:  # the file's fit of the model, before the question
        if t == target and isinstance(st, FitStmt):
            with contextlib.redirect_stdout(sys.stderr):
                if answer_statement(prog, t, st, args.file, False, fits=fits) != EXIT_OK:
                    return EXIT_INPUT
    return answer_statement(prog, target, q, args.file, args.json, text=args.query,
                            options=_options(args), fits=fits)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
