"""The whole pipeline for one configuration, end to end, with a report.

    python scripts/benchmark.py --config scripts/configs/quickstart.yaml --run_dir runs/quickstart

1-2. data and training: `python -m seq2seq2seq.train` into RUN/train (resumed if it holds checkpoints, skipped if
     finished), which builds the config's corpus folder with `python -m data_prep` defaults if it is missing;
3. what is summarized and by what: the dev slice and the Gigaword test set; the best (dev-selected) summarizer, the
   pre-trained and the last G, the readability judge, and with --candidates the chooser among candidates;
4. summarize each set with each system, the headline-deletion rule and the Lead baselines among them;
5. score with ROUGE (and the judge's readability); 6. write RUN/report.md and RUN/report.json, print the tables
   and samples.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import dataclasses
import functools
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from seq2seq2seq.config import RESUME_CHANGES, ConfigError, load_config, parse_overrides
from seq2seq2seq.eval.baselines import lead_baseline, read_pairs, rule_summaries, rule_summaries_at_lengths
from seq2seq2seq.eval.seed_results import (
    HEADLINE_AT_LENGTH,
    HEADLINE_BASELINE,
    LAST_G,
    PRETRAINED_G,
    RULE_SEARCH,
    add_seed_results,
    choice_rank,
    dev_best_choices,
)
from seq2seq2seq.paths import shared_data_dir

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ("lead-8", "lead-10", "lead-75c")
# settings that change neither the trained models nor their selection
NOT_TRAINING = {"output_dir", "num_threads", "log_every", "sample_every", "report_to", "keep_checkpoints",
                "save_every"}


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in tree.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def changed_settings(requested, trained_config: Path) -> list[str]:
    """Training settings of ``requested`` that differ from those a finished run was trained with."""
    try:
        trained = _flat(load_config(trained_config).to_dict())
    except ConfigError as err:
        return [f"its {trained_config} is unreadable ({err})"]
    wanted = _flat(requested.to_dict())
    # a run resumed with --resume-with-changes trained under its recorded values only from the step each changed
    resumed = [f"{c['key']}: {c['old']!r} until {c['stage']} step {c['step']}, then {c['new']!r}"
               for c in resume_changes(trained_config) if c["key"].split(".")[-1] not in NOT_TRAINING]
    return resumed + [f"{key}: {trained.get(key)!r} -> {wanted.get(key)!r}"
                      for key in sorted(set(wanted) | set(trained))
                      if key.split(".")[-1] not in NOT_TRAINING and trained.get(key) != wanted.get(key)]


def resume_changes(trained_config: Path) -> list[dict]:
    """The settings a run changed on a resume (RUN/config.yaml's ``resume_changes``, written by seq2seq2seq.train)."""
    import yaml

    data = yaml.safe_load(trained_config.read_text(encoding="utf-8"))
    return list(data.get(RESUME_CHANGES) or []) if isinstance(data, dict) else []


def collect_reports(reports: list[Path], results_json: Path) -> int:
    """Add each finished run's test scores (its ``report.json``, under the seed of its config) to ``results_json``
    without re-running anything. Every report is read and checked before the file is written."""
    entries = {}
    for report_path in reports:
        try:
            report = json.loads(report_path.read_text(encoding="utf-8"))
            seed, test = int(report["config"]["seed"]), dict(report["scores"]["test"])
            readable = (report.get("readability") or {}).get("test")
            choice = report.get("choice")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            print(f"error: {report_path} is not a benchmark report.json with test scores ({err!r}); run "
                  f"scripts/benchmark.py on that run first", file=sys.stderr)
            return 2
        if seed in entries:
            print(f"error: {entries[seed][0]} and {report_path} are both seed {seed}; pass one report per seed",
                  file=sys.stderr)
            return 2
        entries[seed] = (report_path, test, readable, choice)
    for seed, (report_path, test, readable, choice) in entries.items():
        add_seed_results(results_json, seed, test, readable, choice)
        print(f"{report_path}: seed {seed} -> {results_json}")
    return 0


def _last(rows: list[list] | None, n: int) -> list[list] | None:
    """Each row's last ``n`` items (the rule's candidates); None stays None."""
    return None if rows is None else [row[-n:] for row in rows]


def _without_last(rows: list[list] | None, n: int = 1) -> list[list] | None:
    """Each row without its last ``n`` items (the rule's candidates); None stays None."""
    return None if rows is None else [row[:-n] for row in rows]


def _samples(documents: list[str], predictions: list[str], references: list[str], k: int = 5) -> dict:
    """k good and k bad examples by ROUGE-L F1 of each summary."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    scored = sorted((scorer.score(r, p)["rougeL"].fmeasure, i) for i, (p, r) in enumerate(zip(predictions, references)))
    pick = lambda idx: [{"document": documents[i], "summary": predictions[i], "reference": references[i],  # noqa: E731
                         "rougeL": round(100 * s, 1)} for s, i in idx]
    return {"good": pick(scored[::-1][:k]), "bad": pick(scored[:k])}


def beside_pretrained(documents: list[str], summaries: list[str], pretrained: list[str], references: list[str],
                      k: int = 10) -> list[dict]:
    """k documents spread evenly over the set (chosen by position, not by score), each with the final G's and the
    pre-trained G's summary and the reference: does the adversarial stage keep summaries readable, seen by eye."""
    n, k = len(documents), min(k, len(documents))
    return [{"document": documents[i], "pretrained": pretrained[i], "summary": summaries[i],
             "reference": references[i]} for i in (j * n // k for j in range(k))]


def beside_pretrained_table(rows: list[dict]) -> str:
    """The rows of :func:`beside_pretrained` as a markdown table (documents cut to 120 characters)."""
    cell = lambda text: text.replace("|", "\\|")  # noqa: E731
    lines = ["| document | pre-trained G | seq2seq2seq | reference |", "|---|---|---|---|"]
    lines += [f"| {cell(r['document'][:120])} | {cell(r['pretrained'])} | {cell(r['summary'])} | "
              f"{cell(r['reference'])} |" for r in rows]
    return "\n".join(lines)


def headline_stats(cfg):
    """Word statistics of the corpus for the no-model baseline (None when the corpus is unreadable)."""
    from seq2seq2seq.data import CorpusError, headline_word_stats, load_corpus

    try:
        corpus = load_corpus(cfg.data_dir)
    except CorpusError:
        return None
    return headline_word_stats(corpus)


def build_parser() -> argparse.ArgumentParser:
    """The options; anything else on the command line is a training override (``--adversarial.steps 5``)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "scripts/configs/quickstart.yaml"))
    parser.add_argument("--run_dir", default=None, help="default: runs/<config name>")
    parser.add_argument("--dev_size", type=int, default=None, metavar="N",
                        help="summarize and score the first N dev documents (default: the config's eval_size, "
                             "which training's evaluations use): more documents pick the choice on dev more surely")
    parser.add_argument("--test_limit", type=int, default=None, help="summarize only the first N test documents")
    parser.add_argument("--beams", type=int, default=None, help="beam size for dev/test summaries (default: config)")
    parser.add_argument("--candidates", type=int, default=0, metavar="K",
                        help="also score the dev-selected G choosing, per document, among its decoded summary and K "
                             "samples by sentence-embedding similarity to the document "
                             "(seq2seq2seq/inference/choose.py)")
    parser.add_argument("--candidates_no_longer", action="store_true",
                        help="with --candidates: only samples no longer (in words) than the decoded summary compete")
    parser.add_argument("--candidates_fluency_model", default="",
                        help="with --candidates: also rank by this language model of human sentences (a folder from "
                             "scripts/train_fluency_lm.py), z-scored per document and added to similarity's")
    parser.add_argument("--candidates_fluency_weight", type=float, nargs="+", default=[0.5], metavar="W",
                        help="with --candidates_fluency_model: the fluency score's weight against similarity's 1; "
                             "several weights give one row each from the same candidates (choose W on dev)")
    parser.add_argument("--candidates_headline_weight", type=float, nargs="+", default=[0.0], metavar="W",
                        help="with --candidates: the weight of the headline-vocabulary score (the corpus's word "
                             "counts: does a candidate keep the words headlines keep); several give one row each")
    parser.add_argument("--candidates_contiguity_weight", type=float, nargs="+", default=[0.0], metavar="W",
                        help="with --candidates: the weight of the contiguity score (the share of a candidate's word "
                             "pairs adjacent in the document); several give one row each")
    parser.add_argument("--candidates_temperature", type=float, default=1.0, metavar="T",
                        help="with --candidates: the samples' temperature (above 1: candidates that differ more)")
    parser.add_argument("--candidates_in_order", action="store_true",
                        help="with --candidates: G's own candidates (its summary and samples) keep the document's "
                             "word order (decoding.in_order: deletions of the document, as the rule's are); G alone "
                             "is scored as trained. Recorded with the choice by --record_choice")
    parser.add_argument("--candidates_sets", default="dev,test", help="with --candidates: the sets to score it on")
    parser.add_argument("--candidates_pretrained", action="store_true",
                        help="with --candidates: the same choice among the pre-trained G's own candidates too (the "
                             "fair control of the adversarial stage: what the choice alone gives)")
    parser.add_argument("--candidates_with_rule", action="store_true",
                        help="with --candidates: also rows where the rule's 10-word summary (the headline-deletion "
                             "row) is one more candidate, ranked by the same scores")
    parser.add_argument("--candidates_rule_samples", type=int, default=0, metavar="N",
                        help="with --candidates_with_rule: N variants of the rule (its deletion at "
                             "--candidates_rule_temperature) join its summary as candidates: a search around the rule")
    parser.add_argument("--candidates_rule_temperature", type=float, default=0.5, metavar="T",
                        help="with --candidates_rule_samples: how freely the variants keep or drop words near the "
                             "rule's threshold")
    parser.add_argument("--results_json", default=None,
                        help="add this run's test scores (final, pre-trained G, the rule) under its seed to a JSON "
                             "file shared by runs, e.g. docs/results/cpu.json")
    parser.add_argument("--collect", nargs="+", default=None, metavar="REPORT",
                        help="with --results_json: only add these finished runs' report.json files to it (no "
                             "training, no summarizing)")
    parser.add_argument("--words", type=int, default=None, metavar="N",
                        help="score at N words: G writes exactly N whole words (a length-conditioned G reads N's "
                             "control token, as `summarize --words N`), the rule and its variants are cut at N; the "
                             "report is RUN/report.wordsN.json (a length-conditioned G without it: its default length)")
    parser.add_argument("--record_choice", action="store_true",
                        help="with --candidates: record the dev-best choice in the dev-selected export "
                             "(seq2seq2seq_choice.json), so that `summarize --model EXPORT` runs it by default, if "
                             "it beats G alone on dev (else a recorded choice there is removed)")
    parser.add_argument("--judge", default=None,
                        help="discriminator folder that scores readability (default: this run's final discriminator; "
                             "pass the same one to compare runs)")
    return parser


def collect_command(args: argparse.Namespace, rest: list[str]) -> int:
    """``--collect``: add finished runs' test scores to ``--results_json``, nothing else."""
    if not args.results_json or rest:
        print("error: --collect takes report.json files and --results_json, nothing else: e.g. --collect "
              "runs/cpu_s0/report.json runs/cpu_s1/report.json --results_json docs/results/cpu.json", file=sys.stderr)
        return 2
    return collect_reports([Path(r) for r in args.collect], Path(args.results_json))


def option_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the ``--candidates*`` options, or None: checked before training, which can take hours."""
    if args.candidates_fluency_model:
        bad = [w for w in args.candidates_fluency_weight if not (0 <= w < float("inf"))]
        problem = ("needs --candidates K (e.g. 8)" if args.candidates <= 0 else
                   "is not a folder" if not Path(args.candidates_fluency_model).is_dir() else
                   f"has a weight that is not a number >= 0 ({bad[0]})" if bad else "")
        if problem:
            return f"--candidates_fluency_model {args.candidates_fluency_model} {problem}"
    for flag in ("headline", "contiguity"):
        weights = getattr(args, f"candidates_{flag}_weight")
        bad = [w for w in weights if not (0 <= w < float("inf"))]
        if bad or (any(weights) and args.candidates <= 0):
            return f"--candidates_{flag}_weight " + (f"must be numbers >= 0, got {bad[0]}" if bad else
                                                     "needs --candidates K (e.g. 8)")
    for flag in ("pretrained", "with_rule", "in_order"):
        if getattr(args, f"candidates_{flag}") and args.candidates <= 0:
            return f"--candidates_{flag} needs --candidates K (e.g. 8)"
    if not (0 < args.candidates_temperature < float("inf")):
        return f"--candidates_temperature must be a number > 0, got {args.candidates_temperature}"
    if args.candidates_rule_samples < 0 or (args.candidates_rule_samples and not args.candidates_with_rule):
        return "--candidates_rule_samples " + ("must be >= 0" if args.candidates_rule_samples < 0 else
                                               "needs --candidates_with_rule")
    if not (0 < args.candidates_rule_temperature < float("inf")):
        return f"--candidates_rule_temperature must be a number > 0, got {args.candidates_rule_temperature}"
    if args.record_choice and args.candidates <= 0:
        return "--record_choice needs --candidates K (e.g. 8): it records the dev-best choice among candidates"
    if args.words is not None and args.words < 1:
        return f"--words must be >= 1, got {args.words}"
    if args.dev_size is not None and args.dev_size < 1:
        return f"--dev_size must be >= 1, got {args.dev_size}"
    return None


@dataclasses.dataclass
class Bench:
    """What the steps after training share: the run, its evaluation data, the systems and the report so far."""

    args: argparse.Namespace
    rest: list[str]  # the training overrides
    argv: list[str]  # the whole command line, for the report
    cfg: Any  # seq2seq2seq.config.TrainConfig
    run_dir: Path
    wall: dict[str, float]  # seconds by step, kept in the report
    report: dict = dataclasses.field(default_factory=dict)
    sets: dict[str, tuple[list[str], list[str]]] = dataclasses.field(default_factory=dict)  # name -> (docs, refs)
    stats: Any = None  # the corpus's headline word statistics, for the rule (None: unreadable corpus)
    tokenizer: Any = None  # G's
    loaded: dict[str, Any] = dataclasses.field(default_factory=dict)  # row label -> summarizer
    judge: Any = None  # the discriminator that scores readability, with its folder and tokenizer
    judge_dir: Path | None = None
    judge_tokenizer: Any = None
    chooser: Any = None  # seq2seq2seq.inference.choose.CandidateChooser, with --candidates
    # the choices' weights: (fluency, headline, contiguity), similarity's being 1
    combos: list[tuple[float, float, float]] = dataclasses.field(default_factory=list)
    chosen_labels: dict[tuple, str] = dataclasses.field(default_factory=dict)  # (model, weights, with rule) -> row
    tables: list[str] = dataclasses.field(default_factory=list)  # the report's sections, in order

    @property
    def train_dir(self) -> Path:
        return Path(self.cfg.output_dir)

    @property
    def suffix(self) -> str:
        """What the report's and predictions' file names carry for ``--words N`` (``.words13``), so that the scores
        of one run at several lengths sit side by side."""
        return f".words{self.args.words}" if self.args.words else ""

    @property
    def rule_words(self) -> int:
        """The rule's length: ``--words``, else a length-conditioned G's default length, else 10."""
        return self.args.words or self.g_words or 10

    @property
    def g_words(self) -> int | None:
        """The length G is asked for: ``--words``, else a length-conditioned G's default (None: neither)."""
        from seq2seq2seq.length_control import default_words, trained_lengths

        model = self.loaded.get("seq2seq2seq")
        return self.args.words or (default_words(trained_lengths(model.config)) if model is not None else None)

    def g_reading(self, model: Any) -> tuple[str, Any]:
        """How ``model`` reads and writes here, as ``summarize`` makes it: (its input's prefix, its decoding). Asked
        for N words (:attr:`g_words`): a length-conditioned G reads N's control token (the nearest trained length's
        for another N) and any G writes exactly N whole words (at most N without whole-word decoding); otherwise no
        prefix and the run's decoding."""
        from seq2seq2seq.inference.api import decoding_overrides
        from seq2seq2seq.length_control import nearest_length, trained_lengths, with_length_token

        words, lengths = self.g_words, trained_lengths(model.config)
        if words is None:
            return "", self.cfg.decoding
        prefix = with_length_token("", nearest_length(words, lengths)) if lengths else ""
        return prefix, decoding_overrides(self.cfg.decoding, max_words=words, min_words=words)

    @property
    def rule_rows(self) -> int:
        """Candidates the rule adds per document: its summary and its variants."""
        return 1 + self.args.candidates_rule_samples


def train(args: argparse.Namespace, rest: list[str], cfg: Any, wall: dict[str, float]) -> int:
    """1-2. data and training: ``python -m seq2seq2seq.train`` into RUN/train (which builds the default corpus
    itself when it is missing), resumed if it holds checkpoints, skipped if finished; a finished run trained with
    other settings is refused. Returns an exit code, 0 when RUN/train holds a finished run."""
    train_dir = Path(cfg.output_dir)
    started = time.perf_counter()
    finished = (train_dir / "final" / "results.json").is_file()
    if finished and (train_dir / "config.yaml").is_file():
        changed = changed_settings(cfg, train_dir / "config.yaml")
        if changed:
            print(f"error: {train_dir} holds a finished run trained with other settings ({'; '.join(changed[:6])}"
                  f"{'; ...' if len(changed) > 6 else ''}); reusing it would report its results for the new ones. "
                  f"Choose another --run_dir, delete {train_dir} to retrain, or drop the changed overrides to re-score "
                  f"it", file=sys.stderr)
            return 2
    if not finished:
        command = [sys.executable, "-m", "seq2seq2seq.train", "--config", args.config, *rest,
                   "--output_dir", str(train_dir)]
        if (train_dir / "checkpoints").is_dir() and any((train_dir / "checkpoints").glob("step-*")):
            command.append("--resume")
        print("+", " ".join(command), flush=True)
        if subprocess.call(command, cwd=ROOT) != 0:
            print("error: training failed; see the messages above", file=sys.stderr)
            return 1
    wall["train_seconds"] = time.perf_counter() - started
    return 0


def evaluation_data(bench: Bench) -> dict[str, Path]:
    """3. what is summarized, and by what: the dev-selected summarizer (the result) and, as ablation rows, G as
    pre-training left it and the last G; the Gigaword test set and the corpus's dev slice; the report's header
    (config, command, hardware, training results, the corpus's manifest, the machine's matmul peak)."""
    import torch

    cfg, train_dir = bench.cfg, bench.train_dir
    torch.set_num_threads(cfg.num_threads or torch.get_num_threads())
    best_dir = train_dir / "best" / "summarizer"
    models = {"seq2seq2seq": best_dir if best_dir.is_dir() else train_dir / "final" / "summarizer",
              PRETRAINED_G: train_dir / "pretrained" / "summarizer", LAST_G: train_dir / "final" / "summarizer"}
    models = {name: path for name, path in models.items() if path.is_dir()}
    bench.sets = {"test": read_pairs(shared_data_dir() / "gigaword" / "test.jsonl", bench.args.test_limit)}
    if (Path(cfg.data_dir) / "dev.jsonl").is_file():  # a corpus of the user's own text may have none
        dev_size = bench.args.dev_size or cfg.eval_size or None
        bench.sets = {"dev": read_pairs(Path(cfg.data_dir) / "dev.jsonl", dev_size), **bench.sets}
    results = json.loads((train_dir / "final" / "results.json").read_text(encoding="utf-8"))
    bench.report = {"config": cfg.to_dict(), "command": " ".join(["python scripts/benchmark.py", *bench.argv]),
                    "hardware": {"machine": platform.machine(), "processor": platform.processor(),
                                 "cpus": os.cpu_count(), "threads": torch.get_num_threads(),
                                 "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                                 "ld_preload": os.environ.get("LD_PRELOAD", "")},
                    "training": results, "wall": bench.wall, "scores": {}, "samples": {}}
    manifest = Path(cfg.data_dir) / "manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        bench.report["data_manifest"] = {k: data[k] for k in ("counts", "normalisation") if k in data} or data
    bench.report["models"] = {name: str(path) for name, path in models.items()}
    from seq2seq2seq.hardware import matmul_peak_flops

    bench.report["matmul_peak_flops"] = matmul_peak_flops()
    for t in results.get("throughput", {}).values():
        if "flops_per_second" in t:
            t["fraction_of_matmul_peak"] = t["flops_per_second"] / bench.report["matmul_peak_flops"]
    bench.stats = headline_stats(cfg)
    return models


def load_systems(bench: Bench, models: dict[str, Path]) -> str | None:
    """The summarizers, the readability judge and, with ``--candidates``, the chooser among candidates; returns what
    stops the benchmark (a chooser that cannot load, a choice that needs word counts the corpus lacks), else None."""
    import torch
    from transformers import AutoTokenizer

    from seq2seq2seq.models.build import load_discriminator, load_seq2seq

    args, cfg = bench.args, bench.cfg
    bench.tokenizer = AutoTokenizer.from_pretrained(str(models["seq2seq2seq"]))
    bench.judge_dir = Path(args.judge) if args.judge else bench.train_dir / "final" / "discriminator"
    bench.judge = load_discriminator(bench.judge_dir).eval() if bench.judge_dir.is_dir() else None
    # the judge reads text with its own tokenizer (saved with D since warm starts; older exports use G's)
    if bench.judge is not None and (bench.judge_dir / "tokenizer_config.json").is_file():
        bench.judge_tokenizer = AutoTokenizer.from_pretrained(str(bench.judge_dir))
    bench.report["readability_judge"] = str(bench.judge_dir) if bench.judge is not None else None
    # summarize on the GPU when there is one (the training process has exited and freed it)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bench.loaded = {label: load_seq2seq(path).to(device).eval() for label, path in models.items()}
    if args.candidates <= 0:
        return None
    from seq2seq2seq.inference.choose import CandidateChooser
    from seq2seq2seq.models.build import ModelLoadError

    try:
        bench.chooser = CandidateChooser.load(cfg.adversarial.similarity_model,
                                              fluency_model=args.candidates_fluency_model,
                                              setting="--adversarial.similarity_model").to(device)
    except ModelLoadError as err:
        return str(err)
    # one chosen row per combination of weights, all from the same candidates
    bench.combos = list(itertools.product(args.candidates_fluency_weight if args.candidates_fluency_model else [0.0],
                                          args.candidates_headline_weight, args.candidates_contiguity_weight))
    rebuild = f"rebuild it with `python -m data_prep --out {cfg.data_dir}`"
    if any(h for _, h, _ in bench.combos):
        if bench.stats is None:
            return (f"--candidates_headline_weight needs the corpus's word counts, and {cfg.data_dir} has none "
                    f"readable: {rebuild}")
        bench.chooser.headline_stats = bench.stats
    if args.candidates_with_rule and bench.stats is None:
        return f"--candidates_with_rule needs the corpus's word counts for the rule, and {cfg.data_dir} has none " \
               f"readable: {rebuild}"
    bench.chosen_labels = chosen_labels(args, [m for m in ("seq2seq2seq", PRETRAINED_G) if m in bench.loaded],
                                        bench.combos)
    return None


def scores_label(fluency: float, headline: float, contiguity: float) -> str:
    """The scores a choice combines, as its row label says them: ``similarity + 0.5 fluency``."""
    return "similarity" + "".join(f" + {w:g} {name}" for name, w in (
        ("fluency", fluency), ("headline", headline), ("contiguity", contiguity)) if w)


def chosen_labels(args: argparse.Namespace, models: list[str], combos: list[tuple[float, float, float]]
                  ) -> dict[tuple[str, tuple[float, float, float], bool], str]:
    """The report row of each choice: (model, weights, rule a candidate) -> label, for the dev-selected G (and the
    pre-trained G with ``--candidates_pretrained``), each combination of weights, without and with the rule."""
    at = f" at temperature {args.candidates_temperature:g}" if args.candidates_temperature != 1 else ""
    no_longer = ", no longer than greedy" if args.candidates_no_longer else ""
    in_order = ", G's in document order" if args.candidates_in_order else ""
    rule = (f", the rule's summary and {args.candidates_rule_samples} variants at temperature "
            f"{args.candidates_rule_temperature:g} candidates" if args.candidates_rule_samples else
            ", the rule's summary a candidate")
    return {(model, combo, with_rule): (f"{'seq2seq2seq' if model == 'seq2seq2seq' else 'pre-trained G'}, best of "
                                        f"1+{args.candidates}{at} by {scores_label(*combo)}{no_longer}{in_order}"
                                        + (rule if with_rule else ""))
            for model in (models if args.candidates_pretrained else models[:1])
            for combo in combos for with_rule in ([False, True] if args.candidates_with_rule else [False])}


def same_weights(a: Any, b: Any) -> bool:
    """True when two loaded models hold equal tensors under the same names (decoding them again gives nothing new)."""
    import torch

    if a is b:
        return True
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def summarize(bench: Bench, name: str, documents: list[str]) -> dict[str, list[str]]:
    """4. every system's summaries of one set, by report row: each summarizer's, the rule's, each choice among
    candidates (with ``--candidates``), the Lead baselines and the rule at the dev-selected G's lengths. The
    dev-selected G's go to RUN/NAME.predictions.txt too."""
    from seq2seq2seq.decoding.sampling import summarize_texts
    from seq2seq2seq.inference.api import trim_words
    from seq2seq2seq.normalize import normalize

    args, cfg = bench.args, bench.cfg
    normalised = [normalize(d) for d in documents]  # G reads documents normalised like its training text
    systems = {}
    words = bench.g_words  # the cut, read once (a property that inspects the model)
    decoded = []  # (model, how it reads, summaries): the dev-selected G is often the last one, the same weights
    for label, model in bench.loaded.items():
        started = time.perf_counter()
        prefix, decoding = bench.g_reading(model)
        same = next((texts for other, reading, texts in decoded
                     if reading == (prefix, decoding) and same_weights(other, model)), None)
        systems[label] = list(same) if same is not None else [trim_words(text, words) for text in summarize_texts(
            model, bench.tokenizer, normalised, decoding, max_document_tokens=cfg.model.max_document_tokens,
            num_beams=args.beams, progress=True, prefix=prefix)]
        decoded.append((model, (prefix, decoding), systems[label]))
        bench.wall[f"summarize_{name}_{label}_seconds"] = time.perf_counter() - started
    if bench.stats is not None:
        systems[HEADLINE_BASELINE] = rule_summaries(normalised, bench.stats, cfg.pretrain, bench.rule_words)
    if bench.chooser is not None and name in args.candidates_sets.split(","):
        for model_label in dict.fromkeys(model for model, _, _ in bench.chosen_labels):
            systems.update(chosen_summaries(bench, name, model_label, normalised, systems.get(HEADLINE_BASELINE)))
    (bench.run_dir / f"{name}{bench.suffix}.predictions.txt").write_text("\n".join(systems["seq2seq2seq"]) + "\n",
                                                            encoding="utf-8")
    # the Lead baselines read the raw file, as evaluation.md's Lead rows do
    systems.update({baseline: lead_baseline(documents, baseline) for baseline in BASELINES})
    if bench.stats is not None:
        systems[HEADLINE_AT_LENGTH] = rule_summaries_at_lengths(normalised, systems["seq2seq2seq"], bench.stats,
                                                                cfg.pretrain)
    return systems


def candidates(bench: Bench, name: str, model_label: str, normalised: list[str],
               rule: list[str] | None) -> tuple[list[list[str]], dict[str, Any]]:
    """The candidates of one summarizer for each document (its decoded summary and ``--candidates`` samples, then,
    with ``--candidates_with_rule``, the rule's summary and its variants last) and their scores, computed once: each
    weight only recombines them."""
    from seq2seq2seq.data import headline_rule_samples
    from seq2seq2seq.inference.api import trim_words
    from seq2seq2seq.inference.choose import candidate_summaries

    args, cfg, chooser = bench.args, bench.cfg, bench.chooser
    started = time.perf_counter()
    prefix, decoding = bench.g_reading(bench.loaded[model_label])
    rows = candidate_summaries(
        bench.loaded[model_label], bench.tokenizer, normalised,
        dataclasses.replace(decoding, num_beams=args.beams or decoding.num_beams,
                            in_order=decoding.in_order or args.candidates_in_order),
        k=args.candidates, max_document_tokens=cfg.model.max_document_tokens, seed=cfg.seed,
        progress=True, temperature=args.candidates_temperature, prefix=prefix)
    words = bench.g_words
    rows = [[trim_words(text, words) for text in row] for row in rows]
    key = "" if model_label == "seq2seq2seq" else "pretrained_"
    bench.wall[f"summarize_{name}_{key}{args.candidates}_candidates_seconds"] = time.perf_counter() - started
    if args.candidates_with_rule:  # the rule's candidates last, dropped again for the rows without it
        variants = [headline_rule_samples(d, bench.stats, args.candidates_rule_samples,
                                          args.candidates_rule_temperature, cfg.pretrain, bench.rule_words,
                                          seed=cfg.seed)
                    for d in normalised]
        rows = [row + [summary, *more] for row, summary, more in zip(rows, rule, variants)]
    started = time.perf_counter()
    scores = {"similarity": chooser.similarity(normalised, rows),
              "fluency": chooser.fluency(rows) if args.candidates_fluency_model else None,
              "headline": chooser.headline(rows) if chooser.headline_stats is not None else None,
              "contiguity": chooser.contiguity(normalised, rows)}
    bench.wall[f"score_{name}_{key}candidates_seconds"] = time.perf_counter() - started
    return rows, scores


def pick(bench: Bench, rows: list[list[str]], scores: dict[str, Any], weights: tuple[float, float, float],
         keep: Any = lambda rows: rows, no_longer: bool = False) -> tuple[list[list[str]], list[int]]:
    """The candidates ``keep`` leaves of each document, and the index of the best of them by the scores combined
    with ``weights`` (fluency, headline, contiguity; similarity's is 1)."""
    chooser = bench.chooser
    chooser.fluency_weight, chooser.headline_weight, chooser.contiguity_weight = weights
    shown = keep(rows)
    picks = chooser.best(chooser.combine(shown, keep(scores["similarity"]), keep(scores["fluency"]), no_longer,
                                         headline=keep(scores["headline"]), contiguity=keep(scores["contiguity"])))
    return shown, picks


def chosen_summaries(bench: Bench, name: str, model_label: str, normalised: list[str],
                     rule: list[str] | None) -> dict[str, list[str]]:
    """The choice rows of one summarizer: per combination of weights, the best of its candidates (and, with
    ``--candidates_with_rule``, of its candidates and the rule's, recording how often the rule's won); with
    ``--candidates_rule_samples``, the same choice among the rule's candidates alone (the search without G)."""
    args, rule_rows = bench.args, bench.rule_rows
    rows, scores = candidates(bench, name, model_label, normalised, rule)
    systems = {}
    for (model, weights, with_rule), label in bench.chosen_labels.items():
        if model != model_label:
            continue
        cut = (functools.partial(_without_last, n=rule_rows) if args.candidates_with_rule and not with_rule
               else (lambda rows: rows))
        shown, picks = pick(bench, rows, scores, weights, cut, args.candidates_no_longer)
        systems[label] = [row[p] for row, p in zip(shown, picks)]
        if with_rule:  # how often the rule's summary (or a variant of it) won
            bench.report.setdefault("rule_chosen", {}).setdefault(name, {})[label] = (
                sum(p >= len(row) - rule_rows for row, p in zip(shown, picks)) / max(1, len(shown)))
    if args.candidates_rule_samples and model_label == "seq2seq2seq":
        # the search without G: the same choice among the rule's candidates alone (no model at all)
        for combo in bench.combos:
            shown, picks = pick(bench, rows, scores, combo, functools.partial(_last, n=rule_rows))
            systems[f"{RULE_SEARCH}: the rule's summary and {args.candidates_rule_samples} variants at temperature "
                    f"{args.candidates_rule_temperature:g}, best by {scores_label(*combo)}"] = [
                row[p] for row, p in zip(shown, picks)]
    return systems


def score(bench: Bench, name: str, documents: list[str], references: list[str], systems: dict[str, list[str]]
          ) -> None:
    """5. ROUGE of every system on one set, the judge's readability of each (and of the references), good and bad
    samples, and the final G beside the pre-trained G on a spread of documents: into the report and its tables."""
    from seq2seq2seq.eval.readability import readability, readability_table
    from seq2seq2seq.eval.rouge import format_table, score_summaries

    report = bench.report
    rows = {label: score_summaries(texts, references) for label, texts in systems.items()}
    report["scores"][name] = rows
    bench.tables.append(f"### {name} ({len(documents)} examples)\n\n```\n{format_table(rows)}\n```")
    if report.get("rule_chosen", {}).get(name):
        bench.tables.append("How often the rule's summary was chosen:\n\n" + "\n".join(
            f"- {label}: {100 * share:.1f}%" for label, share in report["rule_chosen"][name].items()))
    if bench.judge is not None:
        judged = {**systems, "human references": references}
        report.setdefault("readability", {})[name] = {
            k: readability(v, bench.judge, bench.judge_tokenizer or bench.tokenizer) for k, v in judged.items()}
        bench.tables.append(f"Readability ({name}; judge: {bench.judge_dir}):\n\n"
                            f"{readability_table(report['readability'][name])}")
    report["samples"][name] = _samples(documents, systems["seq2seq2seq"], references)
    if PRETRAINED_G in systems:
        report.setdefault("beside_pretrained", {})[name] = beside_pretrained(
            documents, systems["seq2seq2seq"], systems[PRETRAINED_G], references)


def write_report(bench: Bench) -> None:
    """6. the report: RUN/report.json, the training curves, the seed's row of ``--results_json``, RUN/report.md;
    prints the tables and the test samples."""
    args, report, run_dir = bench.args, bench.report, bench.run_dir
    report["words"] = {"g": bench.g_words, "rule": bench.rule_words}  # what each was asked for
    if bench.chooser is not None and "dev" in report["scores"]:
        report["choice"] = dev_best_choices(report["scores"]["dev"], bench.chosen_labels, above=HEADLINE_BASELINE)
        if args.record_choice:
            report["recorded_choice"] = record_choice(bench)
    (run_dir / f"report{bench.suffix}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    curves = ""
    try:
        from seq2seq2seq.eval.training_curves import plot_training

        plot_training(bench.train_dir, run_dir / "training_curves.png")
        curves = "\n\n## Training curves\n\n![dev ROUGE, rewards and losses over training](training_curves.png)\n"
    except ImportError:
        print("note: no training_curves.png (needs matplotlib: pip install -e '.[plot]')", file=sys.stderr)
    except ValueError as err:
        print(f"note: no training_curves.png ({err})", file=sys.stderr)
    if args.results_json:
        add_seed_results(Path(args.results_json), bench.cfg.seed, report["scores"]["test"],
                         report.get("readability", {}).get("test"), report.get("choice"))
    samples = "\n".join(f"- [{kind}, R-L {s['rougeL']}] {s['document'][:160]}\n  - summary: {s['summary']}\n"
                        f"  - reference: {s['reference']}"
                        for kind in ("good", "bad") for s in report["samples"]["test"][kind])
    (run_dir / f"report{bench.suffix}.md").write_text(report_markdown(bench, curves, samples), encoding="utf-8")
    print("\n".join(bench.tables))
    print(f"\nsamples:\n{samples}\n\nreport: {run_dir / f'report{bench.suffix}.md'}")


def record_choice(bench: Bench) -> dict:
    """``--record_choice``: the dev-best choice (with or without the rule's candidates; ranked as ``choice_rank``
    with the rule as the baseline) as summarize options in the dev-selected export, when its mean dev R-1/R-2/R-L is
    above G's greedy summary's; else G alone is the export's best and a choice recorded there before is removed.
    Returns what was done, for the report."""
    from seq2seq2seq.inference.recorded_choice import CHOICE_FILE, write_choice

    args, cfg, report = bench.args, bench.cfg, bench.report
    dev, export = report["scores"]["dev"], Path(report["models"]["seq2seq2seq"])
    mean = {label: sum(dev[label][m] for m in ("rouge1", "rouge2", "rougeL")) / 3 for label in dev}
    finals = [c["final"] for c in report["choice"].values()]
    best = max(finals, key=lambda label: choice_rank(dev, label, HEADLINE_BASELINE))  # as dev_best_choices
    if mean[best] <= mean["seq2seq2seq"]:
        (export / CHOICE_FILE).unlink(missing_ok=True)
        return {"recorded": False, "why": f"G alone is best on dev ({mean['seq2seq2seq']:.2f} mean ROUGE against "
                                          f"{mean[best]:.2f} for {best})"}
    (_, (fluency, headline, contiguity), with_rule), = [key for key, label in bench.chosen_labels.items()
                                                        if label == best and key[0] == "seq2seq2seq"]
    options = {"candidates": args.candidates, "candidates_temperature": args.candidates_temperature,
               "similarity_model": cfg.adversarial.similarity_model, "seed": cfg.seed,
               "fluency_model": args.candidates_fluency_model if fluency else "", "fluency_weight": fluency,
               "headline_weight": headline, "contiguity_weight": contiguity,
               "corpus": cfg.data_dir if headline or with_rule else "", "rule_candidate": with_rule,
               "rule_samples": args.candidates_rule_samples if with_rule else 0,
               "rule_temperature": args.candidates_rule_temperature}
    if args.candidates_in_order:
        options["in_order"] = True
    measured = {"row": best, "dev": dev[best], "dev_g_alone": dev["seq2seq2seq"],
                "dev_rule": dev.get(HEADLINE_BASELINE), "words": report["words"],
                "report": str(bench.run_dir / f"report{bench.suffix}.json")}
    path = write_choice(export, options, measured)
    print(f"recorded the dev-best choice in {path}: `summarize --model {export}` runs it by default "
          f"(--candidates 0: G alone)")
    return {"recorded": True, "file": str(path), "row": best}


def report_markdown(bench: Bench, curves: str, samples: str) -> str:
    """RUN/report.md: the command, the machine, training throughput, the tables, the curves, the test samples, the
    choice picked on dev and the test summaries beside the pre-trained G's."""
    report, wall = bench.report, bench.wall
    nan = float("nan")
    throughput = "\n".join(
        f"| {stage} | {t['examples']} | {t['seconds']:.0f} | {t['examples_per_second']:.1f} | "
        f"{t.get('flops_per_second', nan) / 1e9:.1f} | {100 * t.get('fraction_of_matmul_peak', nan):.0f}% |"
        for stage, t in report["training"].get("throughput", {}).items())
    words = (f"Lengths asked for: G {report['words']['g'] or 'as trained (no word count)'} words, the rule "
             f"{report['words']['rule']} words\n\n")
    markdown = (f"# Benchmark: {Path(bench.args.config).name}\n\nCommand: `{report['command']}`\n\n{words}"
                f"Hardware: {report['hardware']}\n\nTraining wall-clock: {wall['train_seconds']:.0f} s "
                f"(0 when reused)\n\nMatrix-multiply peak measured in this run: "
                f"{report['matmul_peak_flops'] / 1e9:.1f} GFLOP/s\n\n"
                f"| stage | examples | seconds | examples/s | model GFLOP/s | of matmul peak |\n"
                f"|---|---|---|---|---|---|\n{throughput}\n\n"
                + "\n\n".join(bench.tables) + curves + f"\n\n## Test samples\n\n{samples}\n")
    for kind, labels in report.get("choice", {}).items():
        markdown += (f"\n{'Choice' if kind == 'chosen' else 'Choice with the rule a candidate'} picked on dev (best "
                     f"mean of R-1, R-2, R-L): `{labels['final']}`"
                     + (f"; the pre-trained G's row of it: `{labels['pretrained']}`" if labels["pretrained"] else "")
                     + "\n")
    if "test" in report.get("beside_pretrained", {}):
        markdown += ("\n## Test summaries beside the pre-trained G's (10 documents spread over the test set)\n\n"
                     + beside_pretrained_table(report["beside_pretrained"]["test"]) + "\n")
    return markdown


def main(argv: list[str] | None = None) -> int:
    """The benchmark's steps in order: the options, data and training, what is summarized and by what, then for each
    set the summaries and their scores, and the report. 0 when the report is written; 2 for bad options or a run
    that cannot be re-scored, 1 when training fails."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args, rest = build_parser().parse_known_args(argv)
    if args.collect:
        return collect_command(args, rest)
    problem = option_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    run_dir = Path(args.run_dir or ROOT / "runs" / Path(args.config).stem)
    try:
        cfg = load_config(args.config, {**parse_overrides(rest), "output_dir": str(run_dir / "train")})
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.candidates_in_order and not cfg.decoding.whole_words:
        print("error: --candidates_in_order keeps whole source words in order: it needs --decoding.source_only true "
              "--decoding.whole_words true (the trained configs' setting)", file=sys.stderr)
        return 2
    run_dir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, rest, argv, cfg, run_dir, wall={})
    code = train(args, rest, cfg, bench.wall)
    if code:
        return code
    problem = load_systems(bench, evaluation_data(bench))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    for name, (documents, references) in bench.sets.items():
        score(bench, name, documents, references, summarize(bench, name, documents))
    write_report(bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())
