"""The shared results file of a configuration's seeds (docs/results/*.json), written by ``scripts/benchmark.py
--results_json`` (or ``--collect``) and drawn by ``scripts/plot_results.py``: per seed, the Gigaword test scores of
the dev-selected G, the pre-trained G, the last G, the rule (at 10 words and at the final G's lengths) and the
test-time choices picked on dev; over the seeds, their mean, spread and gain over the pre-trained G.

The benchmark report's row labels are the keys it reads from a run's test scores.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

# the benchmark report's rows beside the dev-selected G ("seq2seq2seq")
PRETRAINED_G = "pre-trained G only"
LAST_G = "final G (no selection)"
HEADLINE_BASELINE = "headline-deletion (no model)"
HEADLINE_AT_LENGTH = "headline-deletion at the model's lengths"
RULE_SEARCH = "headline-deletion search (no model)"  # rows of the choice among the rule's candidates alone
GAIN_NAMES = {"rouge1": "R-1", "rouge2": "R-2", "rougeL": "R-L", "words": "words", "p_human": "P(human)"}


def choice_rank(scores: dict, row: str, baseline: str | None = None) -> tuple:
    """How a choice row ranks on ``scores`` (label -> ROUGE scores), higher first. Without ``baseline`` (or when
    ``scores`` has no such row): the mean of R-1, R-2 and R-L. With it, the rows above the baseline on all three
    come first, ranked by their mean; the others follow, ranked by their smallest margin over it (maximin): a choice
    should beat the baseline it searches around on every score, and when none does, the one that falls least short
    on its worst score is the nearest to it (a better mean bought with R-2 below the baseline ranks lower)."""
    metrics = ("rouge1", "rouge2", "rougeL")
    mean = sum(scores[row][m] for m in metrics) / 3
    if baseline is None or baseline not in scores:
        return (True, mean)
    margin = min(scores[row][m] - scores[baseline][m] for m in metrics)
    return (True, mean) if margin > 0 else (False, margin)


def dev_best_choices(dev_scores: dict, labels: dict, above: str | None = None) -> dict:
    """The test-time choice each seed reports, picked on dev: among the dev-selected G's choice rows (``labels``:
    (model, weights, rule a candidate) -> row label, as scripts/benchmark.py makes them), the best by
    :func:`choice_rank` (the mean of dev R-1, R-2 and R-L; with ``above``, a dev row such as the rule's, the rows
    above it on all three first, else the smallest shortfall), once among G's own candidates (``chosen``) and once
    with the rule's summary a candidate (``chosen_with_rule``). Each names that row and the pre-trained G's row of
    the same choice (None without the benchmark's ``--candidates_pretrained``)."""
    out = {}
    for kind, with_rule in (("chosen", False), ("chosen_with_rule", True)):
        rows = {key: label for key, label in labels.items()
                if key[0] == "seq2seq2seq" and key[2] == with_rule and label in dev_scores}
        if not rows:
            continue
        best = max(rows, key=lambda key: choice_rank(dev_scores, rows[key], above))
        out[kind] = {"final": rows[best], "pretrained": labels.get((PRETRAINED_G, *best[1:]))}
    return out


def _test_row(scores: dict, readability: dict | None, system: str) -> dict:
    s = scores[system]
    row = {"rouge1": round(s["rouge1"], 2), "rouge2": round(s["rouge2"], 2), "rougeL": round(s["rougeL"], 2),
           "words": round(s["avg_words"], 2)}
    if readability and system in readability:
        row["p_human"] = round(readability[system]["d_human_prob"], 1)
    return row


def add_seed_results(path: Path, seed: int, test_scores: dict, test_readability: dict | None = None,
                     choice: dict | None = None) -> None:
    """Put one run's test scores into ``{"seeds": [{"seed", "final", "pretrained", "rule", ...}, ...], "summary"}``
    (ROUGE x100 and words; ``p_human``, the judge's mean P(human) in %, when ``test_readability`` has it), replacing
    an earlier entry of the same seed; the entries stay sorted by seed. ``final`` is the dev-selected model (the
    pre-trained G itself when no adversarial step beat it on dev), ``last`` the G at the end of the adversarial
    stage, ``rule_at_final_lengths`` the rule cut to the final model's lengths. ``choice`` (from
    :func:`dev_best_choices`) adds, per kind of test-time choice, its row label and the test scores of the final and
    the pre-trained G under it. ``summary`` is :func:`seed_summary`. Pass every seed's run the same ``--judge`` so
    that the ``p_human`` figures compare."""
    rows = {"final": "seq2seq2seq", "pretrained": PRETRAINED_G, "rule": HEADLINE_BASELINE,
            "rule_at_final_lengths": HEADLINE_AT_LENGTH, "last": LAST_G}
    entry = {"seed": seed}
    for key, system in rows.items():
        if system in test_scores:
            entry[key] = _test_row(test_scores, test_readability, system)
    for kind, labels in (choice or {}).items():
        entry[kind] = {"label": labels["final"], "final": _test_row(test_scores, test_readability, labels["final"])}
        if labels.get("pretrained") in test_scores:
            entry[kind]["pretrained"] = _test_row(test_scores, test_readability, labels["pretrained"])
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"seeds": []}
    seeds = [s for s in data.get("seeds", []) if s.get("seed") != seed] + [entry]
    data["seeds"] = sorted(seeds, key=lambda s: s["seed"])
    data["summary"] = seed_summary(data["seeds"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def seed_summary(seeds: list[dict]) -> dict:
    """Over the seeds that have both ``final`` and ``pretrained``: the mean and sample standard deviation (0 for one
    seed) of each of their scores, and of the gain final - pretrained. The gains are keyed R-1, R-2, R-L, words,
    P(human), so that every ``rouge*`` key in the file holds a score in 0-100 (a gain can be negative). The same
    for each test-time choice (``chosen``, ``chosen_with_rule``) that every seed has."""
    out = _gains(seeds)
    for kind in ("chosen", "chosen_with_rule"):  # the test-time choices, when every seed has them
        if out and all(kind in s for s in seeds):
            out[kind] = _gains([s[kind] for s in seeds])
    return out


def _gains(seeds: list[dict]) -> dict:
    both = [s for s in seeds if "final" in s and "pretrained" in s]
    if not both:
        return {}
    # e.g. p_human only when every run had a judge
    metrics = [m for m in both[0]["final"] if all(m in s["final"] and m in s["pretrained"] for s in both)]

    def stats(values: list[float]) -> tuple[float, float]:
        return round(statistics.mean(values), 2), round(statistics.stdev(values), 2) if len(values) > 1 else 0.0

    out: dict = {"seeds": len(both), "mean": {}, "sd": {}}
    for key in ("final", "pretrained"):
        pairs = {m: stats([s[key][m] for s in both]) for m in metrics}
        out["mean"][key] = {m: mean for m, (mean, _) in pairs.items()}
        out["sd"][key] = {m: sd for m, (_, sd) in pairs.items()}
    gains = {GAIN_NAMES.get(m, m): stats([s["final"][m] - s["pretrained"][m] for s in both]) for m in metrics}
    out["gain_over_pretrained"] = {"mean": {m: mean for m, (mean, _) in gains.items()},
                                   "sd": {m: sd for m, (_, sd) in gains.items()}}
    return out
