"""Summarizing in Python with a summarizer export: load it, then summarize normalised documents.

    from seq2seq2seq.inference.api import decoding_overrides, load_summarizer, summarize_documents
    from seq2seq2seq.normalize import normalize

    summarizer = load_summarizer("runs/cpu")             # RUN, RUN/final or RUN/final/summarizer
    decoding = decoding_overrides(summarizer.decoding, num_beams=5, max_words=10)
    documents = [normalize(text, summarizer.language) for text in texts]
    summaries = summarize_documents(summarizer, documents, decoding)

This is the core of the summarize CLI (:mod:`seq2seq2seq.inference.cli`) and of the ``seq2seq2seq-summarization``
transformers pipeline (:mod:`seq2seq2seq.inference.hf_pipeline`), so both give the same summaries with the same
settings. Loading checks the export before transformers reads it: a missing, foreign, pickle-only, truncated or
incomplete export is a ModelLoadError that says what to pass instead. Decoding goes through
:mod:`seq2seq2seq.decoding.sampling` with the export's ``seq2seq2seq_decoding.json`` constraints (minimum length,
end-of-sentence damping, source-only pieces); documents are read in the normaliser's form of the language setting the
export records (``en`` for exports that record none), truncated to the model's limit, and Chinese and Japanese
summaries are shown without the spaces between words. Choosing among candidates is
:mod:`seq2seq2seq.inference.choose`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex
import torch
import yaml
from torch import nn
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from seq2seq2seq.checkpoint import DECODING_FILE
from seq2seq2seq.config import ConfigError, DecodingConfig
from seq2seq2seq.decoding.sampling import summarize_texts
from seq2seq2seq.language import DEFAULT_LANGUAGE, LanguageError, check_language, detokenize, segmenter_note
from seq2seq2seq.length_control import (
    default_words,
    length_token_ids,
    nearest_length,
    trained_lengths,
    untrained_warning,
    with_length_token,
)
from seq2seq2seq.models.build import ModelLoadError, describe_error, load_seq2seq, read_json_object

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "spiece.model", "sentencepiece.bpe.model", "vocab.json")
# Without a stored limit: T5 has relative positions and no hard limit, 512 is what it was pre-trained with
DEFAULT_MAX_DOCUMENT_TOKENS = 512
# a letter, mark or digit (# is the English normaliser's digit): a summary without one is empty or punctuation only
_WORD_CHARACTER = regex.compile(r"[\p{L}\p{M}\p{N}#]")


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
    language: str = DEFAULT_LANGUAGE  # how documents are normalised and summaries shown (seq2seq2seq.language)
    # a length-conditioned G (pretrain.length_words): the word counts it was trained on, and the one used when none
    # is asked for; empty and None for any other model
    length_words: list[int] = dataclasses.field(default_factory=list)
    default_words: int | None = None


def resolve_export(path: str | Path, best: bool = False) -> Path:
    """The summarizer folder for ``path``: an export itself, a run folder (RUN/final/summarizer, or RUN/best/summarizer
    with ``best``), or an export parent (RUN/final)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelLoadError(f"model folder {path} does not exist; pass a summarizer export (RUN/final/summarizer) "
                             f"or a training run folder (RUN)")
    if not path.is_dir():
        raise ModelLoadError(f"model path {path} is a file; pass the summarizer folder (RUN/final/summarizer) or the "
                             f"run folder (RUN)")
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
    return read_json_object(path, "re-export the summarizer")


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


def export_language(folder: str | Path) -> tuple[str, list[str]]:
    """The language setting an export records (``en`` when it records none: exports from before the setting), and
    warnings about it (its Chinese text was segmented otherwise than this machine would)."""
    path = Path(folder) / DECODING_FILE
    stored = _read_json(path) if path.is_file() else {}
    try:
        language = check_language(str(stored.get("language", DEFAULT_LANGUAGE)), f"{path}: language")
    except LanguageError as err:
        raise ModelLoadError(f"{err}; re-export the summarizer with this version") from None
    note = segmenter_note(stored.get("normalizer"), language, f"the export {folder}")
    return language, [note] if note else []


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


def load_export(path: str | Path, *, best: bool = False) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, Path]:
    """The model and tokenizer of a summarizer export (or a run folder's) and its folder, on the CPU.

    Raises ModelLoadError with a fix-it message for anything that is not a complete seq2seq2seq export.
    """
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
    return model, tokenizer, folder


def load_summarizer(path: str | Path, *, best: bool = False, device: str | torch.device = "cpu") -> Summarizer:
    """Load a summarizer export (or a run folder's) onto ``device``; raises ModelLoadError with a fix-it message."""
    model, tokenizer, folder = load_export(path, best=best)
    decoding, limit, notes = export_settings(folder, model.config)
    language, language_notes = export_language(folder)
    for note in notes + language_notes:
        print(f"warning: {note}", file=sys.stderr)
    lengths, default = export_lengths(folder, model.config, tokenizer)
    model.to(device).eval()
    return Summarizer(model, tokenizer, decoding, limit, folder, language, lengths, default)


def export_lengths(folder: str | Path, model_config: Any,
                   tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], int | None]:
    """The lengths a length-conditioned export was trained on and its default one (from seq2seq2seq_decoding.json,
    else its model config), checked against its tokenizer; ([], None) for a model that is not length-conditioned."""
    path = Path(folder) / DECODING_FILE
    stored = _read_json(path) if path.is_file() else {}
    lengths = [int(n) for n in stored.get("length_words") or trained_lengths(model_config)]
    if not lengths:
        return [], None
    try:
        length_token_ids(tokenizer, lengths)
    except ValueError as err:
        raise ModelLoadError(f"{folder} was trained on lengths {lengths} but {err}; copy the tokenizer the run "
                             f"saved with it (RUN/final/tokenizer) or re-export the summarizer") from None
    return lengths, int(stored.get("default_words") or default_words(lengths))


def decoder_positions(model: PreTrainedModel) -> int | None:
    """How many summary tokens the decoder can take, or None without a learned position table (T5).

    BART-style decoders (bart, our pointer-bart) look positions up in a table of max_position_embeddings rows (plus
    BART's offset of 2); a longer summary is an IndexError in the middle of generate.
    """
    get_decoder = getattr(model, "get_decoder", None)
    table = getattr(get_decoder(), "embed_positions", None) if callable(get_decoder) else None
    if not isinstance(table, nn.Embedding):
        return None
    return table.num_embeddings - int(getattr(table, "offset", 0))


def encoder_positions(model: PreTrainedModel) -> int | None:
    """How many document tokens the encoder can take, or None without a position table (T5's relative positions).

    BART-style encoders (and Pegasus, Marian) have ``embed_positions`` (BART's offset of 2 aside); the BERT-style
    encoder of a BERT2BERT model has ``embeddings.position_embeddings`` (RoBERTa's position ids start after its
    padding id). A longer document is an IndexError in the middle of the encoder.
    """
    get_encoder = getattr(model, "get_encoder", None)
    encoder = get_encoder() if callable(get_encoder) else None
    table = getattr(encoder, "embed_positions", None)
    if isinstance(table, nn.Embedding):
        return table.num_embeddings - int(getattr(table, "offset", 0))
    embeddings = getattr(encoder, "embeddings", None)
    table = getattr(embeddings, "position_embeddings", None)
    if not isinstance(table, nn.Embedding):
        return None
    padding = getattr(embeddings, "padding_idx", None)
    return table.num_embeddings - (padding + 1 if isinstance(padding, int) else 0)


def check_document_limit(value: Any, positions: int | None, what: str = "max_document_tokens") -> int:
    """``value`` as a document limit in tokens: an integer from 1 to the encoder's ``positions``
    (:func:`encoder_positions`; no upper bound without a position table); SummarizeError (a ValueError) if not."""
    valid = f"1..{positions}" if positions is not None else ">= 1"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (positions is not None
                                                                               and value > positions):
        why = f" (this model's encoder has positions for {positions} tokens)" if positions is not None else ""
        raise SummarizeError(f"{what} must be an integer in {valid}{why}, got {value!r}")
    return value


# --------------------------------------------------------------------------------------------------------------------
# decoding settings given at run time, the words-to-tokens rule, batched summarizing


def decoding_overrides(decoding: DecodingConfig, *, num_beams: int | None = None,
                       no_repeat_ngram_size: int | None = None, max_words: int | None = None,
                       min_words: int | None = None, eos_damping: float | None = None,
                       eos_damping_tokens: int | None = None, no_repeat_words: bool | None = None,
                       in_order: bool | None = None,
                       max_new_tokens: int | None = None, min_new_tokens: int | None = None,
                       decoder_positions: int | None = None) -> DecodingConfig:
    """The export's decoding settings with the given ones replaced (None keeps the export's).

    Words to tokens: ``max_words`` W caps decoding at 2W tokens (a word is one to two sentencepiece pieces in
    normalised news text); the decoded text is then cut to W words by :func:`trim_words`. With whole-word decoding
    (``decoding.whole_words``, the trained configs' setting) words are counted exactly: ``min_words`` M forbids
    end-of-sentence before M complete words (a document with fewer usable words ends sooner), and no word starts
    after W words. Without it, ``min_words`` forbids end-of-sentence before M tokens: a word is at least one token,
    so this never forces more than M words, though a summary whose words split into pieces may end with fewer than
    M words. When only W is given and the export's
    minimum does not fit under the new cap, the minimum is lowered to fit. ``max_new_tokens``/``min_new_tokens`` set
    the token cap and minimum directly (generate's meaning; the cap counts the end-of-sentence token), instead of
    ``max_words``/``min_words``. ``decoder_positions`` (:func:`decoder_positions`) refuses a cap the decoder cannot
    reach.
    """
    _check_lengths(max_words, min_words, max_new_tokens, min_new_tokens)
    changes = _search_changes(decoding, num_beams=num_beams, no_repeat_ngram_size=no_repeat_ngram_size,
                              eos_damping=eos_damping, eos_damping_tokens=eos_damping_tokens,
                              no_repeat_words=no_repeat_words, in_order=in_order)
    max_tokens = _token_cap(decoding, max_words, max_new_tokens, decoder_positions)
    changes["max_summary_tokens"] = max_tokens
    changes.update(_minimum_changes(decoding, max_tokens, max_words, min_words, min_new_tokens))
    try:
        return dataclasses.replace(decoding, **changes)
    except ConfigError as err:  # DecodingConfig's own checks, as a usage error rather than a traceback
        raise SummarizeError(f"invalid decoding settings: {err}") from None


def _check_lengths(max_words: int | None, min_words: int | None, max_new_tokens: int | None,
                   min_new_tokens: int | None) -> None:
    """Refuse lengths out of range or given twice, first: every later step reads them."""
    if max_words is not None and max_new_tokens is not None:
        raise SummarizeError("give max_words or max_new_tokens, not both: both set the summary length cap")
    if min_words is not None and min_new_tokens is not None:
        raise SummarizeError("give min_words or min_new_tokens, not both: both set the summary's minimum length")
    if max_words is not None and max_words < 1:
        raise SummarizeError(f"--max-words must be >= 1, got {max_words}")
    if max_new_tokens is not None and max_new_tokens < 1:
        raise SummarizeError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if min_words is not None and min_words < 0:
        raise SummarizeError(f"--min-words must be >= 0, got {min_words}")
    if min_new_tokens is not None and min_new_tokens < 0:
        raise SummarizeError(f"min_new_tokens must be >= 0, got {min_new_tokens}")
    if min_words is not None and max_words is not None and min_words > max_words:
        raise SummarizeError(f"--min-words {min_words} is more than --max-words {max_words}; lower --min-words")


def _search_changes(decoding: DecodingConfig, *, num_beams: int | None, no_repeat_ngram_size: int | None,
                    eos_damping: float | None, eos_damping_tokens: int | None,
                    no_repeat_words: bool | None, in_order: bool | None = None) -> dict[str, Any]:
    """The settings of the search other than its lengths, each checked: beams, repeat blocking, word order,
    damping."""
    changes: dict[str, Any] = {}
    for flag, key, value in (("--no-repeat-words", "no_repeat_words", no_repeat_words),
                             ("--in-order", "in_order", in_order)):
        if value is None:
            continue
        if value and not decoding.whole_words:
            raise SummarizeError(f"{flag} works on whole source words, but this export decodes without "
                                 f"decoding.whole_words; leave the flag off for it")
        changes[key] = value
    if num_beams is not None:
        if num_beams < 1:
            raise SummarizeError(f"--beams must be >= 1 (1 = greedy), got {num_beams}")
        changes["num_beams"] = num_beams
    if no_repeat_ngram_size is not None:
        if no_repeat_ngram_size < 0:
            raise SummarizeError(f"--no-repeat-ngram must be >= 0 (0 = off), got {no_repeat_ngram_size}")
        changes["no_repeat_ngram_size"] = no_repeat_ngram_size
    if eos_damping is not None:
        # nan passes every comparison and inf turns the logit into nan: both are refused here, not deep in decoding
        if not (math.isfinite(eos_damping) and eos_damping >= 0):
            raise SummarizeError(f"--eos-damping must be >= 0 and finite (it is subtracted from the end-of-sentence "
                                 f"logit), got {eos_damping}")
        changes["eos_damping"] = eos_damping
    if eos_damping_tokens is not None:
        if eos_damping_tokens < 0:
            raise SummarizeError(f"--eos-damping-tokens must be >= 0, got {eos_damping_tokens}")
        changes["eos_damping_tokens"] = eos_damping_tokens
    return changes


def _token_cap(decoding: DecodingConfig, max_words: int | None, max_new_tokens: int | None,
               positions: int | None) -> int:
    """The summary cap in tokens (2 a word for ``max_words``); refused past the decoder's ``positions``, where
    generate would fail with an IndexError halfway through."""
    if max_words is not None:
        max_tokens = 2 * max_words
    elif max_new_tokens is not None:
        max_tokens = max_new_tokens
    else:
        max_tokens = decoding.max_summary_tokens
    if positions is None or max_tokens <= positions:
        return max_tokens
    if max_words is not None:
        raise SummarizeError(f"--max-words {max_words} needs up to {max_tokens} summary tokens but this model's "
                             f"decoder has positions for {positions}; use --max-words <= {positions // 2}")
    if max_new_tokens is not None:
        raise SummarizeError(f"max_new_tokens={max_new_tokens} is more than this model's decoder has positions "
                             f"for ({positions}); use max_new_tokens <= {positions}")
    raise SummarizeError(f"this export's max_summary_tokens ({max_tokens}) is more than its decoder has "
                         f"positions for ({positions}); pass --max-words <= {positions // 2}")


def _minimum_changes(decoding: DecodingConfig, max_tokens: int, max_words: int | None, min_words: int | None,
                     min_new_tokens: int | None) -> dict[str, Any]:
    """The word cap and the minimum length under the token cap ``max_tokens``.

    With whole-word decoding words are counted as they are written (the token minimum stays the export's, lowered to
    fit under the cap); without it a minimum in words is one in tokens (a word is at least one token).
    """
    if min_words is not None and min_words >= max_tokens:
        raise SummarizeError(f"--min-words {min_words} does not fit under the summary cap of {max_tokens} tokens; "
                             f"raise --max-words (the cap is 2 tokens per word) or lower --min-words")
    changes: dict[str, Any] = {}
    if decoding.whole_words:
        if max_words is not None:
            changes["max_summary_words"] = max_words
        if min_words is not None:
            changes["min_summary_words"] = min_words
            if max_words is None and decoding.max_summary_words and min_words > decoding.max_summary_words:
                changes["max_summary_words"] = 0  # the user's minimum wins over the export's cap; the token cap holds
            min_words = None
    if min_words is not None:
        changes["min_summary_tokens"] = min_words
    elif min_new_tokens is not None:
        if min_new_tokens >= max_tokens:
            raise SummarizeError(f"min_new_tokens={min_new_tokens} does not fit under the summary cap of {max_tokens} "
                                 f"tokens (the cap counts the end-of-sentence token); raise max_new_tokens above "
                                 f"{min_new_tokens} or lower min_new_tokens")
        changes["min_summary_tokens"] = min_new_tokens
    else:
        changes["min_summary_tokens"] = min(decoding.min_summary_tokens, max_tokens - 1)
    return changes


def length_request(summarizer: Summarizer, words: int | None, max_words: int | None = None,
                   min_words: int | None = None) -> tuple[int | None, int | None, int | None, list[str]]:
    """What ``--words`` (``words``) means for this export: (the length G is asked for, the word cap, the word
    minimum, warnings). A length-conditioned export asked for N words reads N's control token (an N it was not
    trained on: the nearest trained length's, with a warning) and writes exactly N whole words (with whole-word
    decoding; else at most N); without ``words`` it is asked for its default length, capped there unless
    ``max_words``/``min_words`` are given. Any other export refuses ``words`` and keeps ``max_words``/``min_words``.
    """
    if words is None:
        words = summarizer.default_words
        if words is None or max_words is not None or min_words is not None:
            return words, max_words, min_words, []
    else:
        if words < 1:
            raise SummarizeError(f"--words must be >= 1, got {words}")
        if not summarizer.length_words:
            raise SummarizeError(f"--words asks a length-conditioned model for a length, but {summarizer.folder} was "
                                 f"not trained with pretrain.length_words; use --max-words {words} (and --min-words "
                                 f"{words}) instead")
        if max_words is not None or min_words is not None:
            raise SummarizeError("--words sets the summary's length: give it alone, without --max-words/--min-words")
    warning = untrained_warning(words, summarizer.length_words)
    return words, words, words if summarizer.decoding.whole_words else None, [warning] if warning else []


def length_prefix(summarizer: Summarizer, words: int | None) -> str:
    """What G's input starts with when asked for ``words`` words: the control token of that length (or of the nearest
    trained one), or nothing (``words`` None, or a model that is not length-conditioned)."""
    if words is None or not summarizer.length_words:
        return ""
    return with_length_token("", nearest_length(words, summarizer.length_words))


def trim_words(text: str, max_words: int | None) -> str:
    """Collapse whitespace and keep at most ``max_words`` words (all of them for None)."""
    words = text.split()
    return " ".join(words if max_words is None else words[:max_words])


def lead_length(decoding: DecodingConfig) -> int:
    """How many words the length settings ask for: the word cap, else half the token cap (a word is one to two
    tokens, as in :func:`decoding_overrides`)."""
    return decoding.max_summary_words or max(1, decoding.max_summary_tokens // 2)


def present(text: str, max_words: int | None, language: str, document: str = "", lead: int = 0
            ) -> tuple[str, bool]:
    """A decoded summary as shown: at most ``max_words`` words (segmented words for zh/ja, counted before their
    spaces go), then :func:`seq2seq2seq.language.detokenize`; and whether it was replaced.

    A summary with no letter or digit (empty, or punctuation only: seen from a Chinese model) says nothing, so it
    is replaced by the first ``lead`` words of its ``document``, the Lead baseline. The document is in the
    normaliser's form, whose spaces separate the language setting's words (zh and ja: segmented), so the words are
    counted as ``max_words`` counts them and shown as a summary is. The callers count the replacements and warn once
    (:func:`replaced_warning`). An empty document keeps its empty summary.
    """
    shown = detokenize(trim_words(text, max_words), language)
    if _WORD_CHARACTER.search(shown) or not document.strip():
        return shown, False
    words = max(lead if max_words is None else min(lead, max_words), 1)
    return detokenize(trim_words(document, words), language), True


def replaced_warning(replaced: int, total: int) -> None:
    """One line on stderr for the summaries :func:`present` replaced in a run (none when there were none)."""
    if replaced:
        print(f"warning: {replaced} of {total} summaries were empty or punctuation only; replaced by the document's "
              f"first words", file=sys.stderr)


def summarize_documents(summarizer: Summarizer, documents: list[str], decoding: DecodingConfig, *,
                        max_words: int | None = None, batch_size: int = 64, bf16: bool = False,
                        progress: bool = False, candidates: int = 0, chooser: Any = None,
                        seed: int = 0, no_longer: bool = False, temperature: float = 1.0,
                        extra: list[list[str]] | None = None, words: int | None = None) -> list[str]:
    """Summaries of normalised documents, in input order, as shown (:func:`present`: one with no word is replaced by
    the document's first words, with one warning for the run); an empty document gets an empty summary.

    Deterministic: greedy and beam search involve no randomness, and batches are formed by length
    (``sampling.summarize_texts``), so the output does not depend on the input order or the batch size.
    With ``candidates`` = k > 0, each document's summary is chosen by ``chooser`` (a
    :class:`seq2seq2seq.inference.choose.CandidateChooser`) among the decoded one and k samples
    (:mod:`seq2seq2seq.inference.choose`); the samples are drawn with ``seed``, so the output is repeatable for the
    same documents and batch size; ``no_longer`` lets only samples no longer than the decoded summary compete;
    ``temperature`` is the samples'; ``extra`` (a list of texts per document) are more candidates each, e.g. the
    no-model rule's summary. ``words``: the length a length-conditioned G is asked for (:func:`length_request`:
    its control token goes before each document; the caps are ``decoding``'s).
    """
    check_document_limit(summarizer.max_document_tokens, encoder_positions(summarizer.model),
                         "Summarizer.max_document_tokens")
    keep = [i for i, doc in enumerate(documents) if doc.strip()]
    device = next(summarizer.model.parameters()).device
    kept = [documents[i] for i in keep]
    prefix = length_prefix(summarizer, words)
    # bf16 autocast works on cpu as well as cuda; the weights stay in float32
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
        if candidates > 0 or extra is not None:
            from seq2seq2seq.inference.choose import summarize_and_choose

            if chooser is None:
                raise SummarizeError("choosing among candidates needs a chooser: CandidateChooser.load(...)")
            texts = summarize_and_choose(summarizer.model, summarizer.tokenizer, kept, decoding, k=candidates,
                                         chooser=chooser, max_document_tokens=summarizer.max_document_tokens,
                                         max_words=max_words, batch_size=batch_size, seed=seed, progress=progress,
                                         no_longer=no_longer, temperature=temperature,
                                         extra=None if extra is None else [extra[i] for i in keep], prefix=prefix)
        else:
            texts = summarize_texts(summarizer.model, summarizer.tokenizer, kept, decoding,
                                    max_document_tokens=summarizer.max_document_tokens, batch_size=batch_size,
                                    progress=progress, prefix=prefix)
    summaries = [""] * len(documents)
    replaced = 0
    for i, text in zip(keep, texts):
        summaries[i], was_replaced = present(text, max_words, summarizer.language, documents[i],
                                             lead_length(decoding))
        replaced += was_replaced
    replaced_warning(replaced, len(documents))
    return summaries


def count_truncated(tokenizer: PreTrainedTokenizerBase, documents: list[str], max_tokens: int) -> int:
    """How many documents have more tokens (end-of-sentence included) than the model reads."""
    if not documents:
        return 0
    lengths = [len(ids) for ids in tokenizer(documents)["input_ids"]]
    return sum(n > max_tokens for n in lengths)
