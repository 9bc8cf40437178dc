"""docs/results/learning.json from benchmark reports: the rows it reads, the first target's verdict by hand, merging
entries, and the script's clear errors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from seq2seq2seq.eval.learning_results import LearningResultsError, seed_entry, update

ROOT = Path(__file__).resolve().parent.parent
SEARCH_A = "headline-deletion search (no model): the rule's summary and 8 variants, best by similarity"
SEARCH_B = "headline-deletion search (no model): the rule's summary and 8 variants, best by similarity + 0.5 fluency"


def row(r1: float, r2: float, rl: float, words: float) -> dict:
    return {"rouge1": r1, "rouge2": r2, "rougeL": rl, "avg_words": words}


def report(g: dict, with_search: bool = True, words: int = 10) -> dict:
    test = {"seq2seq2seq": g, "headline-deletion (no model)": row(27.864, 10.296, 25.166, 9.68),
            "headline-deletion at the model's lengths": row(27.5, 10.1, 24.9, 9.5)}
    dev = {"seq2seq2seq": row(36.0, 13.0, 32.0, 9.8)}
    if with_search:
        # B is the better search on dev (mean 27 against 26), A the better one on test: the entry must take B's
        test.update({SEARCH_A: row(29.5, 10.5, 26.5, 9.7), SEARCH_B: row(28.913, 10.37, 25.99, 9.68)})
        dev.update({SEARCH_A: row(36.0, 12.0, 30.0, 9.7), SEARCH_B: row(37.0, 13.0, 31.0, 9.7)})
    return {"scores": {"test": test, "dev": dev}, "words": {"g": words, "rule": words}}


def test_a_seed_takes_the_dev_best_search_and_judges_each_condition() -> None:
    entry = seed_entry(0, report(row(29.0, 10.30, 25.10, 9.9)))
    assert entry["search"] == {"rouge1": 28.91, "rouge2": 10.37, "rougeL": 25.99, "words": 9.68, "label": SEARCH_B}
    assert entry["rule"] == {"rouge1": 27.86, "rouge2": 10.3, "rougeL": 25.17, "words": 9.68}
    # 29.0 >= 28.91; 10.30 >= 10.30 (the rule's 10.296 rounds to 10.3); 25.10 < 25.17; 9.9 words <= 10
    assert entry["meets"] == {"words_at_most_10": True, "rouge1_at_least_search": True,
                              "rouge2_at_least_rule": True, "rougeL_at_least_rule": False}
    longer = seed_entry(0, report(row(29.0, 10.4, 25.2, 10.3)))["meets"]
    assert longer["words_at_most_10"] is False and longer["rougeL_at_least_rule"] is True


def test_without_a_search_row_the_search_condition_is_unknown_not_passed() -> None:
    entry = seed_entry(1, report(row(27.0, 9.0, 24.0, 9.0), with_search=False))
    assert "search" not in entry and entry["meets"]["rouge1_at_least_search"] is None


def test_entries_merge_by_key_and_replace_their_own(tmp_path: Path) -> None:
    out = tmp_path / "learning.json"
    update(out, seed=1, report=report(row(27.0, 9.0, 24.0, 9.0)))
    update(out, seed=0, report=report(row(27.0, 9.0, 24.0, 9.0)))
    update(out, seed=1, report=report(row(28.0, 9.5, 24.5, 9.0)))  # seed 1 again: replaced
    update(out, length=13, report=report(row(28.0, 10.2, 25.0, 12.6), words=13))
    update(out, round_number=2, report=report(row(28.0, 9.5, 24.5, 9.0)))
    data = json.loads(out.read_text())
    assert [s["seed"] for s in data["seeds"]] == [0, 1] and data["seeds"][1]["g"]["rouge1"] == 28.0
    # 28.0 > 27.5 and 25.0 > 24.9, but 10.2 > 10.1 too: above on all three
    assert data["lengths"]["13"]["g_above_rule"] is True
    assert data["lengths"]["13"]["search"]["label"] == SEARCH_B  # the dev-best search at the same length
    assert data["lengths"]["13"]["rule_at_n"] == {"rouge1": 27.86, "rouge2": 10.3, "rougeL": 25.17, "words": 9.68}
    assert data["rounds"] == [{"round": 2, "dev": {"rouge1": 36.0, "rouge2": 13.0, "rougeL": 32.0, "words": 9.8},
                               "test": {"rouge1": 28.0, "rouge2": 9.5, "rougeL": 24.5, "words": 9.0}}]
    assert data["ablation"] == {}


def test_a_report_without_the_rule_is_refused_by_name() -> None:
    bad = report(row(27.0, 9.0, 24.0, 9.0))
    del bad["scores"]["test"]["headline-deletion (no model)"]
    with pytest.raises(LearningResultsError, match="headline-deletion"):
        seed_entry(0, bad)


def test_the_script_reads_a_report_and_says_what_is_wrong(tmp_path: Path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("learning_results_cli",
                                                  ROOT / "scripts" / "research" / "learning_results.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    good = tmp_path / "report.json"
    good.write_text(json.dumps(report(row(27.0, 9.0, 24.0, 9.0))))
    out = tmp_path / "learning.json"
    assert cli.main([str(good), "--seed", "0", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["seeds"][0]["seed"] == 0
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert cli.main([str(broken), "--seed", "0", "--out", str(out)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_length_entry_needs_a_report_at_that_length(tmp_path: Path) -> None:
    # a run benchmarked at its default length cannot stand for 13 words: the error names the flag that fixes it
    with pytest.raises(LearningResultsError, match="--words 13"):
        update(tmp_path / "learning.json", length=13, report=report(row(28.0, 10.2, 25.0, 9.6), words=10))
    assert not (tmp_path / "learning.json").exists()
    # G below the rule cut to its lengths on one score (R-2 10.0 < 10.1): not above on all three
    data = update(tmp_path / "learning.json", length=8, report=report(row(28.0, 10.0, 25.0, 8.0), words=8))
    assert data["lengths"]["8"]["g_above_rule"] is False
