"""Interpretations of the IR (functors): exact tensors now; sampling, formulas and pictures later."""
