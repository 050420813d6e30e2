"""Notebook pictures: Jupyter shows models, diagrams, graphs and results drawn. The drawing is
done by the picture hook (``causaldsl.draw``, installed by the package and imported on first use,
so plain use never loads it)."""

from __future__ import annotations

from causaldsl.core import hooks


class Drawable:
    """Mixin: ``_repr_svg_`` and ``_repr_html_`` from :func:`causaldsl.draw.draw`, and
    ``_repr_mimebundle_``, which Jupyter prefers, with both from one drawing."""

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        return hooks.picture(self, "mimebundle")

    def _repr_svg_(self) -> str | None:
        return hooks.picture(self, "svg")

    def _repr_html_(self) -> str | None:
        return hooks.picture(self, "html")
