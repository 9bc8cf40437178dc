"""The ROUGE command line (``scripts/evaluate_rouge.py``): score summaries and Lead baselines, side by side.

    python scripts/evaluate_rouge.py --references ../shared/data/gigaword/test.jsonl \
        --predictions runs/model/test.txt --baseline lead-8 lead-10 lead-75c --json runs/model/rouge.json

References: a JSONL file (``--reference-field``, default ``summary``; a list value means several references per
example) or plain text, one reference per line. Predictions: plain text, one per line, or JSONL
(``--prediction-field``); JSONL predictions with an ``id`` field (as ``seq2seq2seq.inference.cli`` writes them) are
aligned to the references by id, in any order. Files ending in ``.jsonl``/``.json``/``.ndjson`` are read as JSONL,
anything else as text. ``--json`` may not name one of the input files.
Baseline documents come from the references' JSONL (``--document-field``) or ``--documents FILE``.
Prints a table (R-1, R-2, R-L x100, average words); ``--json`` writes the full-precision scores.
Bad input ends with ``error: ...`` on stderr and exit code 2.

``--language`` picks how words are counted (docs/evaluation.md): ``en`` (default) is rouge_score's tokenizer
(``[a-z0-9]`` only, Porter stemming); ``whitespace`` keeps Unicode letters (``café``, ``straße``); ``zh``/``ja``
score characters (``--cjk-unit char``, the usual choice on LCSTS) or segmented words (``--cjk-unit word``).

    python scripts/evaluate_rouge.py --language zh --references zh_pairs.jsonl --predictions zh_summaries.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from seq2seq2seq.eval.baselines import lead_baseline
from seq2seq2seq.eval.rouge import (
    MEASURES,
    PerlRougeUnavailable,
    RougeInputError,
    align_by_id,
    example_ids,
    format_table,
    is_jsonl,
    language_warning,
    prediction_ids,
    read_texts,
    score_summaries,
    score_summaries_perl,
)
from seq2seq2seq.language import CJK_LANGUAGES, LANGUAGES, ROUGE_UNITS


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        description="ROUGE-1/2/L (x100) and average length of summaries and Lead baselines.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--references", required=True, help="JSONL (see --reference-field) or text, one per line")
    parser.add_argument("--predictions", nargs="+", default=[], metavar="FILE", help="one or more prediction files")
    parser.add_argument("--names", nargs="+", metavar="NAME", help="system names for --predictions (default: stems)")
    parser.add_argument(
        "--baseline", nargs="+", default=[], metavar="NAME", help="lead-N (first N words), lead-Nc (first N chars)"
    )
    parser.add_argument("--reference-field", default="summary", help="JSONL field: a string or a list of strings")
    parser.add_argument("--prediction-field", default="summary", help="JSONL field of prediction files")
    parser.add_argument("--document-field", default="document", help="JSONL field holding the documents")
    parser.add_argument("--documents", help="documents for the baselines, if not in the references' JSONL")
    parser.add_argument("--limit", type=int, help="score only the first N examples of every input")
    parser.add_argument("--measure", choices=MEASURES, default="f1", help="F1 or recall")
    parser.add_argument("--truncate-bytes", type=int, metavar="N", help="cut predictions to N bytes (DUC: 75)")
    parser.add_argument("--no-stemmer", dest="use_stemmer", action="store_false", help="turn Porter stemming off")
    parser.add_argument(
        "--language", choices=LANGUAGES, default="en",
        help="en: rouge_score's [a-z0-9] words, stemmed; whitespace: Unicode words, not stemmed; "
        "zh, ja: see --cjk-unit",
    )
    parser.add_argument(
        "--cjk-unit", choices=ROUGE_UNITS, default=None,
        help="zh/ja: score characters (default; the usual choice on LCSTS) or segmented words (jieba for zh when "
        "installed, else characters)",
    )
    parser.add_argument(
        "--backend", choices=("python", "perl"), default="python", help="rouge_score, or the official ROUGE-1.5.5.pl"
    )
    parser.add_argument("--json", metavar="OUT", help="write {system: {rouge1, rouge2, rougeL, avg_words}} here")
    return parser


def _limit(items: list, limit: int | None) -> list:
    return items if limit is None else items[:limit]


def _check_json_output(args: argparse.Namespace) -> None:
    """Refuse a --json file that is one of the inputs (also through a link or another path): it would be replaced."""
    if not args.json or not Path(args.json).exists():
        return
    inputs = [("references", args.references), ("documents", args.documents)]
    inputs += [("predictions", path) for path in args.predictions]
    for role, path in inputs:
        try:
            same = path is not None and os.path.samefile(path, args.json)
        except OSError:  # a missing input is reported when it is read
            same = False
        if same:
            raise RougeInputError(
                f"--json {args.json} is the {role} file {path}: writing the scores would overwrite it; "
                "give another --json file"
            )


def run(args: argparse.Namespace) -> tuple[dict[str, dict[str, float]], int]:
    """Read the inputs and score every system: ``({system: scores} in the order asked for, number of examples)``."""
    if not args.predictions and not args.baseline:
        raise RougeInputError("nothing to score: give --predictions FILE ... and/or --baseline lead-8 ...")
    if args.names is not None and len(args.names) != len(args.predictions):
        raise RougeInputError(f"{len(args.names)} --names for {len(args.predictions)} --predictions: give one each")
    if args.limit is not None and args.limit <= 0:
        raise RougeInputError(f"--limit must be positive, got {args.limit}")
    if args.cjk_unit is not None and args.language not in CJK_LANGUAGES:
        raise RougeInputError(f"--cjk-unit is for --language zh or ja, not {args.language}: drop it, or pass the "
                              f"language of the summaries")
    if args.backend == "perl" and args.language != "en":
        raise RougeInputError(f"--backend perl scores ASCII words only (ROUGE-1.5.5 drops every other character); "
                              f"use --backend python for --language {args.language}")
    _check_json_output(args)
    references = read_texts(args.references, args.reference_field, allow_lists=True, flag="--reference-field")
    references = _limit(references, args.limit)
    warning = language_warning(references, args.language)
    if warning:  # e.g. Chinese references under the default --language en: every score would be 0.00
        print(f"warning: {warning}", file=sys.stderr)

    systems: dict[str, list[str]] = {}
    if args.baseline:
        if args.documents:
            documents = read_texts(args.documents, args.document_field, flag="--document-field")
            source = args.documents
        elif is_jsonl(args.references):
            documents = read_texts(args.references, args.document_field, flag="--document-field")
            source = args.references
        else:
            raise RougeInputError("the baselines need documents: give --documents FILE (or JSONL references)")
        documents = _limit(documents, args.limit)
        if len(documents) != len(references):
            raise RougeInputError(
                f"{source} has {len(documents)} documents but {args.references} has {len(references)} references"
            )
        for name in args.baseline:
            systems[name] = lead_baseline(documents, name, args.language)

    names = args.names or [Path(p).stem for p in args.predictions]
    reference_ids = None
    for name, path in zip(names, args.predictions, strict=True):
        predictions = read_texts(path, args.prediction_field, flag="--prediction-field")
        ids = prediction_ids(path)
        if ids is not None:  # summarize's JSONL output: align by id, whatever the order of the lines
            if reference_ids is None:
                reference_ids = example_ids(args.references)
            predictions = align_by_id(predictions, ids, reference_ids, name=path, count=len(references))
        predictions = _limit(predictions, args.limit)
        if len(predictions) != len(references):
            raise RougeInputError(
                f"{path} has {len(predictions)} predictions but {args.references} has {len(references)} references: "
                "give one prediction per line, in the references' order"
            )
        if name in systems:
            name = f"{name} ({path})"  # two files with the same stem must not overwrite each other
        systems[name] = predictions

    if args.backend == "perl":
        score = score_summaries_perl
        language = {}
    else:
        score = score_summaries
        language = {"language": args.language, "cjk_unit": args.cjk_unit or "char"}
    results = {
        name: score(
            predictions,
            references,
            measure=args.measure,
            truncate_bytes=args.truncate_bytes,
            use_stemmer=args.use_stemmer,
            **language,
        )
        for name, predictions in systems.items()
    }
    return results, len(references)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 on success, 2 on bad input or a missing perl backend."""
    args = build_parser().parse_args(argv)
    try:
        results, n_examples = run(args)
        if args.json:
            out = Path(args.json)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    except (RougeInputError, PerlRougeUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. the --json folder is not writable
        print(f"error: {err}", file=sys.stderr)
        return 2
    # The settings go above the table: a ROUGE number means little without them.
    cut = f", predictions cut to {args.truncate_bytes} bytes" if args.truncate_bytes else ""
    stem = "on" if args.use_stemmer and args.language == "en" else "off"
    if args.language in CJK_LANGUAGES:
        unit = "characters" if (args.cjk_unit or "char") == "char" else "segmented words"
        language = f", language {args.language} (ROUGE over {unit}; avg words counts them)"
    else:  # en prints as it always has
        language = f", language {args.language}" if args.language != "en" else ""
    print(f"{n_examples} examples, {args.measure}, stemming {stem}{cut}, {args.backend} backend{language}")
    print(format_table(results))
    return 0

