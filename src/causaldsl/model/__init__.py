"""Models: causal models and their graph view, the builder, surgery, query checks and results."""

from causaldsl.model.causal_model import CausalModel, Role, Variable

__all__ = ["CausalModel", "Role", "Variable"]
