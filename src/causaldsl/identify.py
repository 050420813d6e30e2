"""The public path of identification (documented): the entry point and Identification
(causaldsl.analysis.identify), the ID/IDC algorithms (analysis.id_algorithm) and the adjustment
rules (analysis.adjustment)."""

from causaldsl.analysis.adjustment import (
    adjustment_admissible,
    backdoor_admissible,
    backdoor_estimand,
    causal_nodes,
    find_adjustment_set,
    find_backdoor_set,
    find_frontdoor_set,
    forbidden_nodes,
    frontdoor_admissible,
    frontdoor_estimand,
    optimal_adjustment_set,
)
from causaldsl.analysis.estimand import ONE
from causaldsl.analysis.id_algorithm import id_algorithm, idc_algorithm, is_identifiable
from causaldsl.analysis.identify import METHODS, Identification, identify
from causaldsl.core.errors import NotIdentifiable

__all__ = [
    "METHODS", "ONE", "Identification", "NotIdentifiable", "adjustment_admissible",
    "backdoor_admissible", "backdoor_estimand", "causal_nodes", "find_adjustment_set",
    "find_backdoor_set", "find_frontdoor_set", "forbidden_nodes", "frontdoor_admissible",
    "frontdoor_estimand", "id_algorithm", "idc_algorithm", "identify", "is_identifiable",
    "optimal_adjustment_set",
]
