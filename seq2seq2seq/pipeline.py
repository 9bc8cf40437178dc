"""Summarizing in Python with a summarizer export, and the ``"seq2seq2seq-summarization"`` transformers pipeline.

    import transformers
    import seq2seq2seq.pipeline  # registers the task

    summarizer = transformers.pipeline("seq2seq2seq-summarization", model="runs/cpu/final/summarizer")
    summarizer("The 2 cats sat on the mat.")                  # [{"summary_text": "..."}]
    summarizer(["first article", "second article"], batch_size=32, num_beams=5, max_words=10)

In Python without the pipeline: ``load_summarizer(DIR)`` then ``summarize_documents(...)``, the core of the summarize
CLI (:mod:`seq2seq2seq.summarize`). transformers 5 removed the stock "summarization" and "text2text-generation"
pipelines, so this module also provides a pipeline task for our exports, built on the same pieces. It decodes
through :mod:`seq2seq2seq.sampling` with the export's ``seq2seq2seq_decoding.json`` constraints (minimum length,
end-of-sentence damping, source-only pieces), normalises raw text like the training data, and truncates documents
to the model's limit: it gives the same summaries as ``python -m seq2seq2seq.summarize`` with the same settings.

On transformers < 5 the stock ``transformers.pipeline("summarization", model=DIR)`` also loads an export (it is a
standard model folder with its tokenizer and generation defaults), but it applies only what ``generate`` knows
(max/min new tokens, beams, no-repeat n-grams): not the damping, the source restriction or the normaliser.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, Pipeline, PreTrainedModel, PreTrainedTokenizerBase
from transformers.pipelines import PIPELINE_REGISTRY
from transformers.utils import logging as hf_logging

from .checkpoint import DECODING_FILE
from .config import DecodingConfig
from .models import ModelLoadError, describe_error, load_seq2seq
from .normalize import normalize as normalize_text
from .sampling import generate_summaries, summarize_texts, word_start_mask

TASK = "seq2seq2seq-summarization"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "spiece.model", "sentencepiece.bpe.model", "vocab.json")
# Without a stored limit: T5 has relative positions and no hard limit, 512 is what it was pre-trained with
DEFAULT_MAX_DOCUMENT_TOKENS = 512


class SummarizeError(ValueError):
    """A bad setting or input; the message says what to do. The CLI prints it and exits 2."""


# --------------------------------------------------------------------------------------------------------------------
# the export: model, tokenizer, decoding settings, document limit


@dataclass
class Summarizer:
    """A loaded summarizer export and the settings it was trained with."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    decoding: DecodingConfig
    max_document_tokens: int
    folder: Path


def resolve_export(path: str | Path, best: bool = False) -> Path:
    """The summarizer folder for ``path``: an export itself, a run folder (RUN/final/summarizer, or RUN/best/summarizer
    with ``best``), or an export parent (RUN/final)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelLoadError(f"model folder {path} does not exist; pass a summarizer export (RUN/final/summarizer) "
                             f"or a training run folder (RUN)")
    if not path.is_dir():
        raise ModelLoadError(f"--model {path} is a file; pass the summarizer folder (RUN/final/summarizer) or the run "
                             f"folder (RUN)")
    if best:
        for candidate in (path / "best" / "summarizer", path / "summarizer"):
            if (candidate / "config.json").is_file():
                return candidate
        raise ModelLoadError(f"--best: {path} has no best/summarizer; pass the run folder of a training run that "
                             f"evaluated on dev (or drop --best to use final/summarizer)")
    for candidate in (path, path / "final" / "summarizer", path / "summarizer"):
        if (candidate / "config.json").is_file():
            return candidate
    raise ModelLoadError(f"{path} is not a summarizer export (no config.json) nor a run folder (no "
                         f"final/summarizer/config.json); pass the folder written by training, e.g. "
                         f"RUN/final/summarizer")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"{path} is unreadable ({err.__class__.__name__}); re-export the summarizer") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} does not hold a JSON object; re-export the summarizer")
    return data


def _run_config_document_limit(folder: Path) -> int | None:
    """``model.max_document_tokens`` of the training config beside the export (RUN/final/ or RUN/config.yaml)."""
    for candidate in (folder.parent / "config.yaml", folder.parent.parent / "config.yaml"):
        if not candidate.is_file():
            continue
        try:
            value = (yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}).get("model", {}).get(
                "max_document_tokens")
        except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
            continue
        if isinstance(value, int) and value > 0:
            return value
    return None


def export_settings(folder: str | Path, model_config: Any) -> tuple[DecodingConfig, int, list[str]]:
    """The decoding settings and document limit of an export, plus warnings about settings that were guessed.

    The document limit comes from, in order: ``max_document_tokens`` in seq2seq2seq_decoding.json, the training
    config beside the export, the model's position limit (BART: max_position_embeddings - 2), else 512.
    """
    folder = Path(folder)
    notes: list[str] = []
    stored: dict[str, Any] = {}
    if (folder / DECODING_FILE).is_file():
        stored = _read_json(folder / DECODING_FILE)
    else:
        notes.append(f"{folder} has no {DECODING_FILE} (not a seq2seq2seq export?); using default decoding settings")
    fields = {f.name for f in dataclasses.fields(DecodingConfig)}
    try:
        decoding = DecodingConfig(**{k: v for k, v in stored.items() if k in fields})
    except (TypeError, ValueError) as err:
        raise ModelLoadError(f"{folder / DECODING_FILE} holds invalid settings ({err}); re-export the "
                             f"summarizer") from None
    limit = stored.get("max_document_tokens") or _run_config_document_limit(folder)
    if not limit:
        positions = getattr(model_config, "max_position_embeddings", None)
        if getattr(model_config, "model_type", None) == "bart" and positions:
            limit = positions - 2  # BART's learned positions carry an offset of 2
        else:
            limit = getattr(model_config, "n_positions", None) or DEFAULT_MAX_DOCUMENT_TOKENS
    return decoding, int(limit), notes


@contextlib.contextmanager
def _quiet_loading():
    """No "Loading weights" bar from transformers: the CLI's stderr is for our progress bar and warnings."""
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def load_summarizer(path: str | Path, *, best: bool = False, device: str | torch.device = "cpu") -> Summarizer:
    """Load a summarizer export (or a run folder's) onto ``device``; raises ModelLoadError with a fix-it message."""
    folder = resolve_export(path, best)
    config = _read_json(folder / "config.json")
    if not config.get("is_encoder_decoder", False):
        raise ModelLoadError(f"{folder} holds a '{config.get('model_type', 'unknown')}' model, not an encoder-decoder "
                             f"summarizer; pass RUN/final/summarizer")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ModelLoadError(f"{folder} has no tokenizer (no tokenizer.json or tokenizer_config.json); copy the run's "
                             f"tokenizer in (cp RUN/final/tokenizer/* {folder}/) or re-export the summarizer")
    with _quiet_loading():
        model = load_seq2seq(folder)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except Exception as err:  # tokenizers, sentencepiece and transformers each raise their own kinds
        raise ModelLoadError(f"cannot load the tokenizer in {folder} ({describe_error(err)}); copy the run's "
                             f"tokenizer in "
                             f"(RUN/final/tokenizer) or re-export the summarizer") from None
    decoding, limit, notes = export_settings(folder, model.config)
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    model.to(device).eval()
    return Summarizer(model, tokenizer, decoding, limit, folder)


# --------------------------------------------------------------------------------------------------------------------
# decoding settings given at run time, the words-to-tokens rule, batched summarizing


def decoding_overrides(decoding: DecodingConfig, *, num_beams: int | None = None,
                       no_repeat_ngram_size: int | None = None, max_words: int | None = None,
                       min_words: int | None = None, eos_damping: float | None = None,
                       eos_damping_tokens: int | None = None, no_repeat_words: bool | None = None) -> DecodingConfig:
    """The export's decoding settings with the given ones replaced (None keeps the export's).

    Words to tokens: ``max_words`` W caps decoding at 2W tokens (a word is one to two sentencepiece pieces in
    normalised news text); the decoded text is then cut to W words by :func:`trim_words`. ``min_words`` M forbids
    end-of-sentence before M tokens: a word is at least one token, so this never forces more than M words, though a
    summary whose words split into pieces may end with fewer than M words. When only W is given and the export's
    minimum does not fit under the new cap, the minimum is lowered to fit.
    """
    if max_words is not None and max_words < 1:
        raise SummarizeError(f"--max-words must be >= 1, got {max_words}")
    if min_words is not None and min_words < 0:
        raise SummarizeError(f"--min-words must be >= 0, got {min_words}")
    if min_words is not None and max_words is not None and min_words > max_words:
        raise SummarizeError(f"--min-words {min_words} is more than --max-words {max_words}; lower --min-words")
    changes: dict[str, Any] = {}
    if no_repeat_words is not None:
        if no_repeat_words and not decoding.whole_words:
            raise SummarizeError("--no-repeat-words works on whole source words, but this export decodes without "
                                 "decoding.whole_words; leave the flag off for it")
        changes["no_repeat_words"] = no_repeat_words
    if num_beams is not None:
        if num_beams < 1:
            raise SummarizeError(f"--beams must be >= 1 (1 = greedy), got {num_beams}")
        changes["num_beams"] = num_beams
    if no_repeat_ngram_size is not None:
        if no_repeat_ngram_size < 0:
            raise SummarizeError(f"--no-repeat-ngram must be >= 0 (0 = off), got {no_repeat_ngram_size}")
        changes["no_repeat_ngram_size"] = no_repeat_ngram_size
    if eos_damping is not None:
        if eos_damping < 0:
            raise SummarizeError(f"--eos-damping must be >= 0 (it is subtracted from the end-of-sentence logit), "
                                 f"got {eos_damping}")
        changes["eos_damping"] = eos_damping
    if eos_damping_tokens is not None:
        if eos_damping_tokens < 0:
            raise SummarizeError(f"--eos-damping-tokens must be >= 0, got {eos_damping_tokens}")
        changes["eos_damping_tokens"] = eos_damping_tokens
    max_tokens = 2 * max_words if max_words is not None else decoding.max_summary_tokens
    changes["max_summary_tokens"] = max_tokens
    if min_words is not None:
        if min_words >= max_tokens:
            raise SummarizeError(f"--min-words {min_words} does not fit under the summary cap of {max_tokens} tokens; "
                                 f"raise --max-words (the cap is 2 tokens per word) or lower --min-words")
        changes["min_summary_tokens"] = min_words
    else:
        changes["min_summary_tokens"] = min(decoding.min_summary_tokens, max_tokens - 1)
    return dataclasses.replace(decoding, **changes)


def trim_words(text: str, max_words: int | None) -> str:
    """Collapse whitespace and keep at most ``max_words`` words (all of them for None)."""
    words = text.split()
    return " ".join(words if max_words is None else words[:max_words])


def summarize_documents(summarizer: Summarizer, documents: list[str], decoding: DecodingConfig, *,
                        max_words: int | None = None, batch_size: int = 64, bf16: bool = False,
                        progress: bool = False) -> list[str]:
    """Summaries of normalised documents, in input order; an empty document gets an empty summary.

    Deterministic: greedy and beam search involve no randomness, and batches are formed by length
    (``sampling.summarize_texts``), so the output does not depend on the input order or the batch size.
    """
    keep = [i for i, doc in enumerate(documents) if doc.strip()]
    device = next(summarizer.model.parameters()).device
    # bf16 autocast works on cpu as well as cuda; the weights stay in float32
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
        texts = summarize_texts(summarizer.model, summarizer.tokenizer, [documents[i] for i in keep], decoding,
                                max_document_tokens=summarizer.max_document_tokens, batch_size=batch_size,
                                progress=progress)
    summaries = [""] * len(documents)
    for i, text in zip(keep, texts):
        summaries[i] = trim_words(text, max_words)
    return summaries


def count_truncated(tokenizer: PreTrainedTokenizerBase, documents: list[str], max_tokens: int) -> int:
    """How many documents have more tokens (end-of-sentence included) than the model reads."""
    if not documents:
        return 0
    lengths = [len(ids) for ids in tokenizer(documents)["input_ids"]]
    return sum(n > max_tokens for n in lengths)


# --------------------------------------------------------------------------------------------------------------------
# the transformers pipeline


# keyword arguments accepted at construction or per call, and the stage of the pipeline that uses each
_PREPROCESS_KEYS = ("normalize", "max_document_tokens")
_FORWARD_KEYS = ("num_beams", "no_repeat_ngram_size", "max_words", "min_words", "eos_damping", "eos_damping_tokens")
_POSTPROCESS_KEYS = ("max_words",)


class Seq2Seq2SeqSummarizationPipeline(Pipeline):
    """Summaries from a seq2seq2seq export; returns ``[{"summary_text": ...}]`` per input.

    Call arguments (each also accepted by ``transformers.pipeline(...)`` as a default for every call):
    ``normalize`` (default True; False for already-normalised text), ``max_document_tokens`` (default: the
    export's limit), ``num_beams``, ``no_repeat_ngram_size``, ``max_words``, ``min_words``, ``eos_damping``,
    ``eos_damping_tokens`` (defaults: the export's; words map to tokens as in
    :func:`seq2seq2seq.summarize.decoding_overrides`). ``decoding=DecodingConfig(...)`` at construction replaces
    the export's decoding settings altogether.
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    # generate is called by seq2seq2seq.sampling with our own logits processor, not by the base class
    _pipeline_calls_generate = False

    def __init__(self, *args: Any, decoding: DecodingConfig | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored, self.max_document_tokens, _ = export_settings(Path(str(self.model.name_or_path)), self.model.config)
        self.decoding = decoding or stored
        self.model.eval()

    def _sanitize_parameters(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        unknown = set(kwargs) - set(_PREPROCESS_KEYS + _FORWARD_KEYS)
        if unknown:
            raise TypeError(f"{TASK} pipeline: unknown argument(s) {', '.join(sorted(unknown))}; accepted: "
                            f"{', '.join(_PREPROCESS_KEYS + _FORWARD_KEYS)}")
        pick = lambda keys: {k: kwargs[k] for k in keys if kwargs.get(k) is not None}  # noqa: E731
        return pick(_PREPROCESS_KEYS), pick(_FORWARD_KEYS), pick(_POSTPROCESS_KEYS)

    def __call__(self, inputs: str | list[str], *args: Any, **kwargs: Any) -> Any:
        result = super().__call__(inputs, *args, **kwargs)
        # like the transformers 4 summarization pipeline: a list of strings gives a flat list of dicts
        if isinstance(inputs, list) and all(isinstance(r, list) and len(r) == 1 for r in result):
            return [r[0] for r in result]
        return result

    def preprocess(self, text: str, normalize: bool = True,
                   max_document_tokens: int | None = None) -> dict[str, Any]:
        if not isinstance(text, str):
            raise TypeError(f"{TASK} pipeline: expected a string or a list of strings, got {type(text).__name__}")
        document = normalize_text(text) if normalize else " ".join(text.split())
        encoded = self.tokenizer(document, max_length=max_document_tokens or self.max_document_tokens,
                                 truncation=True, return_tensors="pt")
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"],
                "empty": not document}

    def _forward(self, model_inputs: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        cfg = decoding_overrides(self.decoding, **overrides)
        out = generate_summaries(self.model, model_inputs["input_ids"], model_inputs["attention_mask"], cfg,
                                 num_beams=cfg.num_beams, no_repeat_ngram_size=cfg.no_repeat_ngram_size,
                                 word_start=word_start_mask(self.tokenizer) if cfg.whole_words else None)
        empty = model_inputs["empty"]
        # batched, "empty" is a list (one flag a row) that the pipeline splits back up with the rows
        return {"summary_ids": out.summary_ids, "empty": empty if isinstance(empty, list) else [empty]}

    def postprocess(self, model_outputs: dict[str, Any], max_words: int | None = None) -> list[dict[str, str]]:
        empty = model_outputs["empty"]
        empty = empty[0] if isinstance(empty, list) else empty
        ids = model_outputs["summary_ids"]
        text = "" if empty else trim_words(self.tokenizer.decode(ids[0], skip_special_tokens=True), max_words)
        return [{"summary_text": text}]


def register() -> None:
    """Register the ``seq2seq2seq-summarization`` task with transformers (idempotent)."""
    if PIPELINE_REGISTRY.supported_tasks.get(TASK, {}).get("impl") is Seq2Seq2SeqSummarizationPipeline:
        return
    PIPELINE_REGISTRY.register_pipeline(TASK, pipeline_class=Seq2Seq2SeqSummarizationPipeline,
                                        pt_model=AutoModelForSeq2SeqLM, type="text")


register()
