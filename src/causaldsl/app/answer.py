"""Answering a program's statements, shared by ``causal run``, ``causal query``, the REPL and
``:draw``: a model answers by its mechanisms; a graph, by identification evaluated on its
observed data. And how answers are shown, as text or JSON."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from causaldsl.core.errors import CausalError

if TYPE_CHECKING:
    from causaldsl.lang.elaborate import Program

EXIT_OK, EXIT_INPUT = 0, 1


#: The assumptions a query may state (``assuming NAME``, ``--assume``), and what each says.
ASSUMPTIONS = {"response_functions": "assuming response functions: each row of each table "
                                     "answers independently across worlds"}


def answer(program: Program, query: Any, target: str | None = None,
           fits: dict[str, Any] | None = None, assume: str | None = None,
           **options: Any) -> tuple[Any, str | None]:
    """A query's answer on ``target`` (default: the last model), and how it was found: a
    model answers by its mechanisms (method None), or, once a ``fit`` statement has learned
    it (``fits``), by its posterior; a graph, by identification evaluated on its last
    ``observed`` distribution (the rule's name). ``assume="response_functions"``: the model's
    canonical response-function model answers (a counterfactual on tables is then
    determined; the method says the assumption)."""
    from causaldsl.lang.elaborate import no_data_error
    from causaldsl.syntax.query import Prob, parse_query

    target = program.target(target or None)
    if assume is not None:
        if assume not in ASSUMPTIONS:
            raise CausalError(f"unknown assumption {assume!r}; the assumptions are "
                              f"{', '.join(ASSUMPTIONS)}")
        if target in program.graphs or (fits is not None and target in fits):
            raise CausalError(f"assuming {assume} is an assumption about a model's tables; "
                              f"{target} is " + ("a graph, which has no tables"
                                                 if target in program.graphs else
                                                 "a fitted model, answered by its posterior"))
        model = program.models[target].with_response_functions()
        return model.query(query, **options), ASSUMPTIONS[assume]
    if fits is not None and target in fits:
        return fits[target].query(query), None
    if target not in program.graphs:
        return program.models[target].query(query, **options), None
    if not program.observations.get(target):
        raise no_data_error(target)
    q = parse_query(query) if isinstance(query, str) else query
    if not isinstance(q, Prob):
        return _number_on_observations(program, target, q)
    from causaldsl.analysis.identify import identify  # a graph only: a model answers itself

    ident = identify(program.models[target], q)
    return on_observations(program, target, ident), ident.method


def _number_on_observations(program: Program, target: str, q: Any) -> tuple[float, str]:
    """An expectation, or a linear combination of probabilities and expectations, each term
    identified and evaluated on the observed distribution: a number."""
    from causaldsl.analysis.identify import identify
    from causaldsl.core.types import FiniteType
    from causaldsl.model.checks import not_numeric_error
    from causaldsl.model.distribution import Distribution
    from causaldsl.syntax.query import Expect, terms_of

    model = program.models[target]
    total, methods = 0.0, []
    for coef, term in terms_of(q):
        if isinstance(term, Expect):
            (y,) = term.prob.outcomes
            ident = identify(model, term.distribution)
            d = on_observations(program, target, ident)
            t = model.variables[y.var].type
            nums = t.numeric() if isinstance(t, FiniteType) else None
            if nums is None:
                raise not_numeric_error(y.term, t)
            if not isinstance(d, Distribution) or d.given:
                raise CausalError(f"{term}: an expectation from observed data needs every "
                                  "treatment and evidence value named")
            value = float(sum(v * pr for v, pr in zip(nums, d.probs, strict=True)))
        else:
            ident = identify(model, term)
            d = on_observations(program, target, ident)
            if isinstance(d, Distribution):
                raise CausalError(f"{term} is a table; in a sum of queries name every value "
                                  f"({', '.join(d.axes)})")
            value = float(d)
        total += coef * value
        methods.append(ident.method)
    return total, ", ".join(dict.fromkeys(methods))


def on_observations(program: Program, target: str, ident: Any) -> Any:
    """An identified query evaluated on the last ``observed`` distribution of ``target``."""
    obs = program.observations[target][-1]
    model = program.models[target]
    q = ident.query
    need = {n for t in ident.bound.terms() for n in (*t.vars, *t.given)} | {
        e.var for e in (*q.outcomes, *q.interventions, *q.evidence)}
    missing = [v for v in model.observed if v in need and v not in obs.variables]
    if missing:
        raise CausalError(
            f"{q} = {ident.formula()} needs {', '.join(missing)}, which the observed data "
            f"P({', '.join(obs.variables)}) in {target} does not include; observe "
            f"P({', '.join(v for v in model.observed if v in need | set(obs.variables))})")
    types = {v: model.variables[v].type for v in obs.variables}
    return ident.evaluate(obs.probs, names=obs.variables, types=types)


def answer_statement(prog: Any, target: str, st: Any, file: str, as_json: bool, text: str = "",
                     options: dict[str, Any] | None = None,
                     fits: dict[str, Any] | None = None) -> int:
    """Answer a query, identify, estimate or fit statement (or a parsed query) and print it as
    text or a JSON line; errors go to stderr, located. A fit's result is kept in ``fits``
    for the queries after it. The exit status: EXIT_OK or EXIT_INPUT."""
    from causaldsl.lang import ast as A

    where = f"{file}:{st.span.line}:{st.span.column}: " if hasattr(st, "span") else f"{file}: "
    if isinstance(st, A.FitStmt):
        return fit_statement(prog, target, st, where, as_json, {} if fits is None else fits)
    if isinstance(st, A.EstimateStmt):
        return estimate_statement(prog, target, st, where, as_json)
    if isinstance(st, A.IdentifyStmt):
        return identify_statement(prog, target, st, where, as_json)
    q = st.query if isinstance(st, A.QueryStmt) else st
    label = st.text if isinstance(st, A.QueryStmt) else text
    options = dict(options or {})
    if isinstance(st, A.QueryStmt) and st.assume:
        options["assume"] = st.assume
    try:
        result, method = answer(prog, q, target, fits, **options)
    except CausalError as e:
        print(f"{where}error: {e}", file=sys.stderr)
        return EXIT_INPUT
    if as_json:
        out = jsonable(label, target, result)
        if method in ASSUMPTIONS.values():
            out["assumption"] = options["assume"]
        elif method:
            out["identified_by"] = method
        print(_json(out))
    else:
        print(show(label, target, result, method))
    return EXIT_OK


def fit_statement(prog: Any, target: str, st: Any, where: str, as_json: bool,
                  fits: dict[str, Any]) -> int:
    """Fit the statement's model to its data file, keep the fitted model in ``fits`` and
    print how the fit went (text, or a JSON line)."""
    options = {o.name: (o.value if o.name in ("missing", "mass") else int(o.value))
               for o in st.options}
    try:
        fitted = prog.models[target].fit(st.data, st.method or "auto", **options)
    except CausalError as e:
        print(f"{where}error: {e}", file=sys.stderr)
        return EXIT_INPUT
    fits[target] = fitted
    if as_json:
        print(_json({"fit": target, "data": st.data, **fitted.to_dict()}))
    else:
        print(f"{fitted}\n")
    return EXIT_OK


def estimate_statement(prog: Any, target: str, st: Any, where: str, as_json: bool) -> int:
    """Estimate an effect from the statement's data file and print it (text or a JSON line)."""
    from causaldsl.estimation.estimate import estimate

    options: dict[str, Any] = {}
    for o in st.options:
        v = o.value
        options[o.name] = int(v) if o.name in ("bootstrap", "seed") else \
            list(v) if o.name in ("adjust", "instrument") else v
    try:
        result = estimate(prog.models[target], st.query, st.data, method=st.method or "auto",
                          trusted=False, **options)
    except CausalError as e:
        print(f"{where}error: {e}", file=sys.stderr)
        return EXIT_INPUT
    if as_json:
        print(_json({"estimate": st.text, "model": target, **result.to_dict()}))
    else:
        body = str(result).split("\n", 1)[1]
        print(f"estimate {st.text}  [{target}]\n{body}\n")
    return EXIT_OK


def identify_statement(prog: Any, target: str, st: Any, where: str, as_json: bool,
                       latex: bool = False) -> int:
    """Print an identify statement's formula (its value where the data or model give one), or
    why the query is not identifiable."""
    from causaldsl.analysis.identify import identify
    from causaldsl.core.errors import NotIdentifiable

    model = prog.models[target]
    method = st.method
    try:
        ident = identify(model, st.prob, method)
    except NotIdentifiable as e:
        if as_json:
            print(_json({"identify": st.text, "model": target, "identifiable": False,
                              "why": str(e)}))
        else:
            print(f"identify {st.text}  [{target}]\nnot identifiable: {e}\n")
        return EXIT_OK
    except CausalError as e:
        print(f"{where}error: {e}", file=sys.stderr)
        return EXIT_INPUT
    value = None
    note = None if target in prog.observations or target in prog.graphs else \
        _no_exact_value(model)
    try:
        if target in prog.observations:
            value = on_observations(prog, target, ident)
        elif target not in prog.graphs and note is None:
            value = ident.evaluate(model)
    except CausalError as e:
        print(f"{where}error: {e}", file=sys.stderr)
        return EXIT_INPUT
    zero = getattr(ident.bound, "why", None)  # 0 in every model: an inconsistent event
    if as_json:
        out: dict[str, Any] = {"identify": st.text, "model": target, "identifiable": True,
                               "method": ident.method, "estimand": ident.formula(),
                               "latex": ident.latex()}
        if zero:
            out["why"] = zero
        if value is not None:
            out["answer"] = jsonable(st.text, target, value)
        if note is not None:
            out["note"] = note
        print(_json(out))
    else:
        formula = ident.formula(latex)
        body = f"identify {st.text}  [{target}]\n= {formula}    (by {ident.method})\n"
        if zero:
            body += f"{zero}\n"
        if value is not None:
            body += show("on the observed distribution:", target, value, None)
        if note is not None:
            body += f"{note}\n"
        print(body)
    return EXIT_OK


def _no_exact_value(model: Any) -> str | None:
    """Why the identified formula is not evaluated on ``model`` (None when it is): the formula
    depends only on the graph, but its exact value needs every variable finite. Evaluating by
    sampling would load JAX, which ``identify`` does not."""
    from causaldsl.core.types import FiniteType

    cont = [n for n, v in model.variables.items() if not isinstance(v.type, FiniteType)]
    if not cont:
        return None
    shown = ", ".join(cont[:-1]) + f" and {cont[-1]}" if len(cont) > 1 else cont[0]
    return (f"no value: {shown} {'are' if len(cont) > 1 else 'is'} continuous in model "
            f"{model.name}, and the formula is evaluated exactly only over finite types (a sum "
            "over a continuous variable reads as an integral, P as a density); `causal query` "
            "answers the query on the model by sampling")


def _is_posterior(result: Any) -> bool:
    """Whether an answer is a fitted model's posterior, without importing the Bayesian layer
    for a command that fitted nothing (no posterior can exist before it is imported)."""
    posterior = sys.modules.get("causaldsl.bayes.posterior")
    return posterior is not None and isinstance(result, posterior.Posterior)


def show(label: str, target: str, result: Any, method: str | None = None) -> str:
    """An answer as ``causal run`` prints it."""
    from causaldsl.model.distribution import Distribution, Expectations

    if _is_posterior(result):
        return f"{label}  [{target}]\n{result.body()}\n"
    how = f"  ({method})" if method in ASSUMPTIONS.values() else \
        f"  (identified by {method}, evaluated on the observed data)" if method else ""
    if isinstance(result, Distribution | Expectations):
        how += f"  ({result.route})" if hasattr(result, "route") else ""
        body = str(result).split("\n", 1)[1]
        return f"{label}  [{target}]{how}\n{body}\n"
    shown = str(result) if hasattr(result, "se") else f"{result:.6g}"  # an Estimate says how
    return f"{label}  [{target}]{how}\n= {shown}\n"


def jsonable(label: str, target: str, result: Any) -> dict[str, Any]:
    """An answer as the JSON object ``--json`` prints."""
    from causaldsl.core.types import show_label
    from causaldsl.model.distribution import Distribution, Expectations

    out: dict[str, Any] = {"query": label, "model": target}
    if _is_posterior(result):
        return {**out, **{k: v for k, v in result.to_dict().items() if k != "query"}}
    if isinstance(result, Distribution | Expectations):
        key = "p" if isinstance(result, Distribution) else "E"
        out["axes"] = list(result.axes if isinstance(result, Distribution) else result.given)
        out["table"] = [{"values": [show_label(x) for x in (k if isinstance(k, tuple) else (k,))],
                         key: p} for k, p in result.items()]
        if hasattr(result, "se"):  # per cell, in the order of the table
            import numpy as np

            for row, s in zip(out["table"], np.asarray(result.se).reshape(-1).tolist(),
                              strict=True):
                row["se"] = s
    else:
        out["value"] = float(result)
    if hasattr(result, "se") and "table" not in out:
        out["se"] = result.se
    if hasattr(result, "route"):  # answers by sampling or closed form say how good and how
        out["route"] = result.route
    if hasattr(result, "details"):
        out.update({k: v for k, v in result.details.items() if k != "note"})
    return out


def _json(value: Any) -> str:
    """``value`` as one line of JSON (the json module loads only for --json: 1 ms of a command)."""
    import json

    return json.dumps(value)
