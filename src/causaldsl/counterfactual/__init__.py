"""Counterfactuals: named quantities (``quantities``) and sharp bounds for quantities a model's
tables do not determine (``bounds``), with the rewrites they rest on re-exported from the
rewrite layer (``causaldsl.rewrite``: the multi-world model, response functions). See
docs/counterfactuals.md."""

from causaldsl.counterfactual.bounds import Bounds, bounds, bounds_from, tian_pearl
from causaldsl.counterfactual.quantities import Answer, cde, ett, nde, nie, pn, pns, ps
from causaldsl.rewrite.responses import with_response_functions
from causaldsl.rewrite.worlds import MultiWorld, multiworld

__all__ = ["Answer", "Bounds", "MultiWorld", "bounds", "bounds_from", "cde", "ett", "multiworld",
           "nde", "nie", "pn", "pns", "ps", "tian_pearl", "with_response_functions"]
