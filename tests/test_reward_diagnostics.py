"""scripts/reward_diagnostics.py: per-reward correlation with ROUGE across G's samples, on a tiny finished run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from conftest import TINY_CONFIG

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("reward_diagnostics", ROOT / "scripts" / "reward_diagnostics.py")
diagnostics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(diagnostics)


def test_pearson_by_hand() -> None:
    assert diagnostics.pearson([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == pytest.approx(1.0)
    assert diagnostics.pearson([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    # x = (0, 1, 2), y = (0, 2, 1): cov = 1, var x = var y = 2 -> 0.5
    assert diagnostics.pearson([0.0, 1.0, 2.0], [0.0, 2.0, 1.0]) == pytest.approx(0.5)
    assert diagnostics.pearson([1.0, 1.0, 1.0], [0.0, 2.0, 1.0]) is None


def test_reports_every_reward_within_the_sample_range(tiny_corpus: Path, tiny_run: Path, tmp_path: Path,
                                                      capsys) -> None:
    checkpoint = sorted((tiny_run / "checkpoints").iterdir())[-1]
    out = tmp_path / "diag.json"
    code = diagnostics.main(["--config", str(TINY_CONFIG), "--data_dir", str(tiny_corpus), "--checkpoint",
                             str(checkpoint), "--documents", "5", "--samples", "3", "--batch", "2",
                             "--json", str(out), "--zscore", "reconstruction:1,contiguity:0.5"])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["documents"] == 5 and result["samples"] == 3
    rouge = result["rouge"]
    assert 0.0 <= rouge["mean_sample"] <= rouge["oracle"] <= 100.0
    for name in ("reconstruction", "discriminator", "length", "headline", "contiguity", "total",
                 "z: reconstruction:1,contiguity:0.5"):
        row = result["rewards"][name]
        assert -1.0 <= row["corr"] <= 1.0
        assert row["pick"] <= rouge["oracle"] + 1e-9  # the top sample by any reward is one of the samples
    assert "| total |" in capsys.readouterr().out
    code = diagnostics.main(["--config", str(TINY_CONFIG), "--data_dir", str(tiny_corpus), "--checkpoint",
                             str(checkpoint), "--documents", "2", "--zscore", "nosuch:1"])
    assert code == 2 and "--zscore names nosuch" in capsys.readouterr().err


def test_missing_checkpoint_is_a_clear_error(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    code = diagnostics.main(["--config", str(TINY_CONFIG), "--data_dir", str(tiny_corpus), "--checkpoint",
                             str(tmp_path / "nowhere")])
    assert code == 2
    assert "nowhere" in capsys.readouterr().err


def test_parse_combination_and_its_errors(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    assert diagnostics.parse_combination("similarity:1,fluency:0.5") == {"similarity": 1.0, "fluency": 0.5}
    for bad in ("similarity", "similarity:x", ":1"):
        with pytest.raises(ValueError, match="is not NAME:WEIGHT"):
            diagnostics.parse_combination(bad)
    with pytest.raises(SystemExit):
        diagnostics.main(["--config", str(TINY_CONFIG), "--checkpoint", str(tmp_path), "--zscore", "similarity"])
    assert "is not NAME:WEIGHT" in capsys.readouterr().err
