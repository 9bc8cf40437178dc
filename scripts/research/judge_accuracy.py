"""How well does a discriminator tell human sentences from G's summaries, on text it never trained on?

    python scripts/research/judge_accuracy.py --config scripts/configs/cpu.yaml --summarizer RUN/pretrained/summarizer \
        --dev runs/corpus_semi/dev.jsonl --discriminator runs/dprobe_minilm/final/discriminator \
        --discriminator runs/dprobe_scratch/final/discriminator

The dev slice's titles are the human side (data_prep keeps them out of D's sentences), G's greedy summaries of the
same documents the other. Per discriminator it prints the share of each judged human (P(human) > 0.5) and the
balanced accuracy, one JSON line each.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """One JSON line per discriminator; 0, or 2 with an error line when a config or model cannot be loaded."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="the training config (decoding settings, document limit)")
    parser.add_argument("--summarizer", required=True, help="G: a summarizer export")
    parser.add_argument("--dev", required=True, help="JSONL of {document, summary} pairs held out of D's sentences")
    parser.add_argument("--discriminator", action="append", required=True, help="a D export (repeat for several)")
    parser.add_argument("--limit", type=int, default=500, help="dev pairs to use")
    args = parser.parse_args(argv)

    import torch
    from transformers import AutoTokenizer

    from seq2seq2seq.config import ConfigError, load_config
    from seq2seq2seq.decoding.sampling import summarize_texts
    from seq2seq2seq.eval.baselines import read_pairs
    from seq2seq2seq.eval.readability import readability
    from seq2seq2seq.models.build import ModelLoadError, load_discriminator, load_seq2seq
    from seq2seq2seq.normalize import normalize

    try:
        cfg = load_config(args.config, {})
        g = load_seq2seq(args.summarizer).eval()
        judges = [(Path(d), load_discriminator(d).eval()) for d in args.discriminator]
    except (ConfigError, ModelLoadError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tokenizer = AutoTokenizer.from_pretrained(args.summarizer)
    documents, titles = read_pairs(Path(args.dev), args.limit)
    with torch.no_grad():
        summaries = summarize_texts(g, tokenizer, [normalize(d) for d in documents], cfg.decoding,
                                    max_document_tokens=cfg.model.max_document_tokens)
    titles = [normalize(t) for t in titles]
    for folder, judge in judges:
        # a warm-started D reads text with its own tokenizer, saved beside it
        own = AutoTokenizer.from_pretrained(str(folder)) if (folder / "tokenizer_config.json").is_file() else tokenizer
        human, fake = readability(titles, judge, own), readability(summaries, judge, own)
        accuracy = (human["d_judged_human"] + 100 - fake["d_judged_human"]) / 2
        print(json.dumps({"discriminator": str(folder), "titles_judged_human": round(human["d_judged_human"], 1),
                          "g_judged_human": round(fake["d_judged_human"], 1), "balanced_accuracy": round(accuracy, 1),
                          "pairs": len(titles)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
