"""Hooks: the one way a lower layer reaches a higher one. A value object (a model, a result)
calls a hook declared here; the top-level package installs the function behind it, so no
lower module imports an engine. See docs/architecture.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Hook:
    """A named slot for a function installed by a higher layer; calling it before then is a
    programming error, never a user's."""

    def __init__(self, name: str, doc: str):
        self.name = name
        self.__doc__ = doc
        self._function: Callable[..., Any] | None = None

    def install(self, function: Callable[..., Any]) -> None:
        self._function = function

    def __call__(self, *args: Any, **kw: Any) -> Any:
        if self._function is None:
            raise RuntimeError(f"hook {self.name} has no function: import causaldsl, which "
                               "installs it")
        return self._function(*args, **kw)

    def __repr__(self) -> str:
        return f"Hook({self.name!r})"


answer = Hook("answer", "Answer a query on a model: (model, text, backend, options, values) → "
              "Distribution | float.")
answer_batch = Hook("answer_batch", "Answer a query for many settings: (model, text, values, "
                    "tables, backend, options) → Batch.")
identify = Hook("identify", "Identify a query on a model's graph view: (model, text, method) → "
                "Identification.")
response_functions = Hook("response_functions", "The canonical response-function model of a "
                          "model: (model) → CausalModel.")
evaluate_estimand = Hook("evaluate_estimand", "An identification's value on observed data: "
                         "(identification, source, **options) → Distribution | float.")
compile_estimand = Hook("compile_estimand", "An identification compiled for joint tables: "
                        "(identification, names, types) → CompiledQuery.")
picture = Hook("picture", "Notebook renderings of a model, diagram, graph or result: "
               "(obj, kind) with kind 'mimebundle', 'svg' or 'html'.")
simulate = Hook("simulate", "Draw rows from a model: (model, n, seed, do, columns) → a pandas "
                "DataFrame, one row per draw.")
read_network = Hook("read_network", "Read a network file of another format (BIF, XMLBIF, "
                    "Hugin, dagitty) as a model or graph: (path, shown) → CausalModel; errors name "
                    "``shown``.")
fit = Hook("fit", "Learn a model's unknown parts from data: (model, data, method, options) → "
           "FittedModel.")
posteriors = Hook("posteriors", "Every observed variable's posterior from one calibrated junction "
                  "tree: (model, given, do) → dict of Distribution, or of Batch for lists.")
elaborate_model = Hook("elaborate_model", "A model built in Python with equations or parameters, "
                       "checked as .causal text: (name, variables, params) → CausalModel.")
