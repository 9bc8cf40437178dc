"""The Accelerate side of training, apart from the algorithm: the accelerator, micro-batches and when DDP syncs,
the learning-rate warm-up, clipping with non-finite steps skipped, and per-batch seeds.

Every stage's step is written against this small surface (``micro_batches``, ``sync``, ``backward``,
``update``), so the stages read as the algorithm and the distributed details live here once.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Iterator

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger

from seq2seq2seq.config import TrainConfig
from seq2seq2seq.data import seed_batch

logger = get_logger(__name__)


def has_tensorboard() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def build_accelerator(cfg: TrainConfig) -> Accelerator:
    """bf16 on a GPU that supports it (``mixed_precision: auto``), tensorboard when asked for and installed."""
    precision = cfg.mixed_precision
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    trackers = "tensorboard" if cfg.report_to == "tensorboard" and has_tensorboard() else None
    # the learning rate is set by hand each step (see Engine.set_lr), so no scheduler is stepped per process;
    # cpu=True on a machine without a GPU is what makes Accelerate run torchrun's processes as MULTI_CPU (gloo)
    return Accelerator(mixed_precision=precision, log_with=trackers, project_dir=cfg.output_dir,
                       cpu=not torch.cuda.is_available())


class Engine:
    """Processes, micro-batches, gradient sync, learning rates, clipping and seeds for one run."""

    def __init__(self, cfg: TrainConfig, accelerator: Accelerator) -> None:
        self.cfg, self.accelerator = cfg, accelerator
        self.world, self.rank = accelerator.num_processes, accelerator.process_index
        # the run's state (saved in checkpoints): update counts the steps it skips there, per model
        self.state: dict = {}

    @property
    def device(self) -> torch.device:
        return self.accelerator.device

    @property
    def accumulation(self) -> int:
        return self.cfg.gradient_accumulation_steps

    def micro_batches(self, step: int) -> Iterator[tuple[bool, int]]:
        """(is_last, global batch index) for each micro-batch of an optimizer step. Index (step * a + m) * world +
        rank: the same batches whether a run uses N processes or 1 process with N times the accumulation."""
        a = self.accumulation
        for m in range(a):
            yield m == a - 1, (step * a + m) * self.world + self.rank

    def seed(self, stream: str, index: int) -> random.Random:
        """Seed torch's global RNG (sampling, dropout) for batch ``index`` of ``stream`` and return a Python RNG with
        the same seed (pseudo-summaries): each batch's randomness is a function of (seed, stream, batch), the same
        whether resumed or split over processes."""
        return seed_batch(self.cfg.seed, stream, index)

    def sync(self, last: bool, *models: torch.nn.Module) -> contextlib.ExitStack:
        """Accumulate gradients locally on all but the last micro-batch (no inter-process all-reduce)."""
        stack = contextlib.ExitStack()
        if not last:
            for model in models:
                stack.enter_context(self.accelerator.no_sync(model))
        return stack

    def local(self, model: torch.nn.Module) -> contextlib.AbstractContextManager:
        """Gradients of ``model`` accumulate locally (no all-reduce) inside: for a loss whose backward comes before
        the micro-batch's last one (the anchor before the policy gradient)."""
        return self.accelerator.no_sync(model)

    def set_lr(self, optimizer: torch.optim.Optimizer, peak: float, step: int) -> None:
        """Linear warm-up to ``peak`` over warmup_steps of each stage, then constant."""
        warmup = self.cfg.warmup_steps
        for group in optimizer.param_groups:
            group["lr"] = peak * min(1.0, (step + 1) / warmup) if warmup else peak

    def backward(self, loss: torch.Tensor) -> None:
        """Backward of one micro-batch's loss, scaled so the step's gradient is the mean over micro-batches."""
        self.accelerator.backward(loss / self.accumulation)

    def update(self, name: str, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> float:
        """Clip and step; a step whose gradients are not finite is skipped (and logged), so that one bad batch (a
        -inf log-prob) cannot turn the model into NaN for good. Returns the gradient norm before clipping."""
        # max_norm inf clips nothing; the norm is still needed to see non-finite gradients (identical on every
        # process after the all-reduce, so all of them skip together)
        norm = float(self.accelerator.clip_grad_norm_(model.parameters(), self.cfg.max_grad_norm or float("inf")))
        if not math.isfinite(norm):
            optimizer.zero_grad(set_to_none=True)
            skipped = self.state.setdefault("skipped_steps", {})
            skipped[name] = skipped.get(name, 0) + 1
            logger.warning(f"skipped an update of {name.upper()}: its gradient norm is {norm} (non-finite loss); "
                           f"{skipped[name]} skipped so far")
            return norm
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return norm


def accumulate(stats: dict[str, float], scale: float, **values: float) -> None:
    """Add each value times ``scale`` into ``stats`` (the mean over a step's micro-batches when scale = 1/a)."""
    for key, value in values.items():
        stats[key] = stats.get(key, 0.0) + value * scale


def reduce_mean(accelerator: Accelerator, window: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each logged value over the steps of the window and over processes."""
    keys = sorted({k for row in window for k in row})
    local = torch.tensor([sum(row.get(k, 0.0) for row in window) / max(len(window), 1) for k in keys],
                         device=accelerator.device)
    values = accelerator.reduce(local, reduction="mean") if accelerator.num_processes > 1 else local
    return dict(zip(keys, values.tolist()))
