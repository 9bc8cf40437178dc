"""The ``"seq2seq2seq-summarization"`` transformers pipeline: a summarizer export behind ``transformers.pipeline``.

    import transformers
    from seq2seq2seq.inference.hf_pipeline import register, summarization_pipeline

    register()  # adds the task to transformers' pipeline registry; nothing is registered on import
    summarizer = transformers.pipeline("seq2seq2seq-summarization", model="runs/cpu/final/summarizer")
    summarizer("The 2 cats sat on the mat.")                  # [{"summary_text": "..."}]
    summarizer(["first article", "second article"], batch_size=32, num_beams=5, max_words=10)
    summarizer(texts, max_new_tokens=20, min_new_tokens=4)   # the usual generate arguments work too

    summarizer = summarization_pipeline("runs/cpu", device="cpu")   # the same, with the model path checked

transformers 5 removed the stock "summarization" and "text2text-generation" pipelines, so this module provides a
pipeline task for our exports, built on :mod:`seq2seq2seq.inference.api`: it decodes with the export's constraints,
normalises raw text like the training data and truncates documents to the model's limit, and gives the same
summaries as ``python -m seq2seq2seq.summarize`` with the same settings.

Two ways to load, because transformers reads ``config.json`` before any code of a task runs:

- ``transformers.pipeline(TASK, model=EXPORT_FOLDER)`` after :func:`register` loads the folder with transformers'
  own loader (``AutoModelForSeq2SeqLM``): right for a complete export, but a run folder (no config.json) is
  transformers' error, and a load our checks would refuse (pickle-only weights, missing tensors) is retried with the
  classes config.json names, which load pickles and fill missing tensors with random values.
- :func:`summarization_pipeline` checks the path as the summarize CLI's ``--model`` does (a run folder resolves to
  RUN/final/summarizer; a missing, foreign, pickle-only, truncated or incomplete export is a ModelLoadError that
  says what to pass instead). :func:`install_model_path_checks` (opt-in, never on import) routes
  ``transformers.pipeline(TASK, model=PATH)`` through it.

On transformers < 5 the stock ``transformers.pipeline("summarization", model=DIR)`` also loads an export (it is a
standard model folder with its tokenizer and generation defaults), but it applies only what ``generate`` knows
(max/min new tokens, beams, no-repeat n-grams): not the damping, the source restriction or the normaliser.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from pathlib import Path
from typing import Any

import torch
import transformers
import transformers.pipelines
from transformers import AutoModelForSeq2SeqLM, Pipeline, PreTrainedModel
from transformers.pipelines import PIPELINE_REGISTRY

from seq2seq2seq.config import DecodingConfig
from seq2seq2seq.decoding.sampling import generate_summaries, word_start_mask
from seq2seq2seq.inference.api import (
    SummarizeError,
    check_document_limit,
    decoder_positions,
    decoding_overrides,
    encoder_positions,
    export_language,
    export_lengths,
    export_settings,
    lead_length,
    length_prefix,
    length_request,
    load_export,
    present,
    replaced_warning,
)
from seq2seq2seq.length_control import default_words, trained_lengths
from seq2seq2seq.models.build import ModelLoadError, check_finite
from seq2seq2seq.normalize import normalize as normalize_text

TASK = "seq2seq2seq-summarization"


# keyword arguments accepted at construction or per call, by kind
_PREPROCESS_KEYS = ("normalize", "max_document_tokens", "truncation", "words")
_DECODING_KEYS = ("num_beams", "no_repeat_ngram_size", "eos_damping", "eos_damping_tokens", "no_repeat_words",
                  "in_order")
_MAX_KEYS = ("max_words", "max_new_tokens", "max_length")  # each sets the length cap: one at a time
_MIN_KEYS = ("min_words", "min_new_tokens", "min_length")  # each sets the minimum length: one at a time
# generate arguments accepted where they match what this pipeline does (checked in _decoding_for)
_GENERATE_KEYS = ("do_sample", "early_stopping", "length_penalty")
ACCEPTED_ARGUMENTS = _PREPROCESS_KEYS + _DECODING_KEYS + _MAX_KEYS + _MIN_KEYS + _GENERATE_KEYS
_SAMPLING_KEYS = {"temperature", "top_k", "top_p", "typical_p", "min_p", "num_return_sequences", "epsilon_cutoff",
                  "eta_cutoff"}
_INT_KEYS = {"max_document_tokens", "words", "num_beams", "no_repeat_ngram_size", "eos_damping_tokens", *_MAX_KEYS,
             *_MIN_KEYS}
_FLOAT_KEYS = {"eos_damping", "length_penalty"}
_BOOL_KEYS = {"normalize", "truncation", "no_repeat_words", "in_order", "do_sample"}


def _check_types(kwargs: dict[str, Any]) -> None:
    for key, value in kwargs.items():
        if key in _INT_KEYS and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"{TASK} pipeline: {key} must be an integer, got {value!r}")
        if key in _FLOAT_KEYS and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TypeError(f"{TASK} pipeline: {key} must be a number, got {value!r}")
        if key in _BOOL_KEYS and not isinstance(value, bool):
            raise TypeError(f"{TASK} pipeline: {key} must be True or False, got {value!r}")
        if key == "early_stopping" and value not in (True, False, "never"):
            raise TypeError(f"{TASK} pipeline: early_stopping must be True, False or 'never', got {value!r}")


def _one_of(kwargs: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, int] | None:
    given = [key for key in keys if key in kwargs]
    if len(given) > 1:
        raise ValueError(f"{TASK} pipeline: {' and '.join(given)} set the same length; give only one of "
                         f"{', '.join(keys)}")
    return (given[0], kwargs[given[0]]) if given else None


class Seq2Seq2SeqSummarizationPipeline(Pipeline):
    """Summaries from a seq2seq2seq export; returns ``[{"summary_text": ...}]`` per input.

    Call arguments (each also accepted by ``transformers.pipeline(...)`` as a default for every call): ``normalize``
    (default True; False for already-normalised text), ``max_document_tokens`` (default: the export's limit),
    ``num_beams``, ``no_repeat_ngram_size``, ``eos_damping``, ``eos_damping_tokens``, ``no_repeat_words``, ``in_order``
    (defaults: the export's), and the summary length: ``max_words`` or ``max_new_tokens`` or ``max_length`` (=
    max_new_tokens + 1: for an encoder-decoder, generate counts the decoder start token), and ``min_words`` or
    ``min_new_tokens`` or ``min_length`` (= min_new_tokens + 1); words map to tokens as in :func:`decoding_overrides`.
    ``words``: the length a length-conditioned export (``pretrain.length_words``) is asked for, as ``summarize --words
    N``: its control token goes before the document and the summary has exactly N whole words (the nearest trained
    length's token for an N it was not trained on, with a warning); without it such an export is asked for its default
    length, capped there unless a length argument is given. Accepted where they describe what this pipeline does:
    ``do_sample=False``, ``early_stopping=True`` and ``length_penalty=1.0`` (any value with greedy decoding, where they
    do nothing), ``truncation=True`` (documents are always truncated to the model's limit).
    ``decoding=DecodingConfig(...)`` at construction replaces the export's decoding settings altogether.
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    # generate is called by seq2seq2seq.decoding.sampling with our own logits processor, not by the base class
    _pipeline_calls_generate = False

    def __init__(self, model: PreTrainedModel, *args: Any, decoding: DecodingConfig | None = None,
                 **kwargs: Any) -> None:
        if not isinstance(model, PreTrainedModel) or not getattr(model.config, "is_encoder_decoder", False):
            raise ModelLoadError(f"{TASK} pipeline: model must be a seq2seq2seq summarizer (an encoder-decoder), got "
                                 f"{type(model).__name__}; pass model=RUN/final/summarizer")
        # also a model given loaded, not through load_export: NaN weights would give empty summaries without an error
        check_finite(model, model.name_or_path)
        # set before the base class checks the construction-time arguments against them (_sanitize_parameters)
        folder = Path(str(model.name_or_path))
        stored, self.max_document_tokens, _ = export_settings(folder, model.config)
        self.language, notes = export_language(folder)
        for note in notes:
            print(f"warning: {note}", file=sys.stderr)
        self.decoding = decoding or stored
        self._positions = decoder_positions(model)
        self._encoder_positions = encoder_positions(model)
        self._replaced = 0  # summaries replaced by their document's first words in the current call
        # a length-conditioned export's lengths (checked against its tokenizer below), as length_request reads them
        self.folder, self.length_words = folder, trained_lengths(model.config)
        self.default_words = default_words(self.length_words)
        super().__init__(model, *args, **kwargs)
        if self.tokenizer is None:
            raise ModelLoadError(f"{TASK} pipeline: no tokenizer; pass the export folder as model= (it holds the "
                                 f"tokenizer) or tokenizer=...")
        if self.length_words:
            self.length_words, self.default_words = export_lengths(folder, model.config, self.tokenizer)
        self.model.eval()

    def _sanitize_parameters(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}  # None keeps the default, as in generate
        unknown = set(kwargs) - set(ACCEPTED_ARGUMENTS)
        if unknown:
            hint = (" (sampling arguments do not apply: this pipeline decodes greedily or with beam search)"
                    if unknown & _SAMPLING_KEYS else "")
            raise TypeError(f"{TASK} pipeline: unknown argument(s) {', '.join(sorted(unknown))}{hint}; accepted: "
                            f"{', '.join(ACCEPTED_ARGUMENTS)}")
        _check_types(kwargs)
        if kwargs.get("do_sample"):
            raise ValueError(f"{TASK} pipeline: do_sample=True: sampling is not supported by this pipeline, which "
                             f"decodes greedily (or with beam search given num_beams); drop do_sample")
        if kwargs.get("truncation") is False:
            raise ValueError(f"{TASK} pipeline: truncation=False: documents are always truncated to the model's "
                             f"limit ({self.max_document_tokens} tokens), since it cannot read more; drop truncation")
        if "max_document_tokens" in kwargs:  # 0 is not "the default", and the encoder reads no more than its positions
            try:
                check_document_limit(kwargs["max_document_tokens"], self._encoder_positions)
            except SummarizeError as err:
                raise ValueError(f"{TASK} pipeline: {err}") from None
        preprocess = {k: kwargs[k] for k in ("normalize", "max_document_tokens", "words") if k in kwargs}
        forward = {k: kwargs[k] for k in _DECODING_KEYS + ("early_stopping", "length_penalty", "words") if k in kwargs}
        postprocess: dict[str, Any] = {}
        if "words" in kwargs:
            self._check_words(kwargs)
        cap = _one_of(kwargs, _MAX_KEYS)
        if cap is not None:
            forward["summary_cap"] = cap
            # a token cap given per call also replaces a max_words given at construction, whose cut would remain
            postprocess["max_words"] = cap[1] if cap[0] == "max_words" else None
        minimum = _one_of(kwargs, _MIN_KEYS)
        if minimum is not None:
            forward["summary_min"] = minimum
        # check the settings as they will be used (merged with the construction-time ones): a bad one fails here,
        # before any document is decoded
        self._decoding_for({**getattr(self, "_forward_params", {}), **forward})
        return preprocess, forward, postprocess

    def _check_words(self, kwargs: dict[str, Any]) -> None:
        """``words`` asks a length-conditioned export for a length; alone (it sets the caps), once warned."""
        others = [key for key in _MAX_KEYS + _MIN_KEYS if key in kwargs]
        if others:
            raise ValueError(f"{TASK} pipeline: words sets the summary's length: give it without {', '.join(others)}")
        try:
            _, _, _, notes = length_request(self, kwargs["words"])
        except SummarizeError as err:
            raise ValueError(f"{TASK} pipeline: {err}".replace("--words", "words").replace("--max-words", "max_words")
                             .replace("--min-words", "min_words")) from None
        for note in notes:
            print(f"warning: {note.replace('--words ', 'words=')}", file=sys.stderr)

    def _words_for(self, params: dict[str, Any]) -> int | None:
        """The words the summary is cut to for these arguments: ``words``, else a length-conditioned export's default
        length when no length argument is given (as summarize asks it), else None (the length arguments decide)."""
        if params.get("words") is not None:
            return params["words"]
        if self.length_words and not (params.get("summary_cap") or params.get("summary_min")):
            return self.default_words
        return None

    def _decoding_for(self, params: dict[str, Any]) -> DecodingConfig:
        """The decoding settings for the merged forward arguments; ValueError for those that cannot apply."""
        lengths: dict[str, int] = {}
        words = self._words_for(params)
        if words is not None:  # words sets both caps: a length argument given with it elsewhere gives way
            params = {**params, "summary_cap": ("max_words", words),
                      "summary_min": ("min_words", words) if self.decoding.whole_words else None}
        for given in (params.get("summary_cap"), params.get("summary_min")):
            if given is None:
                continue
            name, value = given
            if name == "max_length":  # an encoder-decoder's max_length counts the decoder start token
                if value < 2:
                    raise ValueError(f"{TASK} pipeline: max_length must be >= 2 (it counts the decoder start token: "
                                     f"max_length = max_new_tokens + 1), got {value}")
                if self._positions is not None and value - 1 > self._positions:
                    raise ValueError(f"{TASK} pipeline: max_length={value} allows {value - 1} summary tokens but "
                                     f"this model's decoder has positions for {self._positions}; use max_length <= "
                                     f"{self._positions + 1}")
                name, value = "max_new_tokens", value - 1
            elif name == "min_length":
                name, value = "min_new_tokens", max(value - 1, 0)
            lengths[name] = value
        cfg = decoding_overrides(self.decoding, decoder_positions=self._positions, **lengths,
                                 **{k: params[k] for k in _DECODING_KEYS if k in params})
        early_stopping = params.get("early_stopping")
        if early_stopping is not None and early_stopping is not True and cfg.num_beams > 1:
            raise ValueError(f"{TASK} pipeline: early_stopping={early_stopping!r}: this pipeline's beam search always "
                             f"stops once num_beams summaries are finished (early_stopping=True); drop the argument")
        length_penalty = params.get("length_penalty")
        if length_penalty is not None:
            if not math.isfinite(length_penalty):
                raise ValueError(f"{TASK} pipeline: length_penalty must be finite, got {length_penalty}")
            if length_penalty != 1.0 and cfg.num_beams > 1:
                raise ValueError(f"{TASK} pipeline: length_penalty={length_penalty}: this pipeline's beam search ranks "
                                 f"summaries by mean log-probability per token (length_penalty=1.0) only; drop it, "
                                 f"and steer the length with max_new_tokens/min_new_tokens or max_words/min_words")
        return cfg

    def __call__(self, inputs: str | list[str], *args: Any, **kwargs: Any) -> Any:
        if isinstance(inputs, list) and not inputs:
            # the arguments are still checked (those of the base class's __call__ aside)
            self._sanitize_parameters(**{k: v for k, v in kwargs.items() if k not in ("batch_size", "num_workers")})
            return []  # transformers' own batching fails on an empty list
        self._replaced = 0
        result = super().__call__(inputs, *args, **kwargs)
        if isinstance(inputs, (str, list)):  # a generator or dataset gives an iterator: the count is not final yet
            replaced_warning(self._replaced, 1 if isinstance(inputs, str) else len(inputs))
        # like the transformers 4 summarization pipeline: a list of strings gives a flat list of dicts
        if isinstance(inputs, list) and all(isinstance(r, list) and len(r) == 1 for r in result):
            return [r[0] for r in result]
        return result

    def preprocess(self, text: str, normalize: bool = True, max_document_tokens: int | None = None,
                   words: int | None = None) -> dict[str, Any]:
        if not isinstance(text, str):
            raise TypeError(f"{TASK} pipeline: expected a string or a list of strings, got {type(text).__name__}")
        document = normalize_text(text, self.language) if normalize else " ".join(text.split())
        limit = self.max_document_tokens if max_document_tokens is None else max_document_tokens
        # a length-conditioned export reads the asked length's control token first, as the CLI gives it
        prefix = length_prefix(self, words or self.default_words) if document else ""
        encoded = self.tokenizer(prefix + document, max_length=limit, truncation=True, return_tensors="pt")
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"],
                "empty": not document, "document": document}

    def _forward(self, model_inputs: dict[str, Any], **params: Any) -> dict[str, Any]:
        cfg = self._decoding_for(params)
        out = generate_summaries(self.model, model_inputs["input_ids"], model_inputs["attention_mask"], cfg,
                                 num_beams=cfg.num_beams, no_repeat_ngram_size=cfg.no_repeat_ngram_size,
                                 word_start=word_start_mask(self.tokenizer) if cfg.whole_words else None,
                                 finish_words=True)
        # batched, "empty" and "document" are lists (one a row) that the pipeline splits back up with the rows
        rows = {key: value if isinstance(value, list) else [value]
                for key, value in (("empty", model_inputs["empty"]), ("document", model_inputs["document"]))}
        n = len(rows["empty"])
        cut = self._words_for(params)  # the word cut of a length asked for
        return {"summary_ids": out.summary_ids, **rows, "lead": [lead_length(cfg)] * n, "cut": [cut] * n}

    def postprocess(self, model_outputs: dict[str, Any], max_words: int | None = None) -> list[dict[str, str]]:
        empty, document, lead, cut = (model_outputs[key][0] if isinstance(model_outputs[key], list)
                                      else model_outputs[key] for key in ("empty", "document", "lead", "cut"))
        if empty:
            return [{"summary_text": ""}]
        decoded = self.tokenizer.decode(model_outputs["summary_ids"][0], skip_special_tokens=True)
        text, replaced = present(decoded, max_words or cut, self.language, document, lead)
        self._replaced += replaced
        return [{"summary_text": text}]


def summarization_pipeline(model: str | os.PathLike, *, best: bool = False,
                           **kwargs: Any) -> Seq2Seq2SeqSummarizationPipeline:
    """The ``seq2seq2seq-summarization`` pipeline for an export or a run folder, checked like the summarize CLI's.

    ``model``: RUN/final/summarizer, RUN/final or RUN (``best``: RUN/best/summarizer). Other keyword arguments are
    those of ``transformers.pipeline`` (``device``, ``batch_size``, ``dtype``, ...) and the pipeline's own
    (:class:`Seq2Seq2SeqSummarizationPipeline`). Raises ModelLoadError, with the fix, for a path that is not a
    complete safetensors export. Registers the task (:func:`register`) if it is not yet: transformers builds a
    pipeline only for a registered task.
    """
    dtype = kwargs.pop("dtype", None) or kwargs.pop("torch_dtype", None)
    if isinstance(dtype, str) and dtype != "auto":
        if not isinstance(getattr(torch, dtype, None), torch.dtype):
            raise ValueError(f"{TASK} pipeline: dtype={dtype!r} is not a torch dtype; use e.g. 'float32' or "
                             f"'bfloat16'")
        dtype = getattr(torch, dtype)
    loaded, tokenizer, _ = load_export(model, best=best)
    if isinstance(dtype, torch.dtype):  # transformers.pipeline does not convert a model it is given loaded
        loaded.to(dtype)
    kwargs.setdefault("tokenizer", tokenizer)
    register()
    return _TRANSFORMERS_PIPELINE(TASK, model=loaded, **kwargs)


def register() -> None:
    """Add the ``seq2seq2seq-summarization`` task to transformers' pipeline registry (idempotent).

    Explicit rather than on import, so that importing this package changes nothing in transformers. Uses the public
    ``PIPELINE_REGISTRY.register_pipeline``; after it, ``transformers.pipeline(TASK, model=EXPORT_FOLDER)`` works
    with transformers' own loading (see the module's docstring for what it does not check).
    """
    if PIPELINE_REGISTRY.supported_tasks.get(TASK, {}).get("impl") is Seq2Seq2SeqSummarizationPipeline:
        return  # registering again would log "Overwriting pipeline for task"
    PIPELINE_REGISTRY.register_pipeline(TASK, pipeline_class=Seq2Seq2SeqSummarizationPipeline,
                                        pt_model=AutoModelForSeq2SeqLM, type="text")


# transformers.pipeline as transformers defines it (also after install_model_path_checks, or a reload of this module)
_TRANSFORMERS_PIPELINE = getattr(transformers.pipelines.pipeline, "_seq2seq2seq_original",
                                 transformers.pipelines.pipeline)


@functools.wraps(_TRANSFORMERS_PIPELINE)
def _checked_pipeline(task: str | None = None, model: Any = None, *args: Any, **kwargs: Any) -> Any:
    """transformers.pipeline, with a model path of this task checked and loaded by :func:`summarization_pipeline`."""
    if task == TASK and isinstance(model, (str, os.PathLike)) and not args:
        return summarization_pipeline(model, **kwargs)
    return _TRANSFORMERS_PIPELINE(task, model, *args, **kwargs)


_checked_pipeline._seq2seq2seq_original = _TRANSFORMERS_PIPELINE  # type: ignore[attr-defined]


def install_model_path_checks() -> None:
    """Opt-in: make ``transformers.pipeline(TASK, model=PATH)`` check PATH as :func:`summarization_pipeline` does
    (run folders resolved, broken exports refused with the fix); registers the task too. Idempotent.

    No registry entry can do this: transformers.pipeline reads PATH/config.json with AutoConfig before any code of
    the task runs (a run folder has none), and when the registered loader refuses a folder it retries with the
    classes config.json names, which load pickle-only weights and fill missing tensors with random values. So this
    replaces ``transformers.pipeline`` (and ``transformers.pipelines.pipeline``) by a thin function that sends this
    task with a path to :func:`summarization_pipeline` and every other call to the original, unchanged. It is never
    done on import. Call it before the first ``transformers.pipeline(...)``: code that bound ``from transformers
    import pipeline`` earlier keeps the original, and so may a ``transformers`` module object that already used it
    (transformers replaces its top-level module once while it loads, and the earlier object caches what it looked
    up).
    """
    register()
    transformers.pipelines.pipeline = _checked_pipeline
    # the top-level package as it is now (not necessarily the object this module bound when it was imported)
    sys.modules["transformers"].pipeline = _checked_pipeline
