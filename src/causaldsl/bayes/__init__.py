"""Bayesian causal models: unknown tables with Dirichlet priors, learned from data (the
conjugate posterior exactly, or NUTS/SVI with hidden variables summed out, or maximum
likelihood with a bootstrap); every query of a fitted model answers with its posterior, and
says when the data cannot decide it. See docs/bayes.md."""
