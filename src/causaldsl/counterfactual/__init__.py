"""Counterfactuals: the multi-world rewrite (``worlds``), named quantities (``quantities``) and
bounds for quantities the model does not determine (``bounds``). See docs/counterfactuals.md."""
