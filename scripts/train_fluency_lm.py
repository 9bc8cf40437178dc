"""Train a small causal language model of the corpus's human sentences: the fluency reward's model.

    python scripts/train_fluency_lm.py --data_dir runs/corpus --out runs/fluency_lm
    # or: learn English from many sentences first, then headlines (MSRP's LM is a general LM tuned on titles)
    python scripts/train_fluency_lm.py --data_dir runs/corpus_cnndm --tokenizer runs/corpus/tokenizer --out runs/lm_cnndm
    python scripts/train_fluency_lm.py --data_dir runs/corpus --init runs/lm_cnndm --out runs/lm_cnndm_titles
    python -m seq2seq2seq.train --config scripts/configs/cpu.yaml \
        --adversarial.fluency_model runs/fluency_lm --adversarial.fluency_weight 0.1

The sentences are the corpus's human-written ones (D's "real" side: Gigaword titles by default; build a corpus with
`python -m data_prep --with-cnndm-highlights` for far more). The model is a GPT-2 built from scratch over the
tokenizer of ``--tokenizer`` (default: the corpus's own, which is G's in a from-scratch run, so the reward reads
G's ids directly). A held-out slice measures perplexity; the folder holds the model, its tokenizer and
``fluency_lm.json`` (data, steps, held-out perplexity, examples/s). ``--init`` continues training a model such a
folder holds (its architecture and tokenizer; the size options are then ignored). One Accelerate loop; any device.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm

from seq2seq2seq.data import CorpusError, decoder_targets, load_corpus
from seq2seq2seq.losses import cross_entropy
from seq2seq2seq.models.build import ModelLoadError
from seq2seq2seq.rewards.lm import language_model_logits, lm_start_id, load_fluency_model


def heldout_perplexity(lm, tokenizer, sentences: list[str], max_tokens: int, batch_size: int, device) -> float:
    """exp of the mean per-token negative log-likelihood over the sentences (end-of-sentence included)."""
    start, total, count = lm_start_id(tokenizer), 0.0, 0
    lm.eval()
    with torch.no_grad():
        for i in range(0, len(sentences), batch_size):
            ids, mask = decoder_targets(tokenizer, sentences[i:i + batch_size], max_tokens)
            ids, mask = ids.to(device), mask.to(device)
            logits = language_model_logits(lm, ids, mask, start).float()
            tokens = int(mask.sum())
            total += cross_entropy(logits, ids, mask).item() * tokens
            count += tokens
    lm.train()
    return math.exp(total / max(count, 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default="runs/corpus", help="a data_prep corpus folder (its sentences)")
    parser.add_argument("--out", required=True, help="folder for the model (must not hold one)")
    parser.add_argument("--tokenizer", help="tokenizer folder (default: the corpus's; use G's if G has its own)")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup_steps", type=int, default=200)
    parser.add_argument("--init", help="a fluency-LM folder to continue training (fine-tune) instead of a new model; "
                                        "its tokenizer is used")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--d_model", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--max_tokens", type=int, default=32, help="pieces per sentence, end included")
    parser.add_argument("--heldout", type=int, default=500, help="sentences held out for perplexity")
    parser.add_argument("--eval_every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_threads", type=int, default=0, help="CPU threads (0 = torch's default)")
    args = parser.parse_args(argv)
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    out = Path(args.out)
    if (out / "config.json").exists():
        print(f"error: {out} already holds a model; choose another --out or delete it", file=sys.stderr)
        return 2
    for key in ("steps", "batch_size", "layers", "d_model", "heads", "max_tokens", "eval_every"):
        if getattr(args, key) < 1:
            print(f"error: --{key} must be positive", file=sys.stderr)
            return 2
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    try:
        corpus = load_corpus(Path(args.data_dir))
    except CorpusError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.init and args.tokenizer:
        print("error: --init uses the tokenizer of the model it continues; drop --tokenizer", file=sys.stderr)
        return 2
    init_lm = None
    if args.init:
        try:
            init_lm, tokenizer = load_fluency_model(args.init)
        except ModelLoadError as err:
            print(f"error: --init: {err}", file=sys.stderr)
            return 2
        if init_lm.config.n_positions < args.max_tokens + 1:
            print(f"error: {args.init} reads at most {init_lm.config.n_positions - 1} pieces a sentence; "
                  f"pass --max_tokens {init_lm.config.n_positions - 1} or less", file=sys.stderr)
            return 2
    else:
        try:
            tokenizer = AutoTokenizer.from_pretrained(args.tokenizer or str(corpus.tokenizer_dir))
        except (OSError, ValueError) as err:
            print(f"error: cannot load the tokenizer {args.tokenizer or corpus.tokenizer_dir}: {err}", file=sys.stderr)
            return 2
    sentences = list(corpus.sentences)
    random.Random(args.seed).shuffle(sentences)
    heldout, train = sentences[:args.heldout], sentences[args.heldout:]
    if len(train) < args.batch_size:
        print(f"error: {args.data_dir} has {len(sentences)} human sentences, too few for batches of "
              f"{args.batch_size} after holding out {args.heldout}; lower --batch_size/--heldout or build a corpus "
              f"with more sentences (python -m data_prep --with-cnndm-highlights)", file=sys.stderr)
        return 2

    torch.manual_seed(args.seed)
    start = lm_start_id(tokenizer)
    if init_lm is not None:
        lm = init_lm.train()
    else:
        lm = GPT2LMHeadModel(GPT2Config(
            vocab_size=len(tokenizer), n_positions=args.max_tokens + 1, n_embd=args.d_model, n_layer=args.layers,
            n_head=args.heads, bos_token_id=start,
            eos_token_id=tokenizer.eos_token_id if tokenizer.eos_token_id is not None else start,
            pad_token_id=tokenizer.pad_token_id))
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    optimizer = torch.optim.AdamW(lm.parameters(), lr=args.lr, weight_decay=0.01)
    lm, optimizer = accelerator.prepare(lm, optimizer)
    order = random.Random(args.seed + 1)
    started, seen, history = time.perf_counter(), 0, []
    bar = tqdm(range(args.steps), desc="fluency LM", disable=not accelerator.is_main_process)
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = args.lr * min(1.0, (step + 1) / args.warmup_steps) if args.warmup_steps else args.lr
        batch = order.sample(train, args.batch_size)
        ids, mask = decoder_targets(tokenizer, batch, args.max_tokens)
        ids, mask = ids.to(accelerator.device), mask.to(accelerator.device)
        loss = cross_entropy(language_model_logits(lm, ids, mask, start), ids, mask)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(lm.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seen += len(batch)
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            ppl = heldout_perplexity(accelerator.unwrap_model(lm), tokenizer, heldout, args.max_tokens,
                                     args.batch_size, accelerator.device) if heldout else float("nan")
            history.append({"step": step + 1, "train_loss": loss.item(), "heldout_perplexity": ppl})
            bar.write(f"step {step + 1}: held-out perplexity {ppl:.1f}")
    seconds = time.perf_counter() - started
    lm_config = accelerator.unwrap_model(lm).config
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        accelerator.unwrap_model(lm).save_pretrained(out)
        tokenizer.save_pretrained(out)
        record = {"data_dir": str(args.data_dir), "init": args.init, "train_sentences": len(train),
                  "heldout_sentences": len(heldout),
                  "steps": args.steps, "batch_size": args.batch_size, "layers": lm_config.n_layer,
                  "d_model": lm_config.n_embd, "seconds": round(seconds, 1),
                  "examples_per_second": round(seen / max(seconds, 1e-9), 1), "history": history}
        (out / "fluency_lm.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"saved {out}: held-out perplexity {history[-1]['heldout_perplexity']:.1f} after {args.steps} steps "
              f"({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
