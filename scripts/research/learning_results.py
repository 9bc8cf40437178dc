"""Add a finished benchmark run to docs/results/learning.json (issue 32: G against the search it learned from).

    python scripts/research/learning_results.py runs/cpu_search_s0/report.json --seed 0
    python scripts/research/learning_results.py runs/len8/report.json --length 8
    python scripts/research/learning_results.py runs/round1/report.json --round 1
    python scripts/research/learning_results.py runs/no_fluency/report.json --ablation "without fluency"

A seed's entry reads the search's row (no model) from the same report: benchmark the run with
``--candidates 8 --candidates_with_rule --candidates_rule_samples 8`` and the search's scores for it to be there.
See seq2seq2seq/eval/learning_results.py for the file's layout.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while modules load: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import sys
from pathlib import Path

from seq2seq2seq.eval.learning_results import LearningResultsError, update


def main(argv: list[str] | None = None) -> int:
    """Add the report's entry; 0, or 2 with one error line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", help="a benchmark run's report.json")
    parser.add_argument("--out", default="docs/results/learning.json")
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--seed", type=int, help="the run is this seed of the recipe")
    kind.add_argument("--length", type=int, help="the run's G was asked for this many words")
    kind.add_argument("--round", type=int, help="the run is this round of expert iteration")
    kind.add_argument("--ablation", help="the run's targets left this selector out (a short name)")
    args = parser.parse_args(argv)
    try:
        report = json.loads(Path(args.report).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        print(f"error: cannot read {args.report} as a benchmark report ({error}); give a run's report.json",
              file=sys.stderr)
        return 2
    try:
        data = update(Path(args.out), seed=args.seed, length=args.length, round_number=args.round,
                      ablation=args.ablation, report=report)
    except (LearningResultsError, KeyError) as error:
        print(f"error: {args.report}: {error}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(data['seeds'])} seeds, lengths {sorted(data['lengths'], key=int)}, "
          f"{len(data['rounds'])} rounds, {len(data['ablation'])} ablations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
