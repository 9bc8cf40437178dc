"""The training loop: a run (:class:`~seq2seq2seq.train.trainer.Trainer`) trained stage by stage from where its
state stands, each step timed and logged (trackers, RUN/metrics.jsonl, the progress bar), dev ROUGE and checkpoints
at their cadence, then the export.

    accelerate launch -m seq2seq2seq.train --config scripts/configs/cpu.yaml --output_dir runs/cpu
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from accelerate.logging import get_logger
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

from seq2seq2seq import checkpoint as ckpt
from seq2seq2seq.train import stages
from seq2seq2seq.train.engine import reduce_mean
from seq2seq2seq.train.trainer import STAGES, Trainer

logger = get_logger(__name__)
STEP_FUNCTIONS = {"pretrain": stages.pretrain_step, "pretrain_d": stages.pretrain_d_step,
                  "adversarial": stages.adversarial_step}
METRICS_FILE = "metrics.jsonl"


def run(t: Trainer) -> dict:
    """Train ``t`` from its state (a new run, or one that ``Trainer.resume`` loaded) to the end, and export."""
    acc, out = t.accelerator, Path(t.cfg.output_dir)
    _announce(t)
    acc.init_trackers("seq2seq2seq", config=_flat_scalars(t.cfg.to_dict()))
    for stage in STAGES[STAGES.index(t.state["stage"]):]:
        _train_stage(t, stage)
        if stage == "pretrain" and t.cfg.pretrain.steps:
            # G as pre-training left it: the "pre-trained G only" row of the benchmark's ablation
            t.check_finite("the pre-trained summarizer was not written", "summarizer")
            t.save_summarizer(out / "pretrained" / "summarizer")
        if stage != STAGES[-1]:
            t.state.setdefault("stage_steps", {})[stage] = getattr(t.cfg, stage).steps
            t.state["stage"], t.state["step"] = STAGES[STAGES.index(stage) + 1], 0
    results = {
        "final": t.state["history"][-1] if t.state["history"] else {},
        "best": t.state["best"],
        "history": t.state["history"],
        "throughput": {stage: stage_throughput(timing) for stage, timing in t.state.get("timing", {}).items()},
        "world_size": t.world,
        "supervised": t.pairs.record() if t.pairs is not None else None,
    }
    t.export(out / "final", results)
    if acc.is_main_process:
        (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    acc.end_training()
    return results


def _train_stage(t: Trainer, stage: str) -> None:
    """The stage's steps from where the state stands: step, time it, log, evaluate, checkpoint."""
    cfg, acc = t.cfg, t.accelerator
    total = getattr(cfg, stage).steps
    examples_per_step = getattr(cfg, stage).batch_size * cfg.gradient_accumulation_steps * t.world
    timing = t.state.setdefault("timing", {}).setdefault(stage, {"seconds": 0.0, "examples": 0, "steps": 0})
    bar = tqdm(range(t.state["step"], total), desc=stage, disable=not acc.is_local_main_process,
               initial=t.state["step"], total=total, dynamic_ncols=True)
    window: list[dict[str, float]] = []
    for step in bar:
        started = time.perf_counter()
        if "flops_per_step" not in timing:
            # model FLOPs of one optimizer step (forward, backward, sampling; all processes), counted once per
            # stage; the benchmark relates them to a matrix-multiply peak measured on the same machine
            with FlopCounterMode(display=False) as counter:
                window.append(_step(t, stage, step))
            timing["flops_per_step"] = counter.get_total_flops() * t.world
        else:
            window.append(_step(t, stage, step))
        timing["seconds"] += time.perf_counter() - started
        timing["examples"] += examples_per_step
        timing["steps"] = timing.get("steps", 0) + 1
        t.state["step"], t.state["global_step"] = step + 1, t.state["global_step"] + 1
        done = step + 1
        if done % cfg.log_every == 0 or done == total:
            _log(t, stage, done, window, timing, bar)
            window = []
        if cfg.sample_every and done % cfg.sample_every == 0 and acc.is_main_process:
            logger.info(f"samples at {stage} step {done}:\n{t.write_samples()}")
        if stage != "pretrain_d" and ((cfg.eval_every and done % cfg.eval_every == 0) or done == total):
            t.evaluate_and_keep_best(stage, done)
        if (cfg.save_every and done % cfg.save_every == 0) or done == total:
            t.check_finite(f"the checkpoint at {stage} step {done} was not written")
            ckpt.save_checkpoint(acc, Path(cfg.output_dir), t.state, cfg.keep_checkpoints)
    bar.close()


def _step(t: Trainer, stage: str, step: int) -> dict[str, float]:
    """One optimizer step; a diverged model (inf/nan weights) fails in sampling with torch's own error, which
    becomes the message that says so and what remains."""
    try:
        return STEP_FUNCTIONS[stage](t, step)
    except RuntimeError:
        t.check_finite(f"{stage} step {step + 1} cannot run (sampling from inf/nan probabilities)")
        raise


def _log(t: Trainer, stage: str, done: int, window: list[dict[str, float]], timing: dict, bar: tqdm) -> None:
    """The window's mean of each scalar (over steps and processes): trackers, RUN/metrics.jsonl, the bar."""
    logs = reduce_mean(t.accelerator, window)
    logs["examples_per_second"] = timing["examples"] / max(timing["seconds"], 1e-9)
    if torch.cuda.is_available():  # what the GPU check reports (scripts/gpu_summary.py)
        logs["peak_memory_gb"] = torch.cuda.max_memory_allocated() / 2**30
    t.accelerator.log({f"{stage}/{k}": v for k, v in logs.items()}, step=t.state["global_step"])
    if t.accelerator.is_main_process:  # what the benchmark's training-curve plot reads
        row = {"stage": stage, "step": done, "global_step": t.state["global_step"], **logs}
        with (Path(t.cfg.output_dir) / METRICS_FILE).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
    shown = [k for k in logs if k.startswith(("loss/", "reward/total", "d/acc"))]
    bar.set_postfix({k: f"{logs[k]:.3g}" for k in shown})


def _announce(t: Trainer) -> None:
    """What the log should say before training: no dev set, the semi-supervised pairs and their uses."""
    cfg = t.cfg
    if not t.accelerator.is_main_process:
        return
    if not (t.corpus.dev_documents and cfg.eval_size > 0):
        logger.info("no dev set (the corpus has no dev.jsonl, or eval_size is 0): no dev ROUGE and no model "
                    "selection; the model to use is the last one, final/summarizer (best/ is not written)")
    if t.pairs is None:
        return
    uses = [f"{t.batches.pairs_per_batch} of each {cfg.pretrain.batch_size}-document pre-training batch"]
    if cfg.adversarial.steps and cfg.supervised.adversarial_weight:
        uses.append(f"a teacher-forced batch at weight {cfg.supervised.adversarial_weight} in each "
                    f"adversarial update")
    if cfg.supervised.discriminator and (cfg.pretrain_d.steps or cfg.adversarial.steps):
        uses.append("summaries among D's human sentences")
    logger.info(f"semi-supervised: {len(t.pairs)} pairs from {t.pairs.path} (sha256 "
                f"{t.pairs.sha256[:12]}...): {'; '.join(uses)}")
    for note in t.pairs.notes:
        logger.warning(note)


def stage_throughput(timing: dict) -> dict:
    """examples/s and achieved model FLOP/s of a stage from its accumulated wall-clock seconds and the steps it ran
    (not the configured steps: a resumed run may have run fewer in this stage's timing)."""
    seconds = max(timing["seconds"], 1e-9)
    out = {**timing, "examples_per_second": timing["examples"] / seconds}
    if "flops_per_step" in timing and "steps" in timing:
        out["flops_per_second"] = timing["flops_per_step"] * timing["steps"] / seconds
    return out


def _flat_scalars(tree: dict, prefix: str = "") -> dict:
    """A config's scalars by dotted key, for the tracker's hyper-parameters; the rewards list as
    adversarial.rewards.NAME.weight (and .model)."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value):
            value = {v["name"]: {k: x for k, x in v.items() if k != "name"} for v in value}
        if isinstance(value, dict):
            flat.update(_flat_scalars(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float, str, bool)):
            flat[f"{prefix}{key}"] = value
    return flat
