"""The label-efficiency curve: how many (document, summary) pairs a user needs, with and without the cycle.

    python scripts/research/benchmark_semi.py --config scripts/configs/quickstart.yaml --run_dir runs/semi \\
        --sizes 0,100,1000,10000 --results_json docs/results/semi.json

For each N of --sizes, two runs of scripts/benchmark.py (same model, same config, about the same wall-clock):
  semi        seq2seq2seq semi-supervised: the first N pairs + the unpaired corpus through all three stages
              (N = 0 is the unsupervised mode);
  supervised  G trained on the N pairs alone (``supervised.pretrain_share: 1``, pre-training only, R and D off),
              for --supervised_steps steps, dev-selected every fifth of them.
The pairs are Gigaword train10k rows, the unpaired corpus is the default recipe built without train10k
(``python -m data_prep --gigaword-train-rows 0``), so no pair's document or title is in the corpus; rows whose text
is held out (test set, dev slice) or is in the corpus anyway (Gigaword repeats titles) are dropped first, in file
order, and counted in the report. Writes RUN/report.md, RUN/label_efficiency.png and the results JSON.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import subprocess
import sys
from pathlib import Path

from seq2seq2seq.paths import shared_data_dir

ROOT = Path(__file__).resolve().parent.parent.parent  # the checkout: scripts/research/ is two folders down

SCORES = ("rouge1", "rouge2", "rougeL")
LINES = {"lead-8": "Lead-8", "headline-deletion (no model)": "headline-deletion rule"}


def clean_pairs(source: Path, corpus: Path, out: Path) -> dict:
    """Write the rows of ``source`` whose normalised document and summary are neither held out by the corpus nor
    among its documents or sentences to ``out`` (in file order); returns the counts."""
    from seq2seq2seq.corpus_files import iter_texts
    from seq2seq2seq.normalize import normalize, text_digest
    from seq2seq2seq.supervised import held_out_digests

    held_out = held_out_digests(corpus) or set()
    in_corpus = {text for kind in ("documents", "sentences") for text in iter_texts(corpus, kind)}
    kept, dropped = [], {"held_out": 0, "in_corpus": 0, "empty_or_longer_summary": 0}
    for line in source.open(encoding="utf-8"):
        row = json.loads(line)
        doc, summary = normalize(row["document"]), normalize(row["summary"])
        if not doc or not summary or len(summary.split()) > len(doc.split()):
            dropped["empty_or_longer_summary"] += 1
        elif text_digest(doc) in held_out or text_digest(summary) in held_out:
            dropped["held_out"] += 1
        elif doc in in_corpus or summary in in_corpus:
            dropped["in_corpus"] += 1
        else:
            kept.append({"document": row["document"], "summary": row["summary"]})
    out.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    return {"source": str(source), "rows": len(kept) + sum(dropped.values()), "kept": len(kept), "dropped": dropped}


def run_overrides(mode: str, n: int, pairs: Path, supervised_steps: int) -> list[str]:
    """benchmark.py overrides of one point of the curve."""
    if n == 0:
        return []
    extra = ["--supervised.pairs", str(pairs), "--supervised.max_pairs", str(n)]
    if mode == "supervised":
        extra += ["--supervised.pretrain_share", "1", "--supervised.discriminator", "false",
                  "--pretrain.train_reconstructor", "false", "--pretrain.steps", str(supervised_steps),
                  "--pretrain_d.steps", "0", "--adversarial.steps", "0",
                  "--eval_every", str(max(supervised_steps // 5, 1))]
    return extra


def _row(scores: dict) -> dict:
    return {key: round(scores[key], 2) for key in SCORES} | {"words": round(scores["avg_words"], 2)}


def plot_curve(results: dict, lines: dict, path: Path) -> None:
    """R-1 against N (log axis, N = 0 drawn at the left edge), both modes, with the baselines as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(int(n) for n in results)
    positive = [n for n in sizes if n > 0] or [1]
    zero_at = min(positive) / 3
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for mode, style in (("semi", "o-"), ("supervised", "s--")):
        points = [(n or zero_at, results[str(n)][mode]["rouge1"]) for n in sizes if mode in results[str(n)]]
        if points:
            ax.plot(*zip(*points), style, label="seq2seq2seq semi-supervised" if mode == "semi" else
                    "supervised only (the pairs alone)")
    for (name, value), color in zip(lines.items(), ("grey", "tab:red", "tab:green")):
        ax.axhline(value, color=color, linestyle=":", label=name)
    ax.set_xscale("log")
    ax.set_xticks([zero_at, *positive], ["0", *(f"{n:,}" for n in positive)])
    ax.set_xlabel("labelled pairs N")
    ax.set_ylabel("Gigaword test ROUGE-1")
    ax.set_title("Label efficiency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "scripts/configs/quickstart.yaml"))
    parser.add_argument("--run_dir", default=str(ROOT / "runs/semi"))
    parser.add_argument("--data_dir", default=str(ROOT / "runs/corpus_semi"),
                        help="unpaired corpus without train10k (built with --gigaword-train-rows 0 when missing)")
    parser.add_argument("--pairs", default=str(shared_data_dir() / "gigaword" / "train10k.jsonl"))
    parser.add_argument("--sizes", default="0,100,1000,10000", help="comma-separated N")
    parser.add_argument("--modes", default="semi,supervised")
    parser.add_argument("--supervised_steps", type=int, default=1000,
                        help="pre-training steps of the supervised-only runs (size them to the semi runs' wall-clock)")
    parser.add_argument("--results_json", default=None, help="e.g. docs/results/semi.json")
    parser.add_argument("--report_only", action="store_true",
                        help="only collect the finished runs' reports into the table, the plot and the JSON")
    parser.add_argument("--reference", action="append", default=[], metavar="NAME=R1",
                        help="an extra horizontal line on the plot, e.g. 'unsupervised cpu model=26.69'")
    args, rest = parser.parse_known_args(argv)
    run_dir, data_dir = Path(args.run_dir), Path(args.data_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (data_dir / "manifest.json").is_file():
        command = [sys.executable, "-m", "data_prep", "--out", str(data_dir), "--gigaword-train-rows", "0"]
        print("+", " ".join(command), flush=True)
        if subprocess.call(command, cwd=ROOT) != 0:
            return 1
    pairs = run_dir / "pairs.jsonl"
    pairs_info = clean_pairs(Path(args.pairs), data_dir, pairs)
    print(f"pairs: {pairs_info}", flush=True)
    sizes = [int(n) for n in args.sizes.split(",")]
    if max(sizes) > pairs_info["kept"]:  # e.g. 10,000 of train10k's rows minus the few that are held out
        print(f"note: --sizes asks for {max(sizes)} pairs but {pairs_info['kept']} are usable: that point uses all "
              f"{pairs_info['kept']} (recorded as its 'pairs')", flush=True)
    results: dict[str, dict] = {}
    lines: dict[str, float] = {}
    for n in sizes:
        for mode in args.modes.split(","):
            if n == 0 and mode == "supervised":
                continue  # nothing to learn from
            folder = run_dir / f"{mode}-{n}"
            used = min(n, pairs_info["kept"])
            command = [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "--config", args.config,
                       "--run_dir", str(folder), "--data_dir", str(data_dir),
                       *run_overrides(mode, used, pairs, args.supervised_steps), *rest]
            if args.report_only:
                if not (folder / "report.json").is_file():
                    print(f"note: no {folder / 'report.json'} yet: N = {n} {mode} left out", file=sys.stderr)
                    continue
            else:
                print("+", " ".join(command), flush=True)
                if subprocess.call(command, cwd=ROOT) != 0:
                    print(f"error: the {mode} run with N = {n} failed; see above", file=sys.stderr)
                    return 1
            report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
            test = report["scores"]["test"]
            # the stages' own seconds (a re-scored run's wall-clock would be 0)
            seconds = sum(t["seconds"] for t in report["training"]["throughput"].values())
            results.setdefault(str(n), {})[mode] = {**_row(test["seq2seq2seq"]), "pairs": used,
                                                     "train_seconds": round(seconds)}
            lines.update({label: test[name]["rouge1"] for name, label in LINES.items() if name in test})
    for spec in args.reference:
        name, _, value = spec.rpartition("=")
        lines[name] = float(value)
    table = ["| N pairs | mode | R-1 | R-2 | R-L | words | training s |", "|---:|---|---:|---:|---:|---:|---:|"]
    table += [f"| {r['pairs']} | {mode} | {r['rouge1']:.2f} | {r['rouge2']:.2f} | {r['rougeL']:.2f} | "
              f"{r['words']:.2f} | {r['train_seconds']} |" for modes in results.values() for mode, r in modes.items()]
    markdown = (f"# Label efficiency: {Path(args.config).name}\n\nPairs: {json.dumps(pairs_info)}\n\n"
                + "\n".join(table) + "\n\nBaselines (test R-1): "
                + ", ".join(f"{k} {v:.2f}" for k, v in lines.items()) + "\n")
    try:
        plot_curve(results, lines, run_dir / "label_efficiency.png")
        markdown += "\n![R-1 against N](label_efficiency.png)\n"
    except ImportError:
        print("note: no label_efficiency.png (needs matplotlib: pip install -e '.[plot]')", file=sys.stderr)
    (run_dir / "report.md").write_text(markdown, encoding="utf-8")
    if args.results_json:
        path = Path(args.results_json)
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        for n, modes in results.items():
            data.setdefault(n, {}).update(modes)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dict(sorted(data.items(), key=lambda kv: int(kv[0]))), indent=2) + "\n",
                        encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
