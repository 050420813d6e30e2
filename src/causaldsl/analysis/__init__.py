"""Analyses of the graph view: estimands, identification (back-door, front-door, comb, ID/IDC)
and hedges. Formulas, not numbers."""
