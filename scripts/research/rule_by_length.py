"""The headline-deletion rule (G's pre-training teacher, made deterministic) cut to several lengths, scored with the
same protocol as every system here: how much of a ROUGE difference between two summarizers is length alone.

    python scripts/research/rule_by_length.py --data_dir runs/corpus --words 8 9 10 11 12

At headline lengths ROUGE F1 rises with every word a summary adds (the references average 8.2 words, and a longer
summary gains more recall than it loses precision), so compare a model with the rule at the model's own length
(the benchmark's "headline-deletion at the model's lengths" row), not only with the 10-word rule.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import sys
from pathlib import Path

from seq2seq2seq.config import ConfigError, PretrainConfig, load_config
from seq2seq2seq.eval.baselines import read_pairs, rule_summaries
from seq2seq2seq.paths import shared_data_dir


def main(argv: list[str] | None = None) -> int:
    """Print the rule's ROUGE at each length on dev and test; 0, or 2 with an error line when there is nothing
    to read."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default="runs/corpus", help="the corpus (its word statistics and dev.jsonl)")
    parser.add_argument("--config", default=None, help="a training config whose pretrain.headline_* settings to use "
                                                       "(default: the built-in ones)")
    parser.add_argument("--words", type=int, nargs="+", default=[8, 9, 10, 11, 12], help="lengths in words")
    parser.add_argument("--dev_size", type=int, default=500, help="first N rows of DATA/dev.jsonl (0: all)")
    parser.add_argument("--test", default=None, help="test pairs, JSON lines with document and summary "
                                                     "(default: the shared Gigaword test set)")
    args = parser.parse_args(argv)
    if any(w < 1 for w in args.words):
        print("error: --words must be positive word counts, e.g. --words 9 10 11", file=sys.stderr)
        return 2
    from seq2seq2seq.data import CorpusError, headline_word_stats, load_corpus
    from seq2seq2seq.eval.rouge import format_table, score_summaries
    from seq2seq2seq.normalize import normalize

    try:
        pretrain = load_config(args.config).pretrain if args.config else PretrainConfig()
        stats = headline_word_stats(load_corpus(args.data_dir))
    except (ConfigError, CorpusError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    sets = {}
    dev = Path(args.data_dir) / "dev.jsonl"
    if dev.is_file():
        sets["dev"] = read_pairs(dev, args.dev_size or None)
    test = Path(args.test) if args.test else shared_data_dir() / "gigaword" / "test.jsonl"
    if test.is_file():
        sets["test"] = read_pairs(test)
    if not sets:
        print(f"error: neither {dev} nor {test} exists; build the corpus with `python -m data_prep` or pass --test",
              file=sys.stderr)
        return 2
    for name, (documents, references) in sets.items():
        normalised = [normalize(d) for d in documents]
        rows = {f"rule, {w} words": score_summaries(rule_summaries(normalised, stats, pretrain, words=w), references)
                for w in args.words}
        print(f"### {name} ({len(documents)} examples)\n\n```\n{format_table(rows)}\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
