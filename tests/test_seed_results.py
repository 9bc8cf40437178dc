"""seq2seq2seq/eval/seed_results.py: the shared results file of a configuration's seeds (docs/results/*.json), and
the test-time choice each seed reports, picked on dev."""

from __future__ import annotations

import json
from pathlib import Path

from seq2seq2seq.eval.seed_results import (
    HEADLINE_BASELINE,
    PRETRAINED_G,
    add_seed_results,
    choice_rank,
    dev_best_choices,
)


def test_seed_results_are_added_and_replaced_by_seed(tmp_path: Path) -> None:
    path = tmp_path / "cpu.json"
    row = {"rouge1": 26.0, "rouge2": 7.0, "rougeL": 22.5, "avg_words": 8.1}
    scores = {"seq2seq2seq": row, "pre-trained G only": {**row, "rouge1": 25.5}, HEADLINE_BASELINE: row}
    add_seed_results(path, 2, scores)
    add_seed_results(path, 0, scores)
    add_seed_results(path, 2, {**scores, "seq2seq2seq": {**row, "rouge1": 27.0}})
    data = json.loads(path.read_text())
    seeds = data["seeds"]
    assert [s["seed"] for s in seeds] == [0, 2]
    assert seeds[1]["final"] == {"rouge1": 27.0, "rouge2": 7.0, "rougeL": 22.5, "words": 8.1}
    assert seeds[0]["pretrained"]["rouge1"] == 25.5
    # final R-1 26.0 and 27.0 over the two seeds, pretrained 25.5 both: gains 0.5 and 1.5
    summary = data["summary"]
    assert summary["seeds"] == 2
    assert summary["mean"]["final"]["rouge1"] == 26.5 and summary["sd"]["final"]["rouge1"] == 0.71
    assert summary["mean"]["pretrained"]["rouge1"] == 25.5 and summary["sd"]["pretrained"]["rouge1"] == 0.0
    assert summary["gain_over_pretrained"]["mean"]["R-1"] == 1.0 and summary["gain_over_pretrained"]["sd"]["R-1"] == 0.71
    assert summary["gain_over_pretrained"]["mean"]["R-2"] == 0.0
    assert "chosen" not in summary  # no seed has a test-time choice


def test_the_choice_each_seed_reports_is_picked_on_dev(tmp_path: Path) -> None:
    def row(r1: float, r2: float = 10.0, rl: float = 25.0) -> dict:
        return {"rouge1": r1, "rouge2": r2, "rougeL": rl, "avg_words": 9.5}

    labels = {("seq2seq2seq", (0.5, 0.0, 0.0), False): "G a", ("seq2seq2seq", (0.5, 0.0, 0.5), False): "G b",
              ("seq2seq2seq", (0.5, 0.0, 0.0), True): "G a rule", ("seq2seq2seq", (0.5, 0.0, 0.5), True): "G b rule",
              (PRETRAINED_G, (0.5, 0.0, 0.0), False): "P a",
              (PRETRAINED_G, (0.5, 0.0, 0.5), False): "P b",
              (PRETRAINED_G, (0.5, 0.0, 0.0), True): "P a rule",
              (PRETRAINED_G, (0.5, 0.0, 0.5), True): "P b rule"}
    # on dev: b is better by the mean of the three scores (its R-1 is lower), with the rule a is better
    dev = {"G a": row(30.0), "G b": row(29.9, 10.5), "G a rule": row(30.2), "G b rule": row(30.0),
           "P a": row(40.0), "P b": row(1.0)}  # the pre-trained rows do not take part in the pick
    choice = dev_best_choices(dev, labels)
    assert choice == {"chosen": {"final": "G b", "pretrained": "P b"},
                      "chosen_with_rule": {"final": "G a rule", "pretrained": "P a rule"}}
    test = {"seq2seq2seq": row(27.0), PRETRAINED_G: row(26.5), "G b": row(28.0), "P b": row(27.5),
            "G a rule": row(28.5), "P a rule": row(28.0, 11.0)}
    path = tmp_path / "cpu.json"
    add_seed_results(path, 0, test, choice=choice)
    add_seed_results(path, 1, {**test, "G b": row(29.0)}, choice=choice)
    data = json.loads(path.read_text())
    assert data["seeds"][0]["chosen"] == {"label": "G b", "final": {"rouge1": 28.0, "rouge2": 10.0, "rougeL": 25.0,
                                                                    "words": 9.5},
                                          "pretrained": {"rouge1": 27.5, "rouge2": 10.0, "rougeL": 25.0,
                                                         "words": 9.5}}
    # gains of the chosen rows over the pre-trained G's same choice: 0.5 and 1.5 R-1; with the rule 0.5, -1.0 R-2
    summary = data["summary"]
    assert summary["chosen"]["gain_over_pretrained"]["mean"]["R-1"] == 1.0
    assert summary["chosen"]["gain_over_pretrained"]["sd"]["R-1"] == 0.71
    assert summary["chosen_with_rule"]["gain_over_pretrained"]["mean"] == {"R-1": 0.5, "R-2": -1.0, "R-L": 0.0,
                                                                           "words": 0.0}
    # without --candidates_pretrained there is no pre-trained row of the choice
    alone = dev_best_choices(dev, {k: v for k, v in labels.items() if k[0] == "seq2seq2seq"})
    assert alone["chosen"] == {"final": "G b", "pretrained": None}


def test_a_choice_above_the_rule_on_every_dev_score_comes_first() -> None:
    def row(r1: float, r2: float, rl: float) -> dict:
        return {"rouge1": r1, "rouge2": r2, "rougeL": rl, "avg_words": 9.5}

    labels = {("seq2seq2seq", (0.0, 0.5, 0.0), True): "headline", ("seq2seq2seq", (0.0, 0.5, 0.5), True): "contiguity"}
    rule = row(35.19, 13.58, 31.86)
    # the headline row has the better mean but is below the rule on R-2; the contiguity row is above it on all three
    dev = {"headline": row(36.72, 13.46, 32.80), "contiguity": row(36.49, 13.69, 32.78), HEADLINE_BASELINE: rule}
    assert dev_best_choices(dev, labels)["chosen_with_rule"]["final"] == "headline"
    assert dev_best_choices(dev, labels, above=HEADLINE_BASELINE)["chosen_with_rule"]["final"] == "contiguity"
    # when no row is above the rule on every score, the smallest shortfall wins (maximin), not the best mean:
    # headline's worst margin is R-2 13.46 - 13.58 = -0.12, contiguity's 13.50 - 13.58 = -0.08
    dev["contiguity"] = row(36.49, 13.50, 32.78)
    assert dev_best_choices(dev, labels)["chosen_with_rule"]["final"] == "headline"
    assert dev_best_choices(dev, labels, above=HEADLINE_BASELINE)["chosen_with_rule"]["final"] == "contiguity"
    dev["contiguity"] = row(36.49, 13.40, 32.78)  # -0.18: now headline falls shorter by less
    assert dev_best_choices(dev, labels, above=HEADLINE_BASELINE)["chosen_with_rule"]["final"] == "headline"


def test_choice_rank_by_hand() -> None:
    def row(r1: float, r2: float, rl: float) -> dict:
        return {"rouge1": r1, "rouge2": r2, "rougeL": rl}

    scores = {"rule": row(30, 10, 27), "above": row(31, 11, 30), "short": row(33, 9.5, 30), "tie": row(31, 10, 28)}
    assert choice_rank(scores, "above") == (True, 24.0)
    assert choice_rank(scores, "above", "missing") == (True, 24.0)  # no such baseline: the mean alone
    assert choice_rank(scores, "above", "rule") == (True, 24.0)
    assert choice_rank(scores, "short", "rule") == (False, -0.5)
    assert choice_rank(scores, "tie", "rule") == (False, 0)  # level on R-2 is not above
    # any row above the baseline on all three outranks every row that is not, whatever the means
    assert sorted(["short", "tie", "above"], key=lambda r: choice_rank(scores, r, "rule"), reverse=True) == [
        "above", "tie", "short"]
