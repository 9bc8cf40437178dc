"""`python -m seq2seq2seq.train`: the training command line. Every check that could refuse the command runs before
anything is written to the run folder, which is locked for the whole run.

    accelerate launch -m seq2seq2seq.train --config scripts/configs/cpu.yaml --output_dir runs/cpu
    python -m seq2seq2seq.train --config scripts/configs/tiny.yaml --pretrain.steps 5     # any key can be overridden

Stages, in order, each resumable in the middle (``--resume``):
  1. pretrain    G learns pseudo-summaries made from documents alone; R learns to rebuild documents from them.
  2. pretrain_d  D learns human sentences (real) vs. G's samples (fake).
  3. adversarial G learns by REINFORCE on alpha * reconstruction + beta * discriminator reward (self-critical or
                 leave-one-out baseline, or imitating the best of k samples), or from those two as gradients
                 through straight-through Gumbel-softmax rows (adversarial.estimator: gumbel); R keeps learning to
                 rebuild documents from G's summaries; D keeps learning.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch
from accelerate.logging import get_logger

from seq2seq2seq import checkpoint as ckpt
from seq2seq2seq import resume_policy, run_lock
from seq2seq2seq.allocator import warn_if_slow_allocator
from seq2seq2seq.config import ConfigError, TrainConfig, config_to_yaml, load_config, parse_overrides
from seq2seq2seq.data import CorpusError, load_corpus
from seq2seq2seq.models.build import ModelLoadError
from seq2seq2seq.search_targets import SearchTargetsError
from seq2seq2seq.train.loop import METRICS_FILE, run
from seq2seq2seq.train.trainer import Trainer, no_checkpoint_message

logger = get_logger("seq2seq2seq.train")


def ensure_corpus(data_dir: str | Path) -> Path:
    """The corpus folder, built with data_prep's defaults (by the main process) if it is the default one and missing."""
    from accelerate import PartialState

    from seq2seq2seq.paths import DEFAULT_CORPUS_DIR

    data_dir = Path(data_dir)
    if not data_dir.is_dir() and data_dir.resolve() == DEFAULT_CORPUS_DIR.resolve():
        state = PartialState(cpu=not torch.cuda.is_available())
        if state.is_main_process:
            from data_prep import build_default_corpus

            print(f"corpus {data_dir} not found: building it with `python -m data_prep` (about a minute)",
                  file=sys.stderr)
            build_default_corpus(data_dir)
        state.wait_for_everyone()
    return data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="seq2seq2seq-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Any config key can be overridden: --pretrain.steps 100 --adversarial.discriminator_weight 0")
    parser.add_argument("--config", help="YAML config (scripts/configs/*.yaml); defaults apply without one")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint in output_dir; a resume may change only the steps of "
                             "unfinished stages, log/eval/save/sample cadence, keep_checkpoints, num_threads and "
                             "report_to")
    parser.add_argument("--resume-with-changes", action="store_true",
                        help="with --resume: also allow other settings to change (a learning rate, a reward weight, "
                             "...); each change and the step it takes effect are recorded in config.yaml "
                             "(resume_changes) and train.log")
    parser.add_argument("--print_config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("--overwrite", action="store_true",
                        help="train into an output_dir that holds a finished run without checkpoints, replacing it")
    args, rest = parser.parse_known_args(argv)
    if args.resume_with_changes and not args.resume:
        print("error: --resume-with-changes lets a resume change settings; pass --resume as well", file=sys.stderr)
        return 2
    try:
        overrides = parse_overrides(rest)
        cfg = load_config(args.config, overrides)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    run_folder = _run_folder_of(args.config)
    if run_folder is not None and "output_dir" not in overrides and Path(cfg.output_dir).resolve() != run_folder:
        # RUN/config.yaml names the folder it was first trained in; a copied or moved run resumes where it is now,
        # not in (and over) the original
        print(f"note: {args.config} belongs to the run folder {run_folder}; training there, not in its recorded "
              f"output_dir {cfg.output_dir} (pass --output_dir to choose)", file=sys.stderr)
        cfg.output_dir = str(run_folder)
    if args.print_config:
        print(config_to_yaml(cfg), end="")
        return 0
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    if _is_main_process():
        warn_if_slow_allocator(cuda=torch.cuda.is_available())
    out = Path(cfg.output_dir)
    try:
        lock = run_lock.acquire(out) if _is_main_process() else None
    except run_lock.RunLockError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        return _train(args, cfg, out)
    finally:  # also on an exception or Ctrl-C (and the kernel releases the lock of a killed process)
        if lock is not None:
            lock.release()


def _is_main_process() -> bool:
    """Only the main process locks the run folder: the processes of one multi-process run share it."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available()).is_main_process


def _folder_refusal(args: argparse.Namespace, out: Path) -> str | None:
    """Why the run folder cannot take this command (it would lose or mix up work), or None."""
    if args.resume and not ckpt.list_checkpoints(out):
        return no_checkpoint_message(out)
    if not args.resume and ckpt.list_checkpoints(out):
        return f"{out} already holds checkpoints; pass --resume to continue that run or choose another --output_dir"
    try:
        ckpt.check_output_dir(out, args.resume, args.overwrite)
    except ckpt.CheckpointError as err:
        return str(err)
    return None


def _open_run_folder(args: argparse.Namespace, cfg: TrainConfig, trainer: Trainer, out: Path) -> list:
    """Write the run's config (only when something will train), start its curves afresh on a new run, and send the
    package's log to RUN/train.log and the console. Returns the log handlers, for _close_log."""
    if ckpt.remove_stale_temporaries(out):
        print(f"note: removed half-written checkpoints left in {out}/checkpoints by an interrupted run",
              file=sys.stderr)
    package_logger, handlers = logging.getLogger("seq2seq2seq"), []
    if trainer.accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        if not args.resume or trainer.remaining_steps():
            (out / "config.yaml").write_text(config_to_yaml(cfg, trainer.state["resume_changes"]), encoding="utf-8")
        if not args.resume:  # a new run (or --overwrite) starts its curves afresh
            (out / METRICS_FILE).unlink(missing_ok=True)
        handlers = [logging.FileHandler(out / "train.log", encoding="utf-8"), logging.StreamHandler()]
        for handler in handlers:
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            package_logger.addHandler(handler)
        package_logger.propagate = False  # the handlers above are the log; no duplicate via the root logger
    package_logger.setLevel(logging.INFO)
    return handlers


def _close_log(handlers: list) -> None:
    """This run's log handlers go with it: a second run in the same process must not write into this run's log."""
    package_logger = logging.getLogger("seq2seq2seq")
    for handler in handlers:
        package_logger.removeHandler(handler)
        handler.close()
    package_logger.propagate = True


def _nothing_to_train(args: argparse.Namespace, trainer: Trainer, out: Path) -> bool:
    """A resume of a finished, exported run: say so and leave the folder as it is."""
    if not (args.resume and not trainer.remaining_steps() and (out / "final" / "results.json").is_file()):
        return False
    if trainer.accelerator.is_main_process:
        stage = trainer.state["stage"]
        print(f"nothing to train: {out} has finished every stage ({stage} at step {trainer.state['step']}) and its "
              f"export {out / 'final'} is left as it is; to train on, raise that stage's steps (e.g. "
              f"--{stage}.steps N --resume)")
    return True


def _train(args: argparse.Namespace, cfg: TrainConfig, out: Path) -> int:
    """The rest of main, in the run folder it has locked: refuse what would lose or mix up work, then train."""
    refusal = _folder_refusal(args, out)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    handlers: list = []
    try:
        trainer = Trainer(cfg, load_corpus(ensure_corpus(cfg.data_dir), cfg.max_documents))
        # every check passes before anything is written: a refused command leaves the run folder as it was
        changes = trainer.resume(args.resume_with_changes) if args.resume else []
        if _nothing_to_train(args, trainer, out):
            return 0
        handlers = _open_run_folder(args, cfg, trainer, out)
        if args.resume:
            logger.info(f"resumed from {ckpt.list_checkpoints(out)[-1]} at {trainer.state['stage']} step "
                        f"{trainer.state['step']}")
        for change in changes:
            logger.warning(resume_policy.describe(change))
        results = run(trainer)
    except (ConfigError, CorpusError, ModelLoadError, ckpt.CheckpointError, SearchTargetsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # checkpoints are written atomically, so what is on disk is whole: say how to go on, without a traceback
        saved = ckpt.list_checkpoints(out)
        where = f"the newest checkpoint is {saved[-1]}: continue with --resume" if saved else "no checkpoint was saved"
        print(f"\ninterrupted; {where}", file=sys.stderr)
        return 130
    except Exception as err:  # data_prep's own error when the corpus is built on first use
        if err.__class__.__name__ != "DataPrepError":
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        _close_log(handlers)
    if trainer.accelerator.is_main_process:
        best = results.get("best")
        if best:
            print(f"done: exported to {out / 'final'}; best dev {cfg.eval_metric}: "
                  f"{best['dev/' + cfg.eval_metric]:.2f} at {best['stage']} step {best['step']}")
        else:
            print(f"done: exported to {out / 'final'} (no dev set, so no selection: use final/summarizer)")
    return 0


def _run_folder_of(config_path: str | None) -> Path | None:
    """The run folder a config file sits in (RUN/config.yaml beside RUN/checkpoints or RUN/final), else None."""
    if not config_path:
        return None
    folder = Path(config_path).resolve().parent
    markers = ("checkpoints", "final", "train.log")
    return folder if Path(config_path).name == "config.yaml" and any((folder / m).exists() for m in markers) else None
