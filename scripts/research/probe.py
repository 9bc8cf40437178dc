"""Probe an adversarial-stage recipe in minutes: continue a saved checkpoint for a few steps with other settings,
and compare dev ROUGE with where it started and with the source run's own continuation.

    python scripts/research/probe.py --checkpoint runs/cpu/train/checkpoints/step-00001500 --out runs/probe_gumbel \
        --steps 200 -- --adversarial.estimator gumbel --adversarial.length_weight 0

The checkpoint (G, R, D, optimizers, data position) is copied into OUT with the first lines of the source run's
metrics, and training resumes there under the source run's config plus the overrides after ``--``, for ``--steps``
adversarial steps (the learning rate schedule is warm-up then constant, so a short stage follows the same schedule
as the first steps of a long one). Dev ROUGE is measured every ``--eval_every`` steps. The source run is never
written to. Printed and saved to OUT/probe.json: dev ROUGE at the start, at each probe evaluation, and at the same
steps of the source run if it went on from that checkpoint with its own settings, beside the last logged rewards.
A checkpoint at the end of ``pretrain_d`` (the start of the adversarial stage) is the usual starting point.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import shutil
import sys
from pathlib import Path

from seq2seq2seq.checkpoint import STATE_FILE
from seq2seq2seq.train.cli import main as train_main
from seq2seq2seq.train.loop import METRICS_FILE

SHOWN = ("dev/rouge1", "dev/rouge2", "dev/rougeL", "dev/avg_words")
LOGGED = ("entropy", "summary/tokens", "reward/total/mean", "rewards/reconstruction/mean",
          "rewards/discriminator/mean", "examples_per_second")


def _adversarial_dev(history: list[dict], after: int) -> dict[int, dict]:
    return {row["step"]: row for row in history if row.get("stage") == "adversarial" and row["step"] > after}


def _row(label: str, entry: dict | None) -> str:
    cells = [f"{entry[k]:.2f}" if entry and k in entry else "" for k in SHOWN]
    return f"| {label} | " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     usage="%(prog)s --checkpoint CKPT --out OUT [--steps N] [-- --key value ...]")
    parser.add_argument("--checkpoint", required=True, help="a checkpoint folder, RUN/checkpoints/step-NNNNNNNN")
    parser.add_argument("--out", required=True, help="a new folder for the probe run")
    parser.add_argument("--steps", type=int, default=200, help="adversarial steps to run from the checkpoint")
    parser.add_argument("--eval_every", type=int, default=100, help="dev ROUGE every N of those steps")
    args, overrides = parser.parse_known_args(argv)
    overrides = [o for o in overrides if o != "--"]
    checkpoint, out = Path(args.checkpoint), Path(args.out)
    run = checkpoint.parent.parent
    if args.steps < 1 or args.eval_every < 1:
        print("error: --steps and --eval_every must be positive, e.g. --steps 200 --eval_every 100", file=sys.stderr)
        return 2
    if not (checkpoint / STATE_FILE).is_file() or not (run / "config.yaml").is_file():
        print(f"error: {checkpoint} is not a checkpoint of a run folder (expected RUN/checkpoints/step-NNNNNNNN with "
              f"{STATE_FILE}, and RUN/config.yaml); list them with `ls RUN/checkpoints`", file=sys.stderr)
        return 2
    if out.exists() and any(out.iterdir()):
        print(f"error: {out} is not empty; choose another --out (the probe never writes over a folder)",
              file=sys.stderr)
        return 2
    state = json.loads((checkpoint / STATE_FILE).read_text(encoding="utf-8"))
    if state["stage"] == "pretrain":
        print(f"error: {checkpoint} is in the pre-training stage; a probe continues the adversarial stage, so start "
              f"from a checkpoint at or after the end of pretrain_d", file=sys.stderr)
        return 2
    start = state["step"] if state["stage"] == "adversarial" else 0

    # the probe's own run folder: the checkpoint, and the source run's metrics up to it (for the curves)
    shutil.copytree(checkpoint, out / "checkpoints" / checkpoint.name)
    if (run / METRICS_FILE).is_file():
        lines = (run / METRICS_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.strip() and json.loads(line)["global_step"] <= state["global_step"]]
        (out / METRICS_FILE).write_text("".join(kept), encoding="utf-8")
    # the overrides are the probe's point: each is recorded in OUT/config.yaml with the step it takes effect
    code = train_main(["--config", str(run / "config.yaml"), "--output_dir", str(out), "--resume",
                       "--resume-with-changes",
                       "--adversarial.steps", str(start + args.steps), "--eval_every", str(args.eval_every),
                       *overrides])
    if code != 0:
        return code

    results = json.loads((out / "final" / "results.json").read_text(encoding="utf-8"))
    probe = _adversarial_dev(results["history"], start)
    source = run / "final" / "results.json"
    reference = (_adversarial_dev(json.loads(source.read_text(encoding="utf-8"))["history"], start)
                 if source.is_file() else {})
    first = state["history"][-1] if state["history"] else None
    last_logged = {}
    for line in (out / METRICS_FILE).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["stage"] == "adversarial":
            last_logged = {k: row[k] for k in LOGGED if k in row}
    report = {"checkpoint": str(checkpoint), "overrides": overrides, "steps": args.steps,
              "start": first, "probe": list(probe.values()),
              "source_run_same_steps": [reference[s] for s in probe if s in reference], "last_logged": last_logged}
    (out / "probe.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    print(f"\nprobe of {checkpoint} with {' '.join(overrides) or 'the same settings'}\n")
    print("| dev | R-1 | R-2 | R-L | words |\n|---|---:|---:|---:|---:|")
    label = f"{first['stage']} step {first['step']}" if first else "the checkpoint"
    print(_row(f"start ({label})", first))
    for step, entry in probe.items():
        print(_row(f"probe, adversarial step {step}", entry))
        if step in reference:
            print(_row(f"source run, adversarial step {step}", reference[step]))
    print("\nlast logged: " + ", ".join(f"{k} {v:.3g}" for k, v in last_logged.items()))
    print(f"saved: {out / 'probe.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
