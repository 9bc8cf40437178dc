"""``docs/results/learning.json``: does G, trained on a search's choices, beat the search it learned from (issue 32)?

Built from finished benchmark runs' ``report.json`` (``scripts/research/learning_results.py``), one entry at a time:

- ``seeds``: per seed, the Gigaword test scores of G (the run's dev-selected model, one greedy pass), the search (the
  rule's summary and its variants chosen by the rewards, no model: the benchmark's dev-best "headline-deletion
  search (no model)" row, present when the run was benchmarked with ``--candidates_rule_samples``), the rule at 10
  words and the rule cut to G's own lengths; and which of the issue's first target's three conditions G meets.
- ``lengths``: per requested length N, G asked for N words, the rule cut to G's lengths and at N words, and the
  search at N words (``scripts/benchmark.py --words N``).
- ``rounds``: per round of expert iteration, G's dev and test scores (round 0: the G the first round starts from).
- ``ablation``: ``selectors_dev`` (and ``selectors_test``): the search's choice with every judge, without each one
  and with each one alone, scored against held-out references (``scripts/research/selector_ablation.py``): what each
  selector adds to the targets G learns from; ``trained``: per selector left out of the targets, the trained G's
  test scores.

Every score is ROUGE x100 with ``words``, the mean words per summary. Nothing is filled in that was not measured:
a missing row stays missing.
"""

from __future__ import annotations

import json
from pathlib import Path

from seq2seq2seq.eval.seed_results import HEADLINE_AT_LENGTH, HEADLINE_BASELINE, RULE_SEARCH

G = "seq2seq2seq"  # the benchmark's row of the dev-selected G
METRICS = ("rouge1", "rouge2", "rougeL")
MAX_WORDS = 10  # the first target's length limit


class LearningResultsError(ValueError):
    """A report that lacks what an entry needs (named, with the benchmark flag that adds it)."""


def scores_row(scores: dict, label: str) -> dict:
    """One report row as ``{rouge1, rouge2, rougeL, words}``, rounded to 2 decimals."""
    row = scores[label]
    return {**{m: round(row[m], 2) for m in METRICS}, "words": round(row["avg_words"], 2)}


def dev_best_search(report: dict) -> str | None:
    """The label of the search row (no model) with the best mean dev R-1/R-2/R-L, or None when the run has none."""
    dev = report["scores"].get("dev", {})
    rows = [label for label in report["scores"]["test"] if label.startswith(RULE_SEARCH) and label in dev]
    return max(rows, key=lambda label: sum(dev[label][m] for m in METRICS)) if rows else None


def seed_entry(seed: int, report: dict) -> dict:
    """A seed's G, search and rule rows from its report, and the first target's verdict (``meets``: G at most
    MAX_WORDS words and at least the search's R-1, the rule's R-2 and the rule's R-L)."""
    test = report["scores"]["test"]
    for label in (G, HEADLINE_BASELINE):
        if label not in test:
            raise LearningResultsError(f"the report has no test row {label!r}: run scripts/benchmark.py on a corpus "
                                       f"with word counts (the rule needs them)")
    entry = {"seed": seed, "g": scores_row(test, G), "rule": scores_row(test, HEADLINE_BASELINE)}
    if HEADLINE_AT_LENGTH in test:
        entry["rule_at_g_lengths"] = scores_row(test, HEADLINE_AT_LENGTH)
    search = dev_best_search(report)
    if search is not None:
        entry["search"] = {**scores_row(test, search), "label": search}
    entry["meets"] = target_one(entry)
    return entry


def target_one(entry: dict) -> dict:
    """Each condition of the first target for one seed: True/False, or None when the search was not measured."""
    g, rule, search = entry["g"], entry["rule"], entry.get("search")
    return {"words_at_most_10": g["words"] <= MAX_WORDS,
            "rouge1_at_least_search": None if search is None else g["rouge1"] >= search["rouge1"],
            "rouge2_at_least_rule": g["rouge2"] >= rule["rouge2"],
            "rougeL_at_least_rule": g["rougeL"] >= rule["rougeL"]}


def length_entry(length: int, report: dict) -> dict:
    """G asked for ``length`` words (``scripts/benchmark.py --words N``), the rule cut to G's own lengths document by
    document (``rule``), the rule at N words (``rule_at_n``), the search at N words when the run was benchmarked
    with it, and whether G is above the rule on all three scores (the issue's second target)."""
    asked = (report.get("words") or {}).get("g")
    if asked != length:
        raise LearningResultsError(f"its G was asked for {asked if asked else 'no particular number of'} words, not "
                                   f"{length}: benchmark the run with --words {length} and give report.words{length}"
                                   f".json")
    test = report["scores"]["test"]
    if HEADLINE_AT_LENGTH not in test:
        raise LearningResultsError(f"the report has no test row {HEADLINE_AT_LENGTH!r}")
    g, rule = scores_row(test, G), scores_row(test, HEADLINE_AT_LENGTH)
    entry = {"g": g, "rule": rule, "rule_at_n": scores_row(test, HEADLINE_BASELINE)}
    search = dev_best_search(report)
    if search is not None:
        entry["search"] = {**scores_row(test, search), "label": search}
    entry["g_above_rule"] = all(g[m] > rule[m] for m in METRICS)
    return entry


def round_entry(round_number: int, report: dict) -> dict:
    """One expert-iteration round: G's dev and test scores."""
    return {"round": round_number, "dev": scores_row(report["scores"]["dev"], G),
            "test": scores_row(report["scores"]["test"], G)}


def update(path: Path, *, seed: int | None = None, length: int | None = None, round_number: int | None = None,
           ablation: str | None = None, report: dict) -> dict:
    """Add one run's entry to the results file at ``path`` (replacing an entry of the same key) and return it."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data = {"seeds": data.get("seeds", []), "lengths": data.get("lengths", {}), "rounds": data.get("rounds", []),
            "ablation": data.get("ablation", {})}
    if seed is not None:
        data["seeds"] = sorted([s for s in data["seeds"] if s["seed"] != seed] + [seed_entry(seed, report)],
                               key=lambda s: s["seed"])
    if length is not None:
        data["lengths"][str(length)] = length_entry(length, report)
    if round_number is not None:
        data["rounds"] = sorted([r for r in data["rounds"] if r["round"] != round_number]
                                + [round_entry(round_number, report)], key=lambda r: r["round"])
    if ablation is not None:
        data["ablation"].setdefault("trained", {})[ablation] = scores_row(report["scores"]["test"], G)
    return _write(path, data)


def _write(path: Path, data: dict) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def update_selector_ablation(path: Path, result: dict) -> dict:
    """Put a selector ablation (``scripts/research/selector_ablation.py``'s result: ``set``, ``rows``, ...) into the
    results file's ``ablation`` as ``selectors_dev`` or ``selectors_test``, by the set it was measured on."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data.setdefault("ablation", {})[f"selectors_{result['set'].split()[0]}"] = result
    return _write(path, {"seeds": data.get("seeds", []), "lengths": data.get("lengths", {}),
                         "rounds": data.get("rounds", []), "ablation": data["ablation"]})
