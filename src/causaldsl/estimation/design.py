"""Design matrices for nuisance models, from Wilkinson formulas (``C(x)``, ``I(x**2)``,
``a:b``) parsed by formulaic. By default, main effects: a finite variable as a categorical (its
first label the reference), a numeric one as itself.

formulaic evaluates each factor as Python. A formula from Python code is the user's own code;
one from a ``.causal`` file or the command line is checked first (:func:`check_safe`): names of
the model's columns, numbers, arithmetic and a short list of functions, nothing else, so
text never runs code."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from causaldsl.core.errors import DataError, QueryError

if TYPE_CHECKING:
    import pandas as pd

#: Functions a formula from text may call: formulaic's transforms and numpy's elementwise maths.
SAFE_CALLS = frozenset({"C", "I", "log", "log1p", "exp", "sqrt", "abs", "center", "scale",
                        "poly", "bs", "np.log", "np.log1p", "np.exp", "np.sqrt", "np.abs",
                        "np.square", "np.power"})
_SAFE_NODES = (ast.Expression, ast.Name, ast.Load, ast.Constant, ast.BinOp, ast.UnaryOp,
               ast.Call, ast.Attribute, ast.keyword, ast.Add, ast.Sub, ast.Mult, ast.Div,
               ast.Pow, ast.USub, ast.UAdd, ast.Mod, ast.FloorDiv)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def quoted(name: str) -> str:
    """A column name as a formula writes it (backquoted where it is not an identifier)."""
    return name if _IDENT.match(name) else "`" + name.replace("`", "\\`") + "`"


def main_effects(names: Sequence[str]) -> str:
    """The right-hand side ``1 + a + b`` (categoricals come typed from the Dataset)."""
    return " + ".join(["1", *map(quoted, names)])


def right_side(formula: str, outcome: Sequence[str]) -> str:
    """A formula's right-hand side: ``Y ~ rhs`` or ``rhs``; a left side other than the
    outcome's variable is an error (the outcome is the query's)."""
    if "~" not in formula:
        return formula
    lhs, _, rhs = formula.partition("~")
    lhs = lhs.strip().strip("`")
    if lhs and lhs not in outcome:
        raise QueryError(f"the outcome model {formula!r} names {lhs} on its left; the outcome "
                         f"is the query's ({', '.join(outcome)}): write only the right side")
    return rhs


def check_safe(formula: str, columns: Sequence[str], what: str) -> None:
    """Refuse a formula from text whose factors could run code."""
    from formulaic import Formula

    try:
        parsed = Formula(formula)
    except Exception as e:
        raise QueryError(f"the {what} formula {formula!r} does not parse: {e}") from None
    for term in _terms(parsed):
        for factor in term.factors:
            expr = str(factor.expr)
            try:
                tree = ast.parse(expr, mode="eval")
            except SyntaxError:
                raise QueryError(f"the {what} formula's factor {expr!r} is not an "
                                 "expression") from None
            for node in ast.walk(tree):
                if not isinstance(node, _SAFE_NODES):
                    raise QueryError(f"the {what} formula's factor {expr!r} uses "
                                     f"{type(node).__name__}, which a formula from text may "
                                     "not (names, numbers, arithmetic and "
                                     f"{', '.join(sorted(SAFE_CALLS))})")
                if isinstance(node, ast.Call) and ast.unparse(node.func) not in SAFE_CALLS:
                    raise QueryError(f"the {what} formula calls {ast.unparse(node.func)}, which a "
                                     "formula from text may not; the functions allowed are "
                                     f"{', '.join(sorted(SAFE_CALLS))}")
                if isinstance(node, ast.Attribute) and ast.unparse(node) not in SAFE_CALLS:
                    raise QueryError(f"the {what} formula reads {ast.unparse(node)}, which a "
                                     "formula from text may not")
                if isinstance(node, ast.Name) and node.id not in columns and \
                        node.id not in SAFE_CALLS and node.id != "np":
                    raise QueryError(f"the {what} formula names {node.id}, which is not among "
                                     f"the columns it may use ({', '.join(columns)})")


#: formulaic's transforms whose state is learnt from the data they are built on (a mean, a
#: scale, knots, an orthogonal basis) or that read neighbouring rows (``lag``).
LEARNT = frozenset({"center", "scale", "standardize", "poly", "bs", "cs", "cr", "cc", "te",
                    "lag"})


def calls(formula: str) -> tuple[set[str], set[str]]:
    """The functions a formula's factors call, and the names inside its ``C(...)`` factors
    (columns made categorical, whose levels formulaic learns from the data)."""
    from formulaic import Formula

    try:
        parsed = Formula(formula)
    except Exception as e:
        raise QueryError(f"the formula {formula!r} does not parse: {e}") from None
    funcs: set[str] = set()
    categorical: set[str] = set()
    for term in _terms(parsed):
        for factor in term.factors:
            try:
                tree = ast.parse(str(factor.expr), mode="eval")
            except SyntaxError:
                continue  # a backquoted name
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    name = ast.unparse(node.func)
                    funcs.add(name)
                    if name == "C" and node.args:
                        categorical |= {n.id for n in ast.walk(node.args[0])
                                        if isinstance(n, ast.Name)}
    return funcs, categorical


def _terms(parsed: Any) -> list[Any]:
    out: list[Any] = []
    stack = [parsed]
    while stack:
        f = stack.pop()
        if hasattr(f, "rhs"):
            stack.extend(x for x in (getattr(f, "lhs", None), f.rhs) if x is not None)
        elif isinstance(f, (list, tuple)) or hasattr(f, "__iter__"):
            for t in f:
                if hasattr(t, "factors"):
                    out.append(t)
                else:
                    stack.append(t)
    return out


class Design:
    """A formula's model matrix on the data, and the same formula on edited copies of the data
    (the treatment set to a value) with identical columns."""

    def __init__(self, rhs: str, frame: pd.DataFrame, what: str):
        from formulaic import model_matrix

        self.what = what
        try:
            self.matrix = model_matrix(rhs, frame, ensure_full_rank=True)
        except Exception as e:
            raise QueryError(f"the {what} formula {rhs.strip()!r} cannot be built on the data: "
                             f"{_short(e)}") from None
        self.spec = self.matrix.model_spec
        self.columns = list(self.spec.column_names)

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.matrix, dtype=np.float64)

    def on(self, frame: pd.DataFrame, where: str = "on the data") -> np.ndarray:
        """The formula's model matrix on other rows, with this design's columns."""
        try:
            return np.asarray(self.spec.get_model_matrix(frame), dtype=np.float64)
        except Exception as e:
            raise DataError(f"the {self.what} model cannot be evaluated {where}: "
                            f"{_short(e)}") from None

    def at(self, frame: pd.DataFrame) -> np.ndarray:
        """The model matrix of rows whose treatment is set to a value."""
        return self.on(frame, "at the treatment's value")


def _short(e: Exception) -> str:
    return str(e).split("\n")[0]
