"""One round of expert iteration: the search around the previous round's G gives the targets the next G learns.

    python scripts/expert_round.py --previous runs/q_search16k --out runs/ei1 --max_documents 16384 --steps 960 \
        --fluency_model runs/fluency_lm -- --adversarial.steps 0 --pretrain_d.steps 0
    python scripts/expert_round.py --previous runs/ei1 --out runs/ei2 ...                  # the next round
    python scripts/expert_round.py --previous runs/ei1 --out runs/ei2 --dry-run            # print the commands only

Two commands, run in order (each stops the round if it fails; each resumes where it stopped when run again):

1. ``python -m data_prep.search_targets`` into OUT/targets: per training document, the judges' choice among the
   headline rule's summary and variants, the previous dev-selected G's summary (RUN/train/best, else final), its
   samples and edits of its summary; the judges are similarity, fluency, headline vocabulary and the previous run's
   own R and D (its final/reconstructor and final/discriminator), each weighted (0 = left out: the ablation);
2. ``python scripts/benchmark.py`` with the previous run's config: trains OUT/train with ``pretrain.task: search`` on
   those targets, G warm-started from the previous dev-selected G and R and D from the previous final ones
   (``--warm_start g``: R and D start afresh; R's and D's exports are needed only where they judge or start); the
   REINFORCE stage follows as that config says (``-- --adversarial.steps 0`` leaves it out); then it writes dev and
   test scores to OUT/report.json and OUT/report.md.

``--first_document K`` makes the round's documents K to ``--max_documents`` - 1: each round can search and learn
documents no earlier round saw (the targets hold only those and pre-training reads only them; an adversarial stage,
if the config runs one, draws from every document up to ``--max_documents``, and its pre-training anchor must be
off: ``-- --adversarial.pretrain_weight 0`` or ``--adversarial.steps 0``).

``--previous`` is a benchmark run folder (RUN/train holds the training run) or a training run folder itself.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


class RoundError(ValueError):
    """The previous run cannot seed a round; the message says what to do."""


def training_run(previous: Path) -> Path:
    """The training run folder of ``previous``: RUN/train (a benchmark's run folder) or RUN itself."""
    if not previous.is_dir():
        raise RoundError(f"--previous {previous} does not exist; pass the folder of a finished run (a benchmark's "
                         f"RUN, or a training output_dir)")
    for folder in (previous / "train", previous):
        if (folder / "config.yaml").is_file():
            return folder
    raise RoundError(f"{previous} holds no training run (no config.yaml there nor in train/); pass a benchmark's run "
                     f"folder or a training output_dir")


WARM_STARTS = {"g": "summarizer", "r": "reconstructor", "d": "discriminator"}


def needed(args: argparse.Namespace) -> set[str]:
    """The previous run's exports the round reads: G always; R and D where they judge or start the next run."""
    parts = {"summarizer"} | {WARM_STARTS[w] for w in args.warm_start}
    if args.reconstruction_weight > 0:
        parts.add("reconstructor")
    if args.discriminator_weight > 0:
        parts.add("discriminator")
    return parts


def exports(train: Path, parts: set[str] | None = None) -> dict[str, Path]:
    """The previous run's dev-selected G (best/, else final/) and its final R and D (those of ``parts``, default
    all three); refused unless each exists."""
    found = {"summarizer": next((train / where / "summarizer" for where in ("best", "final")
                                 if (train / where / "summarizer" / "config.json").is_file()), None),
             "reconstructor": train / "final" / "reconstructor", "discriminator": train / "final" / "discriminator"}
    found = {name: folder for name, folder in found.items() if parts is None or name in parts}
    missing = [name for name, folder in found.items() if folder is None or not (folder / "config.json").is_file()]
    if missing:
        raise RoundError(f"{train} has no {', '.join(missing)} export (looked in best/ and final/); finish that run "
                         f"first (python -m seq2seq2seq.train --config {train / 'config.yaml'} --resume)")
    return found


def check_fresh_documents(args: argparse.Namespace, config: dict, max_documents: int, extra: list[str]) -> None:
    """--first_document: refused before the (long) search when it leaves no documents, or when training would refuse
    it afterwards (the adversarial stage's anchor reads every document's target)."""
    if not max_documents or args.first_document >= max_documents:
        raise RoundError(f"--first_document {args.first_document} needs --max_documents above it (where this round's "
                         f"documents end), e.g. --max_documents {args.first_document + 10240}")
    adversarial = {**(config.get("adversarial") or {})}
    for i, flag in enumerate(extra[:-1]):
        if flag in ("--adversarial.steps", "--adversarial.pretrain_weight"):
            adversarial[flag.split(".", 1)[1]] = float(extra[i + 1])
    if float(adversarial.get("steps", 0) or 0) > 0 and float(adversarial.get("pretrain_weight", 0) or 0) > 0:
        raise RoundError("--first_document trains on this round's documents only, but the previous config's "
                         "adversarial stage keeps a pre-training anchor that reads every document's target; add "
                         "`-- --adversarial.steps 0` (or `-- --adversarial.pretrain_weight 0`)")


def round_commands(args: argparse.Namespace, extra: list[str]) -> list[list[str]]:
    """The round's commands: the search targets around the previous G, then training and scoring the next G."""
    train = training_run(Path(args.previous))
    models = exports(train, needed(args))
    config = yaml.safe_load((train / "config.yaml").read_text(encoding="utf-8")) or {}
    data_dir = str(config.get("data_dir") or "runs/corpus")
    max_documents = args.max_documents if args.max_documents is not None else int(config.get("max_documents") or 0)
    if args.first_document:
        check_fresh_documents(args, config, max_documents, extra)
    out = Path(args.out)
    targets = [sys.executable, "-m", "data_prep.search_targets", "--data_dir", data_dir, "--out", str(out / "targets"),
               "--max_documents", str(max_documents), "--model", str(models["summarizer"]),
               "--samples", str(args.samples), "--edits", str(args.edits), "--candidates", str(args.candidates),
               "--words", str(args.words), "--seed", str(args.seed), "--first_document", str(args.first_document),
               "--similarity_weight", str(args.similarity_weight), "--headline_weight", str(args.headline_weight),
               "--reconstruction_weight", str(args.reconstruction_weight),
               "--discriminator_weight", str(args.discriminator_weight)]
    for judge in ("reconstruction", "discriminator"):
        if getattr(args, f"{judge}_weight") > 0:
            targets += [f"--{judge}_model", str(train)]
    if args.similarity_model:
        targets += ["--similarity_model", args.similarity_model]
    if args.fluency_model:
        targets += ["--fluency_model", args.fluency_model, "--fluency_weight", str(args.fluency_weight)]
    benchmark = [sys.executable, str(ROOT / "scripts" / "benchmark.py"), "--config", str(train / "config.yaml"),
                 "--run_dir", str(out), "--data_dir", data_dir, "--max_documents", str(max_documents),
                 "--pretrain.task", "search", "--pretrain.search_targets", str(out / "targets")]
    inits = {"summarizer": "--model.summarizer_init", "reconstructor": "--model.reconstructor_init",
             "discriminator": "--discriminator.init"}
    for which in args.warm_start:
        benchmark += [inits[WARM_STARTS[which]], str(models[WARM_STARTS[which]])]
    if args.first_document:  # fresh documents: the round trains on the documents it searched, not on those before
        benchmark += ["--pretrain.search_documents", "covered"]
    if args.steps is not None:
        benchmark += ["--pretrain.steps", str(args.steps)]
    return [targets, benchmark + extra]


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python scripts/expert_round.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--previous", required=True, help="the previous round's run folder")
    parser.add_argument("--out", required=True, help="this round's run folder (targets/, train/, report.json)")
    parser.add_argument("--max_documents", type=int, default=None,
                        help="training documents searched and trained on (default: the previous run's)")
    parser.add_argument("--first_document", type=int, default=0, metavar="K",
                        help="search and train on documents K to --max_documents - 1 only: fresh documents for this "
                             "round (e.g. K = the previous round's --max_documents)")
    parser.add_argument("--steps", type=int, default=None, help="pre-training steps on the targets (default: the "
                                                                "previous run's pretrain.steps)")
    parser.add_argument("--samples", type=int, default=8, help="G's samples per document")
    parser.add_argument("--edits", type=int, default=4, help="source words put back into G's summary (0: no edits)")
    parser.add_argument("--candidates", type=int, default=8, help="variants of the rule")
    parser.add_argument("--words", type=int, default=10, help="every candidate's length cap in words")
    parser.add_argument("--seed", type=int, default=0, help="seed of the variants and samples")
    parser.add_argument("--similarity_model", default="", help="sentence encoder (default: all-MiniLM-L6-v2)")
    parser.add_argument("--similarity_weight", type=float, default=1.0)
    parser.add_argument("--fluency_model", default="", help="causal LM of human sentences (train_fluency_lm.py)")
    parser.add_argument("--fluency_weight", type=float, default=0.5)
    parser.add_argument("--headline_weight", type=float, default=0.5)
    parser.add_argument("--reconstruction_weight", type=float, default=0.5, help="the previous R (0 = left out)")
    parser.add_argument("--discriminator_weight", type=float, default=0.5, help="the previous D (0 = left out)")
    parser.add_argument("--warm_start", default="g,r,d",
                        help="which of the next run's models start from the previous run's: g, r, d, comma-separated "
                             "(default all three; e.g. g: R and D start afresh)")
    parser.add_argument("--dry-run", "--dry_run", dest="dry_run", action="store_true",
                        help="print the commands, run nothing")
    args = parser.parse_args(argv)
    chosen = [w.strip().lower() for w in args.warm_start.split(",") if w.strip()]
    if "g" not in chosen or any(w not in WARM_STARTS for w in chosen):
        parser.error(f"--warm_start {args.warm_start!r}: give g and, if wanted, r and d, comma-separated (e.g. g,r,d "
                     f"or g); the round improves the previous G, so G always starts from it")
    args.warm_start = [w for w in WARM_STARTS if w in chosen]
    return args, extra


def main(argv: list[str] | None = None) -> int:
    """0 when every command succeeded (or, with --dry-run, was printed); 2 for a previous run that cannot seed a
    round; else the failing command's exit status."""
    args, extra = parse_args(argv)
    try:
        commands = round_commands(args, extra)
    except RoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for command in commands:
        print(shlex.join(command), flush=True)
        if args.dry_run:
            continue
        try:
            code = subprocess.run(command, cwd=Path.cwd()).returncode
        except KeyboardInterrupt:
            print("\ninterrupted; run the same command again to resume the round", file=sys.stderr)
            return 130
        if code:
            print(f"error: the round stopped: `{shlex.join(command[:3])} ...` exited with {code}", file=sys.stderr)
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
