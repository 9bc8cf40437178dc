"""Resumable checkpoints (``accelerator.save_state``) and the final export of the three models.

A checkpoint is written to a temporary folder and renamed into place, so an interrupted save never leaves a
half-written checkpoint that ``--resume`` would pick up.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import torch
from accelerate import Accelerator
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from seq2seq2seq.config import DecodingConfig, TrainConfig, config_to_yaml
from seq2seq2seq.language import DEFAULT_LANGUAGE
from seq2seq2seq.length_control import default_words
from seq2seq2seq.models.build import describe_error
from seq2seq2seq.normalize import normalizer_info

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


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """sha256 of the tokenizer's piece -> id table and special tokens: two tokenizers with the same vocabulary size
    but other ids (a rebuilt corpus) get different fingerprints."""
    table = sorted(tokenizer.get_vocab().items())
    special = sorted((k, str(v)) for k, v in tokenizer.special_tokens_map.items())
    return hashlib.sha256(json.dumps([table, special], ensure_ascii=False).encode("utf-8")).hexdigest()


# the config key that sets each model's tokenizer (else the corpus's), named by the resume error
_TOKENIZER_SOURCES = {"summarizer": "model.summarizer_init", "reconstructor": "model.reconstructor_init",
                      "discriminator": "discriminator.init"}


def saved_fingerprints(state: dict[str, Any]) -> dict[str, str]:
    """The tokenizer fingerprints a checkpoint's state holds, by model (checkpoints written before R and D could
    have tokenizers of their own hold only G's)."""
    saved = dict(state.get("tokenizers_sha256") or {})
    if state.get("tokenizer_sha256") is not None:
        saved.setdefault("summarizer", state["tokenizer_sha256"])
    return saved


def check_resumable(state: dict[str, Any], cfg: TrainConfig, fingerprints: dict[str, str], path: Path,
                    stages: tuple[str, ...]) -> None:
    """Refuse a resume that would silently train something else than the checkpoint's run. ``fingerprints``: this
    run's :func:`tokenizer_fingerprint` by model (summarizer, reconstructor, discriminator)."""
    for model, saved in saved_fingerprints(state).items():
        if model not in fingerprints or saved == fingerprints[model]:
            continue
        key = _TOKENIZER_SOURCES[model]
        section, name = key.split(".")
        source = getattr(getattr(cfg, section), name) or f"{cfg.data_dir}/tokenizer"
        lengths = " or pretrain.length_words" if model == "summarizer" else ""
        raise CheckpointError(f"{path} was trained with another {model} tokenizer than {source} (same size perhaps, "
                              f"other token ids: the corpus was rebuilt, or {key}{lengths} changed?); resume with the "
                              f"corpus it was trained on (--data_dir) and the same {key}, or start a new run "
                              f"(--output_dir NEW)")
    current = stages.index(state["stage"])
    for stage in stages[:current]:
        ran = state.get("stage_steps", {}).get(stage)
        if ran is not None and getattr(cfg, stage).steps != ran:
            raise CheckpointError(f"{path} finished stage {stage} after {ran} steps and is now in {state['stage']}; "
                                  f"this config asks for {stage}.steps {getattr(cfg, stage).steps}, but a resumed "
                                  f"run cannot go back to an earlier stage: pass --{stage}.steps {ran} to continue, "
                                  f"or start a new run (--output_dir NEW)")
    if getattr(cfg, state["stage"]).steps < state["step"]:
        raise CheckpointError(f"{path} has already run {state['step']} steps of {state['stage']}; this config asks "
                              f"for {state['stage']}.steps {getattr(cfg, state['stage']).steps}: pass at least "
                              f"{state['step']} to continue, or start a new run (--output_dir NEW)")


def non_finite_tensors(models: dict[str, Any]) -> list[str]:
    """``model.tensor (n of N values)`` for each floating parameter or buffer holding an inf or a nan."""
    found = []
    for model_name, model in models.items():
        tensors = {name: t for name, t in model.state_dict().items() if t.is_floating_point() and t.numel()}
        if not tensors:
            continue
        # one device-to-host copy per model, not one per tensor
        counts = torch.stack([(~torch.isfinite(t)).sum() for t in tensors.values()]).tolist()
        found += [f"{model_name}.{name} ({bad} of {t.numel()} values)"
                  for (name, t), bad in zip(tensors.items(), counts) if bad]
    return found


def check_finite(models: dict[str, Any], what: str, output_dir: str | Path) -> None:
    """Stop when any weight of ``models`` (name -> model) is inf or nan: a diverged model written over the last good
    checkpoint or export would lose that one. ``what``: what is not done, e.g. "the export RUN/final was not
    written". The message names the tensors and what remains."""
    bad = non_finite_tensors(models)
    if not bad:
        return
    shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
    saved = list_checkpoints(output_dir)
    remains = (f"the last good checkpoint, {saved[-1]}, remains" if saved else "no checkpoint was saved before")
    raise CheckpointError(
        f"training diverged: {len(bad)} tensors hold inf or nan values ({shown}); {what}. Nothing was saved over: "
        f"{remains}, and earlier exports are untouched. Lower the learning rates (resume with --resume "
        f"--resume-with-changes and e.g. --adversarial.lr_g, or start a new run in another --output_dir)")


def check_output_dir(output_dir: str | Path, resume: bool, overwrite: bool) -> None:
    """Refuse to train into a folder whose finished run (exports, results) would be replaced, unless asked to."""
    out = Path(output_dir)
    if resume or overwrite or list_checkpoints(out):
        return  # with checkpoints, train.cli refuses without --resume itself
    finished = [name for name in ("final", "best", "results.json") if (out / name).exists()]
    if finished:
        raise CheckpointError(f"{out} holds a finished run ({', '.join(finished)}) and no checkpoints to resume: "
                              f"training would replace its exports. Choose another --output_dir, or pass "
                              f"--overwrite to replace that run")


def remove_stale_temporaries(output_dir: str | Path) -> list[Path]:
    """Half-written checkpoints (``checkpoints/.tmp-*``) left by a killed run; one run trains in a folder at a time."""
    root = checkpoint_dir(output_dir)
    stale = sorted(root.glob(".tmp-*")) if root.is_dir() else []
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def apply_umask(folder: Path) -> None:
    """Give the files under ``folder`` the mode a new file gets here: some writers (safetensors via transformers
    and accelerate) create theirs 0600 whatever the user's umask, so a shared export would be unreadable to others."""
    mode = 0o666 & ~_umask()
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.chmod(path, mode)


@contextlib.contextmanager
def _quiet_tied_weights():
    """accelerate warns "Removed shared tensor ... while saving" for tied embeddings at every checkpoint; loading
    ties them again (the resume tests check the weights), so the warning is noise to a user."""
    quiet = logging.getLogger("accelerate.utils.other")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        yield
    finally:
        quiet.setLevel(level)


def save_checkpoint(accelerator: Accelerator, output_dir: str | Path, state: dict[str, Any], keep: int) -> Path:
    """Save models, optimizers and the loop state as ``checkpoints/step-NNNNNNNN``; keep the newest ``keep``."""
    root = checkpoint_dir(output_dir)
    final = root / f"step-{state['global_step']:08d}"
    tmp = root / f".tmp-{final.name}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    with _quiet_tied_weights():
        accelerator.save_state(str(tmp), safe_serialization=True)
    accelerator.wait_for_everyone()  # every process has written its part before the folder is renamed
    if accelerator.is_main_process:
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")
        apply_umask(tmp)
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        for old in list_checkpoints(output_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator: Accelerator, path: Path,
                    check: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Restore models and optimizers from a checkpoint folder and return its loop state; ``check`` sees the state
    first and may refuse it (a tokenizer of another size would otherwise read as a corrupt checkpoint)."""
    try:
        state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"checkpoint {path} has no readable {STATE_FILE} ({err.__class__.__name__}); delete "
                              f"that folder to resume from the one before it, or start without --resume") from None
    if check is not None:
        check(state)
    try:
        accelerator.load_state(str(path))
    except Exception as err:  # safetensors, torch and accelerate each raise their own kinds
        raise CheckpointError(f"checkpoint {path} is corrupt, incomplete or from another model configuration "
                              f"({describe_error(err)}); delete that folder to resume from the "
                              f"one before it, or start without --resume") from None
    return state


def save_summarizer(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, decoding: DecodingConfig,
                    folder: Path, max_document_tokens: int | None = None,
                    language: str = DEFAULT_LANGUAGE, length_words: list[int] | None = None) -> None:
    """A standard transformers model folder that ``pipeline("summarization", model=folder)`` loads.

    The tokenizer goes in too (the pipeline needs it), generation defaults mirror the training decoding settings,
    and the constraints ``generate`` cannot express (source-only pieces, end-of-sentence damping) are kept in
    ``seq2seq2seq_decoding.json`` for the summarize CLI, with the document length the model was trained on and the
    corpus's ``language`` setting (with its normaliser), which the CLI and the pipeline normalise input with.
    A length-conditioned G (``length_words``) records the lengths it was trained on and the default one there too
    (``summarize --words N``; its model config holds them as well, with their control tokens' ids).
    With transformers 5 (which removed the stock summarization pipeline) call
    ``seq2seq2seq.inference.hf_pipeline.register()`` and use ``pipeline("seq2seq2seq-summarization", model=folder)``;
    with transformers 4, ``pipeline("summarization")``.
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
    settings = {**asdict(decoding), "max_document_tokens": max_document_tokens, "language": language,
                "normalizer": normalizer_info(language)}
    if length_words:
        settings.update(length_words=list(length_words), default_words=default_words(length_words))
    (folder / DECODING_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")
    apply_umask(folder)


def export_models(folder: Path, summarizer: PreTrainedModel, reconstructor: PreTrainedModel,
                  discriminator: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cfg: TrainConfig,
                  results: dict[str, Any], language: str = DEFAULT_LANGUAGE,
                  reconstructor_tokenizer: PreTrainedTokenizerBase | None = None,
                  discriminator_tokenizer: PreTrainedTokenizerBase | None = None,
                  resume_changes: list[dict[str, Any]] | None = None) -> None:
    """``folder/{summarizer,reconstructor,discriminator,tokenizer}`` plus the resolved config and results JSON;
    ``language``: the corpus's language setting, recorded in the summarizer export. Each model folder holds the
    tokenizer that model reads (R's and D's default to G's, ``tokenizer``, which ``folder/tokenizer`` holds too);
    ``resume_changes``: the settings a resume changed, listed in the config (config_to_yaml)."""
    save_summarizer(summarizer, tokenizer, cfg.decoding, folder / "summarizer", cfg.model.max_document_tokens,
                    language, cfg.pretrain.length_words)
    reconstructor.save_pretrained(folder / "reconstructor", safe_serialization=True)
    (reconstructor_tokenizer or tokenizer).save_pretrained(folder / "reconstructor")
    discriminator.save_pretrained(folder / "discriminator", safe_serialization=True)
    (discriminator_tokenizer or tokenizer).save_pretrained(folder / "discriminator")
    tokenizer.save_pretrained(folder / "tokenizer")
    (folder / "config.yaml").write_text(config_to_yaml(cfg, resume_changes), encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    apply_umask(folder)
