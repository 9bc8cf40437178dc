"""Training curves of a run as one PNG: dev ROUGE-1/2/L, each reward, and the losses, over the steps of all stages.

    python scripts/plot_training.py runs/quickstart/train --out runs/quickstart/training_curves.png

Reads RUN/metrics.jsonl (every logged window: losses, rewards by name) and RUN/results.json (the dev evaluations),
both written by training; ``scripts/benchmark.py`` draws the same picture for its report
(seq2seq2seq/eval/training_curves.py). Needs matplotlib (`pip install -e '.[plot]'`).
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import sys
from pathlib import Path

from seq2seq2seq.eval.training_curves import plot_training


def main(argv: list[str] | None = None) -> int:
    """Draw the curves of the run named on the command line; 0 when written, 2 with an error line when not."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a training run folder (RUN/train for a benchmark run)")
    parser.add_argument("--out", default=None, help="PNG path (default: RUN/training_curves.png)")
    args = parser.parse_args(argv)
    try:
        path = plot_training(args.run, args.out or Path(args.run) / "training_curves.png")
    except ImportError:
        print("error: plotting needs matplotlib: pip install -e '.[plot]'", file=sys.stderr)
        return 2
    except (ValueError, OSError, json.JSONDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
