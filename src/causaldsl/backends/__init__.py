"""Interpretations of the IR (functors): exact tensors (``exact``), NumPyro programs
(``sample``), the estimand evaluator and comb kernels; ``choose`` picks one for a query."""
