"""The IR: mechanisms (tables, expressions), boxes and diagrams, and the expression semantics."""

from causaldsl.ir.diagram import Box, Diagram, Node, program

__all__ = ["Box", "Diagram", "Node", "program"]
