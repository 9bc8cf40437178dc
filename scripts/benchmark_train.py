"""Training throughput per stage: examples per second for a config on this machine.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 \
        python scripts/benchmark_train.py --config scripts/configs/cpu.yaml --steps 20 --repeats 3

Builds the config's models (random weights), then times ``--steps`` optimizer steps of each stage after one
warm-up step, ``--repeats`` times, and prints the median examples/s (documents for G/R/adversarial, sentence pairs
for D). Uses the corpus folder of the config (``--data_dir`` to override). Nothing is saved.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import os
import statistics
import sys
import tempfile
import time
from functools import partial

import torch

from seq2seq2seq.config import ConfigError, load_config, parse_overrides
from seq2seq2seq.data import CorpusError, load_corpus
from seq2seq2seq.train import stages as train_stages
from seq2seq2seq.train.cli import ensure_corpus
from seq2seq2seq.train.trainer import Trainer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="scripts/configs/cpu.yaml")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per stage and repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args, rest = parser.parse_known_args(argv)
    torch.set_num_threads(args.threads)
    try:
        with tempfile.TemporaryDirectory() as out:
            cfg = load_config(args.config, {**parse_overrides(rest), "output_dir": out, "report_to": "none"})
            trainer = Trainer(cfg, load_corpus(ensure_corpus(cfg.data_dir), cfg.max_documents))
            stages = {
                "pretrain (G+R)": (partial(train_stages.pretrain_step, trainer), cfg.pretrain.batch_size),
                "pretrain_d (D)": (partial(train_stages.pretrain_d_step, trainer), cfg.pretrain_d.batch_size),
                "adversarial (G+R+D)": (partial(train_stages.adversarial_step, trainer), cfg.adversarial.batch_size),
            }
            a = cfg.gradient_accumulation_steps
            print(f"config {args.config}; threads {args.threads}; {a} micro-batch(es)/step; "
                  f"LD_PRELOAD={os.environ.get('LD_PRELOAD', '')!r}; torch {torch.__version__}")
            print(f"{'stage':<22}{'batch':>6}{'examples/s (median)':>22}{'all repeats':>30}")
            for name, (step_fn, batch) in stages.items():
                step_fn(0)  # warm-up: first-call allocations
                rates = []
                for r in range(args.repeats):
                    start = time.perf_counter()
                    for s in range(args.steps):
                        step_fn(1 + r * args.steps + s)
                    rates.append(args.steps * batch * a / (time.perf_counter() - start))
                print(f"{name:<22}{batch:>6}{statistics.median(rates):>22.1f}"
                      f"{', '.join(f'{x:.1f}' for x in rates):>30}")
    except (ConfigError, CorpusError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
