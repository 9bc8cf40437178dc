"""Score summaries and Lead baselines with ROUGE, side by side (the options: ``--help``; the formats and the
languages: seq2seq2seq/eval/cli.py and docs/evaluation.md).

    python scripts/evaluate_rouge.py --references ../shared/data/gigaword/test.jsonl \
        --predictions runs/model/test.txt --baseline lead-8 lead-10 lead-75c --json runs/model/rouge.json
    python scripts/evaluate_rouge.py --language zh --references zh_pairs.jsonl --predictions zh_summaries.jsonl
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while the libraries load: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import sys

from seq2seq2seq.eval.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
