"""Rewrites of models into models: the multi-world construction for counterfactuals and the
canonical response-function model."""
