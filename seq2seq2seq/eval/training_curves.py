"""Training curves of a run as one PNG: dev ROUGE-1/2/L, each reward, and the losses, over the steps of all stages.

Reads RUN/metrics.jsonl (every logged window: losses, rewards by name) and RUN/results.json (the dev evaluations),
both written by training. ``scripts/plot_training.py`` is its command line; ``scripts/benchmark.py`` puts the
picture in its report. Needs matplotlib (``pip install -e '.[plot]'``).
"""

from __future__ import annotations

import json
from pathlib import Path

STAGE_COLOURS = {"pretrain": "#eef3fb", "pretrain_d": "#fbf3ea", "adversarial": "#eefaf0"}


def read_metrics(run: Path) -> list[dict]:
    """Every logged window of a run (RUN/metrics.jsonl), oldest first; none for a run that logged nothing."""
    path = run / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] \
        if path.is_file() else []


def stage_spans(rows: list[dict]) -> dict[str, tuple[int, int]]:
    """The global-step range each stage covered, from the logged windows."""
    spans: dict[str, tuple[int, int]] = {}
    for row in rows:
        start = row["global_step"] - row["step"]
        low, high = spans.get(row["stage"], (start, row["global_step"]))
        spans[row["stage"]] = (min(low, start), max(high, row["global_step"]))
    return spans


def plot_training(run: str | Path, out: str | Path) -> Path:
    """Write the PNG; raises ImportError without matplotlib and ValueError when the run logged nothing."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    run, out = Path(run), Path(out)
    rows = read_metrics(run)
    results = json.loads((run / "results.json").read_text(encoding="utf-8")) if (run / "results.json").is_file() else {}
    history = results.get("history", [])
    if not rows and not history:
        raise ValueError(f"{run} has no metrics.jsonl nor dev history to plot; train with a seq2seq2seq that logs them")
    panels = [("dev ROUGE F1 (x100)", [(f"dev/{k}", k) for k in ("rouge1", "rouge2", "rougeL")], history),
              ("rewards (adversarial stage, mean per sample)",
               sorted({(k, k.split("/")[1]) for row in rows for k in row if k.startswith("rewards/")}), rows),
              ("losses", sorted({(k, f"{row['stage']} {k}") for row in rows for k in row if k.startswith("loss/")}),
               rows)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 10), sharex=True)
    spans = stage_spans(rows)
    for ax, (title, series, source) in zip(axes, panels):
        for stage, (low, high) in spans.items():
            ax.axvspan(low, high, color=STAGE_COLOURS.get(stage, "#f4f4f4"), zorder=0)
        for key, label in series:
            points = [(r["global_step"], r[key]) for r in source if key in r
                      and (not label.startswith(tuple(STAGE_COLOURS)) or label.split()[0] == r.get("stage"))]
            if points:
                ax.plot(*zip(*points), marker="o" if source is history else None, markersize=3, label=label)
        ax.set_title(title, fontsize=10, pad=16 if ax is axes[0] else 6)  # room for the stage names on top
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8, loc="best")
    for stage, (low, high) in spans.items():
        axes[0].text((low + high) / 2, 1.02, stage, transform=axes[0].get_xaxis_transform(), ha="center", fontsize=8)
    axes[-1].set_xlabel("optimizer step (all stages)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
