"""What each judge (selector) of the search adds: the search's choice with every judge, without each one and with
each one alone, scored with ROUGE against the references of held-out documents (issue 32's selector ablation).

    python scripts/research/selector_ablation.py --limit 500 -- --data_dir runs/corpus \
        --model runs/cpu_search_s0/train/best/summarizer --samples 8 --edits 4 --fluency_model runs/fluency_lm \
        --reconstruction_model runs/d300 --reconstruction_weight 0.5 \
        --discriminator_model runs/d300 --discriminator_weight 0.5

The options after ``--`` are those of ``python -m data_prep.search_targets`` (the candidates and the judges with
their weights, exactly as the targets are computed); this script adds which documents: ``--set dev`` (the corpus's
dev slice, for choosing) or ``test`` (Gigaword test), the first ``--limit``. The candidates of each document are
made and every judge scores them once; each row then recombines the z-scored scores (a judge left out is a weight
of 0). Besides the choices: the rule's summary, G's greedy summary (with ``--model``) and the oracle (the candidate
with the best ROUGE-1 against the reference: how much any judge could find). The search targets' quality is what G
learns from, so this measures each selector before any training. ``--learning_json`` puts the rows into
docs/results/learning.json's ``ablation``.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import sys
import time
from pathlib import Path

METRICS = ("rouge1", "rouge2", "rougeL")


def rows_of(choices: dict[str, list[int]], candidates: list[list[str]], references: list[str]) -> dict[str, dict]:
    """Each row's ROUGE (x100) and mean words of the candidates it picks, one index per document."""
    from seq2seq2seq.eval.rouge import score_summaries

    return {label: score_summaries([row[i] for row, i in zip(candidates, picks)], references)
            for label, picks in choices.items()}


def oracle(candidates: list[list[str]], references: list[str]) -> list[int]:
    """Per document, the candidate with the best ROUGE-1 F1 against its reference (rouge-score, stemmed)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    return [max(range(len(row)), key=lambda i: (scorer.score(ref, row[i])["rouge1"].fmeasure, -i))
            for row, ref in zip(candidates, references)]


def choices_by_row(parts: dict[str, list[list[float]]], weights: dict[str, float]) -> dict[str, list[int]]:
    """The choice with every judge, without each one, and each one alone (when there are several)."""
    from seq2seq2seq.inference.choose import CandidateChooser
    from seq2seq2seq.rewards.base import combine

    def pick(names: list[str]) -> list[int]:
        return CandidateChooser.best(combine({n: parts[n] for n in names}, {n: weights[n] for n in names},
                                             how="zscore"))

    names = list(weights)
    rows = {"all judges": pick(names)}
    if len(names) > 1:
        rows.update({f"without {name}": pick([n for n in names if n != name]) for name in names})
        rows.update({f"{name} alone": pick([name]) for name in names})
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("dev", "test"), default="dev", help="dev chooses; test only reports")
    parser.add_argument("--limit", type=int, default=500, help="the first N documents of the set")
    parser.add_argument("--out", default=None, help="write the rows as JSON here too")
    parser.add_argument("--learning_json", default=None, help="put the rows into this learning.json's ablation")
    args = parser.parse_args(argv[:split])
    from data_prep.search_targets import parse_args as targets_args

    search = targets_args(argv[split + 1:])

    import torch

    from data_prep.search_candidates import candidates_of, load_judges, model_candidates
    from seq2seq2seq.data import load_headline_word_stats
    from seq2seq2seq.eval.baselines import read_pairs
    from seq2seq2seq.eval.rouge import format_table, score_summaries
    from seq2seq2seq.inference.api import load_summarizer
    from seq2seq2seq.models.build import ModelLoadError
    from seq2seq2seq.normalize import normalize
    from seq2seq2seq.paths import shared_data_dir

    data_dir = Path(search.data_dir)
    source = data_dir / "dev.jsonl" if args.set == "dev" else shared_data_dir() / "gigaword" / "test.jsonl"
    if not source.is_file():
        print(f"error: {source} not found: --set {args.set} needs it (dev: a corpus from python -m data_prep)",
              file=sys.stderr)
        return 2
    documents, references = read_pairs(source, args.limit or None)
    documents = [normalize(d) for d in documents]
    try:
        summarizer = load_summarizer(search.model) if search.model else None
        judges = list(load_judges(search, data_dir))
    except ModelLoadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with torch.no_grad():
        # G's proposals kept: its greedy summary is no candidate of its own where the rule already gave that text
        proposals = model_candidates(summarizer, documents, search, 0) if summarizer is not None else []
        candidates, kinds = candidates_of(documents, load_headline_word_stats(data_dir), search,
                                          proposals=proposals)
        parts = {judge.name: judge.score_candidates(documents, candidates) for judge in judges}
    seconds = time.perf_counter() - started
    choices = {"the rule's summary (no choice)": [0] * len(documents)}
    choices.update(choices_by_row(parts, {judge.name: judge.weight for judge in judges}))
    choices["oracle: the best candidate by ROUGE-1 against the reference"] = oracle(candidates, references)
    rows = rows_of(choices, candidates, references)
    if proposals:
        rows = {"G's greedy summary (no choice)": score_summaries([more[0] for more, _ in proposals], references),
                **rows}
    picked = {label: {kind: round(sum(k[i] == kind for k, i in zip(kinds, picks)) / len(picks), 3)
                      for kind in sorted({k for row in kinds for k in row})} for label, picks in choices.items()}
    result = {"set": f"{args.set} ({len(documents)} documents, {source.name})", "command": search.command,
              "candidates_per_document": round(sum(map(len, candidates)) / len(candidates), 2),
              "seconds": round(seconds, 1), "weights": {judge.name: judge.weight for judge in judges},
              "rows": {label: {**{m: round(row[m], 2) for m in METRICS}, "words": round(row["avg_words"], 2)}
                       for label, row in rows.items()},
              "chosen_kinds": picked}
    print(f"{result['set']}: {result['candidates_per_document']} candidates per document, judges "
          f"{result['weights']}, candidates and scores in {seconds:.0f} s\n{format_table(rows)}")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.learning_json:
        from seq2seq2seq.eval.learning_results import update_selector_ablation

        update_selector_ablation(Path(args.learning_json), result)
        print(f"{args.learning_json}: ablation ({args.set}) updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
