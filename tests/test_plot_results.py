"""scripts/plot_results.py: the headline picture from docs/results/*.json, on a temporary copy of the files."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("plot_results", ROOT / "scripts" / "plot_results.py")
plot_results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(plot_results)


def _copy_results(folder: Path) -> Path:
    for name in plot_results.FILES:
        shutil.copy(ROOT / "docs" / "results" / name, folder / name)
    return folder


def test_writes_the_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    results = _copy_results(tmp_path)
    out = tmp_path / "pictures" / "results.png"
    assert plot_results.main(["--results_dir", str(results), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_matches_the_json(tmp_path: Path, capsys) -> None:
    assert plot_results.main(["--results_dir", str(_copy_results(tmp_path)), "--table"]) == 0
    table = capsys.readouterr().out
    # the search around the rule with G: the mean of the three seeds in cpu.json
    assert "| the search around the rule, with G (mean of 3 seeds) | 28.92 | 10.32 | 25.96 | 9.67 |" in table
    assert "| headline-deletion rule, 10 words (no model) | 27.86 | 10.30 | 25.17 | 9.68 |" in table


def test_a_missing_json_is_a_clear_error(tmp_path: Path, capsys) -> None:
    results = _copy_results(tmp_path)
    (results / "quickstart.json").unlink()
    assert plot_results.main(["--results_dir", str(results), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "quickstart.json not found" in err and "--results_json" in err
    assert not (tmp_path / "x.png").exists()
