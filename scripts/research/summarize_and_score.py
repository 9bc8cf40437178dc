"""Summarize the dev or test set with a trained model, then print its ROUGE beside the Lead baselines.

    python scripts/research/summarize_and_score.py runs/my-model --split dev --limit 2000 --beams 5

Runs the summarize CLI in-process (``seq2seq2seq.inference.cli.main``) on ``runs/corpus/dev.jsonl`` (or
``--dev-file``) or on the Gigaword test set, writes the summaries and the scores under ``--out-dir`` (default
``MODEL_DIR/eval``), then scores them with scripts/evaluate_rouge.py's command line (``seq2seq2seq.eval.cli``, also
in-process), in the language setting the export records (``--language zh`` for a Chinese model). Options this script
does not know (``--beams 5``, length settings...) go to the summarize CLI unchanged.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import sys
from pathlib import Path

from seq2seq2seq.eval.cli import main as rouge_main
from seq2seq2seq.eval.rouge import RougeInputError, read_lines
from seq2seq2seq.paths import DEFAULT_CORPUS_DIR, shared_data_dir


def build_parser() -> argparse.ArgumentParser:
    """Options of this bridge; unknown options are passed to the summarize CLI."""
    parser = argparse.ArgumentParser(
        description="Summarize dev/test with MODEL_DIR and print ROUGE beside the Lead baselines.",
        epilog="Other options (e.g. --beams 5) are passed to `python -m seq2seq2seq.summarize`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model_dir", help="a trained model folder, as given to the summarize CLI's --model")
    parser.add_argument("--split", choices=("dev", "test"), default="dev", help="dev: model selection; test: report")
    parser.add_argument("--dev-file", default=str(DEFAULT_CORPUS_DIR / "dev.jsonl"), help="JSONL document/summary")
    parser.add_argument("--limit", type=int, help="summarize and score only the first N examples")
    parser.add_argument("--out-dir", help="where summaries and scores go (default: MODEL_DIR/eval)")
    parser.add_argument(
        "--baseline", nargs="*", default=["lead-8", "lead-10", "lead-75c"], help="Lead rows shown beside the model"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the summarize CLI's or evaluate_rouge's exit code, 2 on bad input."""
    args, decoding_args = build_parser().parse_known_args(argv)
    data_file = Path(args.dev_file) if args.split == "dev" else shared_data_dir() / "gigaword" / "test.jsonl"
    if not data_file.is_file():
        fix = "build the corpus or pass --dev-file" if args.split == "dev" else "set SEQ2SEQ2SEQ_DATA"
        print(f"error: {data_file}: no such file; {fix}", file=sys.stderr)
        return 2
    if args.limit is not None and args.limit <= 0:
        print(f"error: --limit must be positive, got {args.limit}", file=sys.stderr)
        return 2
    try:
        from seq2seq2seq.inference.cli import main as summarize_main
    except ImportError as err:
        print(f"error: cannot import the summarize CLI (seq2seq2seq.inference.cli): {err}", file=sys.stderr)
        return 2

    model_dir = Path(args.model_dir)
    out_dir = Path(args.out_dir) if args.out_dir else model_dir / "eval"
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = args.split if args.limit is None else f"{args.split}{args.limit}"

    # The summarizer reads the same JSONL; with --limit it gets only the first N records, so it does no extra work.
    input_file = data_file
    if args.limit is not None:
        try:
            lines = [line for line in read_lines(data_file) if line.strip()][: args.limit]
        except RougeInputError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        input_file = out_dir / f"{tag}.input.jsonl"
        input_file.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    predictions = out_dir / f"{tag}.summaries.txt"
    summarize_argv = ["--model", str(model_dir), "--input", str(input_file), "--output", str(predictions)]
    code = summarize_main(summarize_argv + decoding_args)
    if code:
        print(
            f"error: the summarize CLI failed (exit {code}) with {' '.join(summarize_argv + decoding_args)}",
            file=sys.stderr,
        )
        return code

    from seq2seq2seq.inference.api import export_language, resolve_export

    # the summarize CLI has loaded this export already, so it resolves; ROUGE counts words as its language does
    language, _ = export_language(resolve_export(model_dir, best="--best" in decoding_args))
    scores = out_dir / f"{tag}.rouge.json"
    rouge_argv = ["--references", str(data_file), "--predictions", str(predictions), "--names", model_dir.name,
                  "--language", language]
    if args.limit is not None:
        rouge_argv += ["--limit", str(args.limit)]
    if args.baseline:
        rouge_argv += ["--baseline", *args.baseline]
    code = rouge_main(rouge_argv + ["--json", str(scores)])
    if code == 0:
        # Keep how the summaries were made next to the scores, so that a number can be traced to its settings.
        settings = {"model": str(model_dir), "data": str(data_file), "limit": args.limit, "decoding": decoding_args}
        (out_dir / f"{tag}.settings.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        print(f"summaries: {predictions}\nscores: {scores}")
    return code


if __name__ == "__main__":
    sys.exit(main())
