"""The CLI works from a built wheel, not only from a checkout: the grammars ship inside it."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_cli_runs_from_the_wheel(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path / "dist"), str(ROOT)], check=True)
    (wheel,) = (tmp_path / "dist").glob("causaldsl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "causaldsl/grammar/causal.lark" in names and "causaldsl/grammar/query.lark" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import sys, causaldsl, causaldsl.syntax.grammars as g\n"
            f"assert causaldsl.__file__.startswith({str(site)!r}), causaldsl.__file__\n"
            f"assert str(g.grammar_path('causal.lark')).startswith({str(site)!r})\n"
            "from causaldsl.app.cli import main\n"
            f"sys.exit(main(['run', {str(ROOT / 'examples' / 'smoking.causal')!r}]))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin",
                                         "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert "P(C | do(S = yes))" in out.stdout and "0.49" in out.stdout
