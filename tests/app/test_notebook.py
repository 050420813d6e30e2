"""docs/tour.ipynb, executed as a reader would (nbclient and a Python kernel): every cell runs,
and each result shows in the MIME type a notebook renders it by: pictures as SVG, the answer
and the tables as HTML, the identification as LaTeX. The notebook is kept without outputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

DOCS = Path(__file__).resolve().parents[2] / "docs"
TOUR = DOCS / "tour.ipynb"


def test_the_committed_tour_has_no_outputs():
    nb = nbformat.read(TOUR, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_the_tour_runs_and_shows_each_result_in_its_mime_type():
    nb = nbformat.read(TOUR, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(DOCS)}}).execute()
    shown = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            (tag,) = cell.metadata["tags"]
            assert not [o for o in cell.outputs if o.output_type == "error"], tag
            shown[tag] = cell.outputs
    data = {tag: next((o.data for o in outs if o.output_type == "execute_result"), {})
            for tag, outs in shown.items()}
    assert "image/svg+xml" in data["model"] and "image/svg+xml" in data["surgery"]
    assert 'class="edge wire latent cut"' in data["surgery"]["image/svg+xml"]  # H -/-> S
    assert "text/html" in data["result"] and "P(C | do(S))" in data["result"]["text/html"]
    latex = data["identification"]["text/latex"]
    assert latex.startswith("$") and r"\sum_{t}" in latex and "frontdoor" in latex
    for tag in ("batch", "estimate"):
        html = data[tag]["text/html"]
        assert '<div class="causaldsl-result">' in html and "<table" in html, tag
    assert "<th>setting</th>" in data["batch"]["text/html"]
    assert "<td>plugin</td>" in data["estimate"]["text/html"]  # the front-door formula
    (printed,) = [o.text for o in shown["truth"] if o.output_type == "stream"]
    est, se, truth = map(float, re.findall(r"-?\d+\.\d+", printed))
    assert abs(est - truth) <= 4.5 * se  # the estimate is sound, not just shown
