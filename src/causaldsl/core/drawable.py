"""Notebook pictures: Jupyter shows models, diagrams, graphs and results drawn (causaldsl.draw,
imported on first use, so plain use never loads it)."""

from __future__ import annotations


class Drawable:
    """Mixin: ``_repr_svg_`` and ``_repr_html_`` from :func:`causaldsl.draw.draw`, and
    ``_repr_mimebundle_``, which Jupyter prefers, with both from one drawing."""

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        from causaldsl.draw import repr_mimebundle

        return repr_mimebundle(self)

    def _repr_svg_(self) -> str | None:
        from causaldsl.draw import repr_svg

        return repr_svg(self)

    def _repr_html_(self) -> str | None:
        from causaldsl.draw import repr_html

        return repr_html(self)
