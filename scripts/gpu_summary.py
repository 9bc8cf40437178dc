"""The GPU check's summary of training runs, one line each: examples/s per stage, dev ROUGE, peak GPU memory.

    python scripts/gpu_summary.py runs/gpu_check/smoke runs/gpu_check/gpu

It reads what a run leaves even when it was cut off: RUN/metrics.jsonl (throughput, peak memory) and RUN/train.log
(dev ROUGE lines), so a run stopped by the check's time limit is still reported.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while starting: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import re
import sys
from pathlib import Path

DEV_LINE = re.compile(r"dev at (\w+) step (\d+): (.*)")


def summarize_run(run: Path) -> dict:
    """Per stage: steps logged, the last examples/s, the highest peak memory; and the last dev ROUGE."""
    stages: dict[str, dict] = {}
    metrics = run / "metrics.jsonl"
    if metrics.is_file():
        for line in metrics.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            stage = stages.setdefault(row["stage"], {"steps": 0, "examples_per_second": None, "peak_memory_gb": None})
            stage["steps"] = row["step"]
            stage["examples_per_second"] = row.get("examples_per_second")
            if row.get("peak_memory_gb") is not None:
                stage["peak_memory_gb"] = max(stage["peak_memory_gb"] or 0.0, row["peak_memory_gb"])
    dev = None
    log = run / "train.log"
    if log.is_file():
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            found = DEV_LINE.search(line)
            if found:
                scores = dict(kv.split("=") for kv in found.group(3).split(", "))
                dev = {"stage": found.group(1), "step": int(found.group(2)),
                       **{k.removeprefix("dev/"): float(v) for k, v in scores.items()}}
    return {"run": str(run), "finished": (run / "final" / "results.json").is_file(), "stages": stages, "dev": dev}


def format_summary(summary: dict) -> str:
    parts = [f"{summary['run']}: {'finished' if summary['finished'] else 'cut off'}"]
    for name, stage in summary["stages"].items():
        speed = stage["examples_per_second"]
        memory = stage["peak_memory_gb"]
        parts.append(f"{name} {stage['steps']} steps {speed:.1f} ex/s" + (f" {memory:.1f} GB" if memory else ""))
    dev = summary["dev"]
    if dev:
        parts.append(f"dev R-1/R-2/R-L {dev.get('rouge1', 0):.2f}/{dev.get('rouge2', 0):.2f}/{dev.get('rougeL', 0):.2f} "
                     f"({dev.get('avg_words', 0):.1f} words) at {dev['stage']} step {dev['step']}")
    return " | ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run folders")
    args = parser.parse_args(argv)
    missing = [str(run) for run in args.runs if not run.is_dir()]
    for run in args.runs:
        if run.is_dir():
            summary = summarize_run(run)
            print(format_summary(summary))
            print("json:", json.dumps(summary))
    if missing:
        print(f"error: no run folder at {', '.join(missing)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
