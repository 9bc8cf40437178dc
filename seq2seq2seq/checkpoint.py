"""Resumable checkpoints (``accelerator.save_state``) and the final export of the three models.

A checkpoint is written to a temporary folder and renamed into place, so an interrupted save never leaves a
half-written checkpoint that ``--resume`` would pick up.
"""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from accelerate import Accelerator
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from .config import DecodingConfig, TrainConfig, config_to_yaml
from .models import describe_error

DECODING_FILE = "seq2seq2seq_decoding.json"
STATE_FILE = "training_state.json"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message says what to do."""


def checkpoint_dir(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints, oldest first (names sort by their zero-padded global step)."""
    root = checkpoint_dir(output_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("step-*") if (p / STATE_FILE).is_file())


def save_checkpoint(accelerator: Accelerator, output_dir: str | Path, state: dict[str, Any], keep: int) -> Path:
    """Save models, optimizers and the loop state as ``checkpoints/step-NNNNNNNN``; keep the newest ``keep``."""
    root = checkpoint_dir(output_dir)
    final = root / f"step-{state['global_step']:08d}"
    tmp = root / f".tmp-{final.name}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp), safe_serialization=True)
    accelerator.wait_for_everyone()  # every process has written its part before the folder is renamed
    if accelerator.is_main_process:
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        for old in list_checkpoints(output_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator: Accelerator, path: Path) -> dict[str, Any]:
    """Restore models and optimizers from a checkpoint folder and return its loop state."""
    try:
        state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"checkpoint {path} has no readable {STATE_FILE} ({err.__class__.__name__}); delete "
                              f"that folder to resume from the one before it, or start without --resume") from None
    try:
        accelerator.load_state(str(path))
    except Exception as err:  # safetensors, torch and accelerate each raise their own kinds
        raise CheckpointError(f"checkpoint {path} is corrupt, incomplete or from another model configuration "
                              f"({describe_error(err)}); delete that folder to resume from the "
                              f"one before it, or start without --resume") from None
    return state


def save_summarizer(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, decoding: DecodingConfig,
                    folder: Path, max_document_tokens: int | None = None) -> None:
    """A standard transformers model folder that ``pipeline("summarization", model=folder)`` loads.

    The tokenizer goes in too (the pipeline needs it), generation defaults mirror the training decoding settings,
    and the constraints ``generate`` cannot express (source-only pieces, end-of-sentence damping) are kept in
    ``seq2seq2seq_decoding.json`` for the summarize CLI, with the document length the model was trained on.
    With transformers 5 (which removed the stock summarization pipeline) ``import seq2seq2seq.pipeline`` and use
    ``pipeline("seq2seq2seq-summarization", model=folder)``; with transformers 4, ``pipeline("summarization")``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    live = model.generation_config
    generation = copy.deepcopy(live)  # the export's defaults only; the model in training keeps its own
    generation.max_new_tokens = decoding.max_summary_tokens
    generation.min_new_tokens = decoding.min_summary_tokens or None
    generation.num_beams = decoding.num_beams
    generation.no_repeat_ngram_size = decoding.no_repeat_ngram_size or None
    generation.early_stopping = True if decoding.num_beams > 1 else False
    generation.max_length = None
    model.generation_config = generation
    try:
        model.save_pretrained(folder, safe_serialization=True)
    finally:
        model.generation_config = live
    tokenizer.save_pretrained(folder)
    settings = {**asdict(decoding), "max_document_tokens": max_document_tokens}
    (folder / DECODING_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")


def export_models(folder: Path, summarizer: PreTrainedModel, reconstructor: PreTrainedModel,
                  discriminator: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cfg: TrainConfig,
                  results: dict[str, Any]) -> None:
    """``folder/{summarizer,reconstructor,discriminator,tokenizer}`` plus the resolved config and results JSON."""
    save_summarizer(summarizer, tokenizer, cfg.decoding, folder / "summarizer", cfg.model.max_document_tokens)
    reconstructor.save_pretrained(folder / "reconstructor", safe_serialization=True)
    tokenizer.save_pretrained(folder / "reconstructor")
    discriminator.save_pretrained(folder / "discriminator", safe_serialization=True)
    tokenizer.save_pretrained(folder / "tokenizer")
    (folder / "config.yaml").write_text(config_to_yaml(cfg), encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
