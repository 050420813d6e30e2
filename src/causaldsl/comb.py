"""The public path of comb disintegration (documented): the comb's shape on a graph
(causaldsl.analysis.comb) and its kernels from data (causaldsl.backends.comb)."""

from causaldsl.analysis.comb import Comb, comb_shape
from causaldsl.backends.comb import comb_kernels, compose

__all__ = ["Comb", "comb_kernels", "comb_shape", "compose"]
