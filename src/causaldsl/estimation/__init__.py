"""Estimation from data: typed columns, nuisance models fitted in JAX, estimators as stacked
estimating equations with sandwich and bootstrap uncertainty (see docs/estimation.md)."""
