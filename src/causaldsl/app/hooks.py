"""The functions behind the hooks of ``causaldsl.core.hooks``, installed by the package on import.
Each imports its engine when first called, so importing causaldsl loads no JAX."""

from __future__ import annotations

from typing import Any

from causaldsl.core import hooks


def _answer(*args: Any) -> Any:
    from causaldsl.backends.choose import answer

    return answer(*args)


def _answer_batch(*args: Any) -> Any:
    from causaldsl.backends.choose import answer_batch

    return answer_batch(*args)


def _identify(model: Any, text: Any, method: str | None) -> Any:
    from causaldsl.analysis.identify import identify

    return identify(model, text, method)


def _response_functions(model: Any) -> Any:
    from causaldsl.rewrite.responses import with_response_functions

    return with_response_functions(model)


def _evaluate_estimand(identification: Any, source: Any, **kw: Any) -> Any:
    import os

    if type(source).__module__.split(".")[0] == "pandas" or isinstance(source, str | os.PathLike):
        from causaldsl.estimation.plugin import evaluate_on_data

        return evaluate_on_data(identification, source, **kw)
    from causaldsl.backends.estimand_eval import evaluate_query

    return evaluate_query(identification, source, **kw)


def _compile_estimand(identification: Any, names: Any, types: Any) -> Any:
    from causaldsl.backends.estimand_eval import CompiledQuery

    return CompiledQuery(identification, names, types)


def _simulate(model: Any, n: Any, seed: Any, do: Any, columns: Any) -> Any:
    from causaldsl.backends.simulate import simulate

    return simulate(model, n, seed, do, columns)


def _picture(obj: Any, kind: str) -> Any:
    from causaldsl import draw

    return {"svg": draw.repr_svg, "html": draw.repr_html,
            "mimebundle": draw.repr_mimebundle}[kind](obj)


def _read_network(path: Any, shown: str) -> Any:
    from causaldsl.interop.formats import read_network

    return read_network(path, shown)


def _fit(model: Any, data: Any, method: str, options: Any) -> Any:
    from causaldsl.bayes.fit import fit

    return fit(model, data, method, **options)


def _posteriors(model: Any, given: Any, do: Any) -> Any:
    from causaldsl.backends.exact import engine_for
    from causaldsl.core.errors import QueryError

    engine = engine_for(model)
    lists = {len(x) for x in (*given.values(), *do.values()) if isinstance(x, list | tuple)}
    if not lists:
        return engine.posteriors(given, do)
    if len(lists) > 1 or 0 in lists:
        raise QueryError("posteriors: lists of values give one setting per position, so they "
                         f"need one length, not empty (got lengths {sorted(lists)})")
    (n,) = lists

    def columns(values: Any) -> dict[str, list[Any]]:  # a single value holds in every setting
        return {v: list(x) if isinstance(x, list | tuple) else [x] * n
                for v, x in values.items()}

    return engine.posteriors_batch(columns(given) or None, columns(do) or None)


def _elaborate_model(name: str, variables: Any, params: Any) -> Any:
    from causaldsl.lang.writer import elaborate_built

    return elaborate_built(name, variables, params)


def install() -> None:
    """Fill every hook; called once by ``causaldsl/__init__``."""
    hooks.answer.install(_answer)
    hooks.answer_batch.install(_answer_batch)
    hooks.identify.install(_identify)
    hooks.response_functions.install(_response_functions)
    hooks.evaluate_estimand.install(_evaluate_estimand)
    hooks.compile_estimand.install(_compile_estimand)
    hooks.simulate.install(_simulate)
    hooks.picture.install(_picture)
    hooks.read_network.install(_read_network)
    hooks.fit.install(_fit)
    hooks.posteriors.install(_posteriors)
    hooks.elaborate_model.install(_elaborate_model)
