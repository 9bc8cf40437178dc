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


def test_lengths_table_and_picture_from_learning_json(tmp_path: Path, capsys) -> None:
    import json

    def scores(r1: float, words: float) -> dict:
        return {"rouge1": r1, "rouge2": r1 / 3, "rougeL": r1 - 2, "words": words}

    (tmp_path / "learning.json").write_text(json.dumps({"seeds": [], "rounds": [], "ablation": {}, "lengths": {
        "13": {"g": scores(30.0, 13.0), "rule": scores(29.0, 13.0)},  # no search at 13: "not measured"
        "8": {"g": scores(26.5, 8.0), "rule": scores(26.0, 8.0), "search": scores(27.0, 8.0)}}}))
    assert plot_results.main(["--results_dir", str(tmp_path), "--lengths", "--table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "| 8 | 26.50 / 8.83 / 24.50 (8.0) | 26.00 / 8.67 / 24.00 (8.0) | 27.00 / 9.00 / 25.00 (8.0) |"
    assert lines[3].startswith("| 13 | 30.00 / 10.00 / 28.00 (13.0) |") and lines[3].endswith("| not measured |")
    if importlib.util.find_spec("matplotlib") is not None:
        assert plot_results.main(["--results_dir", str(tmp_path), "--lengths"]) == 0
        assert (tmp_path / "lengths.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "learning.json").write_text(json.dumps({"lengths": {}}))
    assert plot_results.main(["--results_dir", str(tmp_path), "--lengths"]) == 2
    assert "no lengths yet" in capsys.readouterr().err
