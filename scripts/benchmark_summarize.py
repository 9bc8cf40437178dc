"""Summaries per second of the summarize path (seq2seq2seq.inference.cli.summarize_documents), greedy and beam 5.

    python scripts/benchmark_summarize.py --threads 2
    python scripts/benchmark_summarize.py --threads 2 --limit 200 --modes greedy     # a quick look
    python scripts/benchmark_summarize.py --threads 2 --model runs/cpu_len/train/best/summarizer --words 13

With ``--model`` a trained export is timed as `summarize` runs it (its decoding settings; with ``--words N`` a
length-conditioned export reads N's control token and writes exactly N whole words, as `summarize --words N`; an
export trained on lengths without ``--words`` is asked for its default length, as `summarize` does).

The model has the shape and decoding settings of scripts/configs/cpu.yaml (BART, d_model 256, 3+3 layers, 4 heads,
ffn 1024, documents of at most 64 tokens, summaries of at most 16 tokens, source-only pieces, end-of-sentence damping)
and a vocabulary of 16000, with random weights: the speed is that of a trained model of the same size, but a random
model need not emit end-of-sentence early, so the mean summary length is printed too (a trained model that stops
earlier decodes faster). The documents are the Gigaword test set, already normalised; model loading and
normalisation are not timed; one untimed batch warms up each mode, and with --repeats the fastest run counts.
Prints the machine's float32 matmul peak, then one line per mode: mode, docs, seconds, summaries/s, mean summary
length in words and in tokens (up to and including end-of-sentence, less a last word cut at the token cap; with a
small stand-in tokenizer most of a random model's ids have no text, so the word count can be near 0).
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer

from seq2seq2seq.config import load_config
from seq2seq2seq.decoding import sampling
from seq2seq2seq.hardware import matmul_peak_flops
from seq2seq2seq.inference.api import (
    SummarizeError,
    Summarizer,
    decoding_overrides,
    length_request,
    load_summarizer,
    summarize_documents,
)
from seq2seq2seq.models.build import ModelLoadError, build_seq2seq
from seq2seq2seq.paths import shared_data_dir

ROOT = Path(__file__).resolve().parent.parent

MODES = {"greedy": 1, "beam5": 5}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(shared_data_dir() / "gigaword" / "test.jsonl"), help="JSONL documents")
    p.add_argument("--field", default="document")
    p.add_argument("--tokenizer", default="/tmp/tc/tokenizer",
                   help="any project tokenizer; the model's vocabulary is --vocab-size regardless")
    p.add_argument("--vocab-size", type=int, default=16000)
    p.add_argument("--config", default=str(ROOT / "scripts" / "configs" / "cpu.yaml"),
                   help="training config whose model shape and decoding settings are used")
    p.add_argument("--model", default="",
                   help="time this trained export (RUN/best/summarizer) instead of a random model of --config's shape")
    p.add_argument("--words", type=int, default=None,
                   help="with --model: the length asked for, as summarize --words N")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--no-repeat-ngram", type=int, default=0)
    p.add_argument("--modes", nargs="+", choices=sorted(MODES), default=["greedy", "beam5"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--limit", type=int, default=0, help="use the first N documents (0 = all)")
    p.add_argument("--peak-seconds", type=float, default=3.0,
                   help="how long to measure the float32 matmul peak printed beside the times")
    p.add_argument("--repeats", type=int, default=1,
                   help="time each mode this many times and report the fastest (the machine may be shared)")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    with open(args.data, encoding="utf-8") as f:
        documents = [json.loads(line)[args.field] for line in f if line.strip()]
    if args.limit:
        documents = documents[:args.limit]
    if args.model:
        try:
            summarizer = load_summarizer(args.model, device=args.device)
            words, max_words, min_words, notes = length_request(summarizer, args.words)
        except (SummarizeError, ModelLoadError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        for note in notes:
            print(f"warning: {note}", file=sys.stderr)
        model, tokenizer = summarizer.model, summarizer.tokenizer
    else:
        if args.words is not None:
            print("error: --words needs --model (a random model is not conditioned on a length)", file=sys.stderr)
            return 2
        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
        torch.manual_seed(0)
        cfg = load_config(args.config)
        model = build_seq2seq(cfg.model, tokenizer)
        # the cpu configuration's vocabulary, whatever the tokenizer at hand; new rows get the model's own random init
        model.resize_token_embeddings(args.vocab_size, mean_resizing=False)
        model.to(args.device).eval()
        summarizer = Summarizer(model, tokenizer, cfg.decoding, cfg.model.max_document_tokens, Path(args.config))
        words = max_words = min_words = None
    # count generated tokens (up to the first end-of-sentence) where they are decoded: with a random model many ids
    # have no text in the small tokenizer, so re-tokenizing the decoded summaries would undercount
    lengths: list[int] = []
    generate_summaries = sampling.generate_summaries

    def counting_generate_summaries(*a, **kw):
        out = generate_summaries(*a, **kw)
        real = out.summary_mask * (out.summary_ids != model.config.pad_token_id)
        lengths.extend(real.sum(1).tolist())
        return out

    sampling.generate_summaries = counting_generate_summaries
    parameters = sum(p.numel() for p in model.parameters())
    # every time is reported beside the machine's peak: machines of the same kind differ by up to 1.3x
    peak = matmul_peak_flops(seconds=args.peak_seconds, device=args.device)
    print(f"# {args.model or 'random model'}: {parameters / 1e6:.1f}M parameters, vocab {model.config.vocab_size}, "
          f"{len(documents)} documents, batch {args.batch_size}, threads {torch.get_num_threads()}, device "
          f"{args.device}{', bf16' if args.bf16 else ''}, words asked for: {words}\n"
          f"# float32 matmul peak {peak / 1e9:.0f} GFLOP/s\n# decoding {summarizer.decoding}")
    print(f"{'mode':<8} {'docs':>6} {'seconds':>8} {'summaries/s':>12} {'mean words':>11} {'mean tokens':>12}")
    for mode in args.modes:
        decoding = decoding_overrides(summarizer.decoding, num_beams=MODES[mode],
                                      no_repeat_ngram_size=args.no_repeat_ngram, max_words=max_words,
                                      min_words=min_words)
        run = functools.partial(summarize_documents, summarizer, decoding=decoding, batch_size=args.batch_size,
                                bf16=args.bf16, max_words=max_words, words=words)
        # one untimed batch first: the first generate call pays for lazy initialisation
        run(documents[:args.batch_size])
        seconds = float("inf")
        for _ in range(args.repeats):
            lengths.clear()
            start = time.perf_counter()
            summaries = run(documents)
            seconds = min(seconds, time.perf_counter() - start)
        mean_words = sum(len(s.split()) for s in summaries) / len(summaries)  # not ``words``: the next mode asks it
        tokens = sum(lengths) / len(lengths)
        print(f"{mode:<8} {len(documents):>6} {seconds:>8.1f} {len(documents) / seconds:>12.1f} {mean_words:>11.1f} "
              f"{tokens:>12.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
