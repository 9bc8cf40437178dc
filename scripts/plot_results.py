"""The headline results as one picture: Gigaword test ROUGE-1 and ROUGE-2 against words per summary.

    python scripts/plot_results.py                                  # docs/results/*.json -> docs/results/results.png
    python scripts/plot_results.py --results_dir DIR --out FILE.png
    python scripts/plot_results.py --table                          # the systems as a markdown table, no picture
    python scripts/plot_results.py --lengths [--table]              # learning.json's lengths -> lengths.png

Reads ``cpu.json`` (the ``cpu`` recipe's three seeds: the rule, the greedy G, the search around the rule) and
``quickstart.json`` (the main job's three seeds), both written by ``scripts/benchmark.py --results_json`` /
``--collect``. The figures that are in neither file are constants below, each with the text it is quoted from: the
Lead baselines, the rule cut to fixed lengths, the search without G, and other systems' re-scored results. ROUGE F1
at headline lengths rises about one R-1 point a word, so each system is drawn at its average length. Needs
matplotlib (`pip install -e '.[plot]'`) for the picture, not for ``--table``.

With ``--lengths``: ``learning.json``'s ``lengths`` (``scripts/research/learning_results.py --length N``): G asked
for N words, the rule cut to G's lengths and the search around the rule at N words, ROUGE-1 and ROUGE-2 against
words, one line each.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while matplotlib loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import io
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ("cpu.json", "quickstart.json")

# Lead baselines on Gigaword test: ../shared/docs/evaluation.md ("Baselines"), reproduced in every benchmark report
# (docs/lab/recipes.md, "Quality: the `cpu` configuration").
LEADS = [{"label": "Lead-8", "rouge1": 21.30, "rouge2": 7.35, "rougeL": 19.95, "words": 7.89},
         {"label": "Lead-10", "rouge1": 22.94, "rouge2": 7.89, "rougeL": 21.21, "words": 9.83}]
# The headline-deletion rule cut to 8-12 words (`python scripts/research/rule_by_length.py --words 8 9 10 11 12`):
# docs/lab/adversarial.md, "How much of the gap to the rule is length". (words, R-1, R-2)
RULE_BY_LENGTH = [(7.81, 26.03, 9.62), (8.75, 27.03, 9.99), (9.68, 27.86, 10.30), (10.59, 28.43, 10.49),
                  (11.48, 28.75, 10.62)]
# The search around the rule without G (the rule's summary and 8 variants at temperature 0.5, chosen by
# similarity + 0.5 fluency + 0.5 headline), seed 0: docs/lab/search.md, "A search around the rule".
SEARCH_WITHOUT_G = {"label": "the search around the rule, no G (seed 0)", "rouge1": 28.91, "rouge2": 10.37,
                    "rougeL": 25.99, "words": 9.68}
# Other systems' released test outputs re-scored with the project's protocol: ../shared/docs/evaluation.md
# ("Published results", the "re-scored" rows with a length). SEQ3 (14.94 words, 1,897 rows) is left off the
# picture's length range.
PEERS = [{"label": "MSRP, SBERT, 10 words", "rouge1": 30.64, "rouge2": 12.27, "rougeL": 27.83, "words": 9.77},
         {"label": "MSRP, 10 words", "rouge1": 29.88, "rouge2": 11.84, "rougeL": 27.10, "words": 9.92},
         {"label": "MSRP, 8 words", "rouge1": 29.01, "rouge2": 11.41, "rougeL": 26.74, "words": 7.95},
         {"label": "NAUS, 10 words", "rouge1": 28.30, "rouge2": 9.95, "rougeL": 25.51, "words": 9.67},
         {"label": "NAUS, 8 words", "rouge1": 27.92, "rouge2": 9.31, "rougeL": 25.40, "words": 7.79},
         {"label": "Zhou & Rush 2019", "rouge1": 26.49, "rouge2": 10.06, "rougeL": 24.43, "words": 9.31}]
SCORES = ("rouge1", "rouge2", "rougeL", "words")


class ResultsError(ValueError):
    """A results file is missing or lacks what the picture needs; the message says which and how to make it."""


def load_results(results_dir: str | Path) -> dict[str, dict]:
    """``{"cpu": ..., "quickstart": ...}`` from the folder's JSON files."""
    results_dir, loaded = Path(results_dir), {}
    for name in FILES:
        path = results_dir / name
        if not path.is_file():
            raise ResultsError(f"{path} not found: it is written by `python scripts/benchmark.py --collect "
                               f"RUN/report.json ... --results_json {path}` (see docs/results.md); pass "
                               f"--results_dir to read another folder")
        try:
            loaded[name.removesuffix(".json")] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ResultsError(f"{path} is not valid JSON: {err}") from None
    return loaded


def _scores(entry: dict, where: str) -> dict[str, float]:
    missing = [key for key in SCORES if key not in entry]
    if missing:
        raise ResultsError(f"{where} lacks {', '.join(missing)}")
    return {key: float(entry[key]) for key in SCORES}


def _get(data: dict, path: str, file: str) -> dict:
    node = data
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise ResultsError(f"{file} has no '{path}'; re-collect it with `python scripts/benchmark.py --collect`")
        node = node[key]
    return node


def mean_of_seeds(data: dict, part: str, file: str) -> dict[str, float]:
    """The mean over ``data["seeds"]`` of each seed's ``part`` (e.g. "final"), rounded as the reports round."""
    seeds = data.get("seeds") or []
    if not seeds:
        raise ResultsError(f"{file} has no seeds")
    rows = [_scores(_get(seed, part, file), f"{file} seed {seed.get('seed')} '{part}'") for seed in seeds]
    return {key: round(sum(row[key] for row in rows) / len(rows), 2) for key in SCORES}


def systems(results: dict[str, dict]) -> list[dict]:
    """The systems of the headline table, in its order: label, scores, kind (baseline / ours / peer), source."""
    cpu, quick = results["cpu"], results["quickstart"]
    n_cpu, n_quick = len(cpu.get("seeds") or []), len(quick.get("seeds") or [])
    rule = _scores(_get(cpu, "seeds", "cpu.json")[0]["rule"], "cpu.json seed 0 'rule'")
    out = [dict(lead, kind="baseline", source="../shared/docs/evaluation.md") for lead in LEADS]
    out += [
        dict(label="headline-deletion rule, 10 words (no model)", kind="baseline", source="cpu.json", **rule),
        dict(label=f"quickstart main job, dev-selected G (mean of {n_quick} seeds)", kind="ours",
             source="quickstart.json", **mean_of_seeds(quick, "final", "quickstart.json")),
        dict(label=f"cpu recipe, pre-trained G, greedy (mean of {n_cpu} seeds)", kind="ours", source="cpu.json",
             **_scores(_get(cpu, "summary.mean.pretrained", "cpu.json"), "cpu.json summary")),
        dict(label=f"cpu recipe, G, greedy (mean of {n_cpu} seeds)", kind="ours", source="cpu.json",
             **_scores(_get(cpu, "summary.mean.final", "cpu.json"), "cpu.json summary")),
        dict(label=f"the search around the rule, with G (mean of {n_cpu} seeds)", kind="ours", source="cpu.json",
             **_scores(_get(cpu, "summary.chosen_with_rule.mean.final", "cpu.json"), "cpu.json summary")),
        dict(SEARCH_WITHOUT_G, kind="ours", source="docs/lab/search.md"),
    ]
    out += [dict(peer, kind="peer", source="../shared/docs/evaluation.md (re-scored)") for peer in PEERS]
    return out


def markdown_table(rows: list[dict]) -> str:
    lines = ["| system | R-1 | R-2 | R-L | words | source |", "|---|---:|---:|---:|---:|---|"]
    lines += [f"| {r['label']} | {r['rouge1']:.2f} | {r['rouge2']:.2f} | {r['rougeL']:.2f} | {r['words']:.2f} | "
              f"{r['source']} |" for r in rows]
    return "\n".join(lines)


# how each system is drawn (by the start of its label); peers are grey and hollow
STYLES = [("Lead", dict(marker="s", color="#555555", s=50)),
          ("headline-deletion rule", dict(marker="D", color="black", s=55)),
          ("quickstart", dict(marker="o", color="#9ecae1", s=65, edgecolors="#3182bd")),
          ("cpu recipe, pre-trained G", dict(marker="o", color="white", s=65, edgecolors="#3182bd", linewidths=1.5)),
          ("cpu recipe, G", dict(marker="o", color="#3182bd", s=65)),
          ("the search around the rule, with G", dict(marker="*", color="#d62728", s=220, zorder=5)),
          ("the search around the rule, no G", dict(marker="o", color="none", s=320, edgecolors="#ff7f0e",
                                                     linewidths=2, zorder=4))]
PEER_MARKERS = {"MSRP": "v", "NAUS": "^", "Zhou": "<"}
CROWDED = (9.45, 10.05)  # systems at about 10 words: labelled in a column at the right, with leader lines
X_RANGE = (7.4, 12.6)
COLUMN_X = 10.45  # where the crowded column's labels start (words)


SHORT = {"headline-deletion rule": "the rule, 10 words", "quickstart": "quickstart main job",
         "cpu recipe, pre-trained G": "cpu recipe, pre-trained G", "cpu recipe, G": "cpu recipe, G greedy",
         "the search around the rule, with G": "search around the rule, with G",
         "the search around the rule, no G": "search around the rule, no G"}


def _short(label: str) -> str:
    """The picture's label: the table's, shortened, with its seeds as "(3 seeds)" or "(seed 0)"."""
    short = next((short for prefix, short in SHORT.items() if label.startswith(prefix)), None)
    if short is None:
        return label
    mean = re.search(r"\(mean of (\d+) seeds\)", label)
    if mean:
        return f"{short} ({mean.group(1)} seeds)"
    seed = re.search(r"\((seed \d+)\)", label)
    return f"{short} ({seed.group(1)})" if seed else short


def _style(row: dict) -> dict:
    if row["kind"] == "peer":
        marker = next((m for prefix, m in PEER_MARKERS.items() if row["label"].startswith(prefix)), "o")
        return dict(marker=marker, color="none", edgecolors="#888888", s=55, linewidths=1.3)
    return dict(next(style for prefix, style in STYLES if row["label"].startswith(prefix)))


def _spread(wanted: list[float], gap: float, low: float = 0.03, high: float = 0.97) -> list[float]:
    """Positions (axes fractions) as close to ``wanted`` (sorted) as a minimum ``gap`` between neighbours allows."""
    placed: list[float] = []
    for y in wanted:
        placed.append(max(y, placed[-1] + gap) if placed else max(y, low))
    overflow = placed[-1] - high if placed else 0.0
    if overflow > 0:  # push the column down as a whole, keeping the gaps
        placed = [y - overflow for y in placed]
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - gap)
    return placed


def _draw(ax, rows: list[dict], key: str, index: int) -> None:
    words, values = [p[0] for p in RULE_BY_LENGTH], [p[index] for p in RULE_BY_LENGTH]
    ax.plot(words, values, ":", color="black", linewidth=1, zorder=1, label="the headline-deletion rule at 8-12 words")
    low, high = min(r[key] for r in rows), max(r[key] for r in rows)
    pad = (high - low) * 0.06
    ax.set_ylim(low - pad, high + pad)
    ax.set_xlim(*X_RANGE)
    for row in rows:
        ax.scatter(row["words"], row[key], **{"zorder": 3, **_style(row)})
    column_x = (COLUMN_X - X_RANGE[0]) / (X_RANGE[1] - X_RANGE[0])
    crowded = sorted((r for r in rows if CROWDED[0] <= r["words"] <= CROWDED[1]), key=lambda r: r[key])
    to_axes = ax.transData + ax.transAxes.inverted()
    wanted = [to_axes.transform((r["words"], r[key]))[1] for r in crowded]
    for row, y in zip(crowded, _spread(wanted, gap=0.052)):
        ax.annotate(_short(row["label"]), (row["words"], row[key]), xytext=(column_x, y),
                    textcoords="axes fraction", fontsize=8, va="center",
                    color="#666666" if row["kind"] == "peer" else "black",
                    bbox=dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none", alpha=0.6),
                    arrowprops=dict(arrowstyle="-", color="#aaaaaa", linewidth=0.7, shrinkA=1, shrinkB=5))
    for row in rows:
        if row in crowded:
            continue
        left = row["label"].startswith("Zhou")  # its right side is the crowded column
        ax.annotate(_short(row["label"]), (row["words"], row[key]), xytext=(-7, -4) if left else (7, -3),
                    textcoords="offset points", fontsize=8, ha="right" if left else "left",
                    color="#666666" if row["kind"] == "peer" else "black")


def plot(rows: list[dict], out: str | Path) -> Path:
    """R-1 and R-2 against words per summary, one panel each; raises ImportError without matplotlib."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    out = Path(out)
    fig, axes = plt.subplots(1, 2, figsize=(13, 6.2))
    for ax, (key, name, index) in zip(axes, (("rouge1", "ROUGE-1", 1), ("rouge2", "ROUGE-2", 2))):
        _draw(ax, rows, key, index)
        ax.set_xlabel("average words per summary")
        ax.set_ylabel(f"{name} F1 (x 100)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(handles=[ax.get_lines()[0],
                           plt.Line2D([], [], marker="o", color="#3182bd", linestyle="none", label="this project"),
                           plt.Line2D([], [], marker="^", color="#888888", markerfacecolor="none", linestyle="none",
                                      label="other systems, re-scored")], loc="lower right", fontsize=8)
    fig.suptitle("Gigaword test (1,951 pairs): ROUGE against summary length", fontsize=12)
    fig.text(0.5, 0.015, "Sources: docs/results/cpu.json and quickstart.json; docs/lab/ (Lead, the rule at 8-12 "
             "words, the search without G); ../shared/docs/evaluation.md (other systems' outputs re-scored with the "
             "same protocol). Table: docs/results.md.", ha="center", fontsize=8, color="#444444")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return save_png(fig, out)


def save_png(fig, out: Path) -> Path:
    """Write ``fig`` to ``out`` as a small PNG (64 colours) and close it."""
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=90, format="png")
    plt.close(fig)
    from PIL import Image  # a dependency of matplotlib

    buffer.seek(0)
    with Image.open(buffer) as image:  # 64 colours are enough for a plot: a third of the bytes, committed
        image.convert("RGB").quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)
    return out


LENGTH_SYSTEMS = (("g", "G asked for N words (one greedy pass)", "#3182bd", "o"),
                  ("rule", "the rule cut to G's lengths", "#e6550d", "s"),
                  ("search", "the search around the rule (no model), N words", "#31a354", "^"))


def length_rows(results_dir: str | Path) -> list[dict]:
    """One row per requested length of ``learning.json``: ``words`` (N) and each system's scores; ResultsError when
    there is none."""
    path = Path(results_dir) / "learning.json"
    try:
        lengths = json.loads(path.read_text(encoding="utf-8"))["lengths"]
    except (OSError, ValueError, KeyError) as err:
        raise ResultsError(f"cannot read the lengths of {path} ({err}): add runs with "
                           f"scripts/research/learning_results.py REPORT --length N") from None
    if not lengths:
        raise ResultsError(f"{path} has no lengths yet: add runs with scripts/research/learning_results.py "
                           f"RUN/report.wordsN.json --length N")
    return [{"words": int(n), **{key: entry[key] for key, *_ in LENGTH_SYSTEMS if key in entry}}
            for n, entry in sorted(lengths.items(), key=lambda item: int(item[0]))]


def lengths_table(rows: list[dict]) -> str:
    """The lengths as a markdown table: per N, each system's R-1 / R-2 / R-L (words)."""
    head = "| words asked for | " + " | ".join(name for _, name, *_ in LENGTH_SYSTEMS) + " |"
    lines = [head, "|---" * (len(LENGTH_SYSTEMS) + 1) + "|"]
    for row in rows:
        cells = [f"{row[k]['rouge1']:.2f} / {row[k]['rouge2']:.2f} / {row[k]['rougeL']:.2f} ({row[k]['words']:.1f})"
                 if k in row else "not measured" for k, *_ in LENGTH_SYSTEMS]
        lines.append(f"| {row['words']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_lengths(rows: list[dict], out: str | Path) -> Path:
    """ROUGE-1 and ROUGE-2 against words for G, the rule and the search at each length; ImportError without
    matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for ax, (key, name) in zip(axes, (("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"))):
        for system, label, color, marker in LENGTH_SYSTEMS:
            points = [(row[system]["words"], row[system][key]) for row in rows if system in row]
            if points:
                ax.plot(*zip(*points), marker=marker, color=color, label=label)
        ax.set_xlabel("average words per summary")
        ax.set_ylabel(f"{name} F1 (x 100)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("Gigaword test (1,951 pairs): the length the user asks for", fontsize=12)
    fig.text(0.5, 0.015, "Source: docs/results/learning.json (lengths), scripts/benchmark.py --words N.",
             ha="center", fontsize=8, color="#444444")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return save_png(fig, Path(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results_dir", default=str(ROOT / "docs" / "results"),
                        help="folder holding cpu.json and quickstart.json (and learning.json for --lengths)")
    parser.add_argument("--out", default=None,
                        help="the PNG to write (default: RESULTS_DIR/results.png, with --lengths lengths.png)")
    parser.add_argument("--table", action="store_true", help="print the systems as a markdown table and exit")
    parser.add_argument("--lengths", action="store_true",
                        help="learning.json's lengths instead: RESULTS_DIR/lengths.png (or --table)")
    args = parser.parse_args(argv)
    # the headline picture, or with --lengths the lengths asked for: rows, their table, their picture
    read, table, draw, name = ((length_rows, lengths_table, plot_lengths, "lengths.png") if args.lengths else
                               (lambda folder: systems(load_results(folder)), markdown_table, plot, "results.png"))
    try:
        rows = read(args.results_dir)
    except ResultsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.table:
        print(table(rows))
        return 0
    try:
        written = draw(rows, Path(args.out) if args.out else Path(args.results_dir) / name)
    except ImportError:
        print("error: the picture needs matplotlib: pip install -e '.[plot]'", file=sys.stderr)
        return 2
    print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
