"""Does a reward point towards better summaries? Measure it on the dev slice before training on it.

    python scripts/research/reward_diagnostics.py --config scripts/configs/cpu.yaml \
        --checkpoint runs/cpu/train/checkpoints/step-00001500 --documents 300 --samples 8

REINFORCE can only raise ROUGE if, among the summaries G samples for one document, those with a higher reward tend
to have a higher ROUGE against the (never trained on) reference. This script loads a training checkpoint (G, R and
D as the adversarial stage would start from), samples ``--samples`` summaries per dev document, scores every
sample with each reward the adversarial stage knows (reconstruction, discriminator, length prior, headline
vocabulary, contiguity, the sentence-embedding similarity when it is installed, the fluency language model when
``--adversarial.fluency_model`` names one) and with ROUGE, and prints per reward:

- ``corr``: the mean over documents of the Pearson correlation, across that document's samples, between the reward
  and the sample's ROUGE (mean of R-1, R-2 and R-L F1). Positive = the reward points the right way.
- ``pick``: the ROUGE of the sample the reward ranks first, per document, averaged: what a policy that had fully
  learned to maximise that reward (within G's current samples) would score. Compare with ``mean sample``,
  ``greedy`` and ``oracle`` (the best sample by ROUGE itself).

``--rule_samples N`` adds N summaries of the headline-deletion rule (the pre-training teacher) to each document's
candidates, sampled at ``--rule_temperature``: does a reward pick, among the teacher's variants, ones better than
the deterministic rule (the ``rule`` figure)? That is the ceiling of a stage that imitates reward-chosen teacher
variants. With ``--samples 0`` the candidates are the rule's samples alone.

The ``total`` row is the reward of the config's weights (``--adversarial.*`` overrides apply). Each ``--zscore``
row ranks by a weighted sum of the rewards z-scored among a document's samples, as the test-time choice
(``seq2seq2seq.inference.choose``) does. Nothing is trained.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from transformers import AutoTokenizer

from seq2seq2seq import checkpoint as ckpt
from seq2seq2seq.config import ConfigError, RewardSpec, TrainConfig, load_config, parse_overrides
from seq2seq2seq.data import (
    Corpus,
    CorpusError,
    HeadlineWordStats,
    decoder_targets,
    headline_rule,
    headline_rule_samples,
    headline_word_stats,
    load_corpus,
    seed_batch,
    tokenize_documents,
)
from seq2seq2seq.decoding.retokenize import Retokenizer
from seq2seq2seq.decoding.sampling import generate_summaries, word_start_mask
from seq2seq2seq.eval.rouge import score_summaries
from seq2seq2seq.models.build import ModelLoadError, model_config
from seq2seq2seq.models.warm_start import WarmModels, build_models
from seq2seq2seq.rewards.base import RewardBuildError, RewardContext, RewardSet, combine
from seq2seq2seq.rewards.registry import REWARDS, build_rewards, reward_options
from seq2seq2seq.supervised import load_pairs
from seq2seq2seq.train.cli import ensure_corpus
from seq2seq2seq.types import Documents, Summaries


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson correlation of two equally long lists; None when either is constant."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    vx = sum((x - mx) ** 2 for x in xs)
    vy = sum((y - my) ** 2 for y in ys)
    if vx < 1e-12 or vy < 1e-12:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / math.sqrt(vx * vy)


def parse_combination(spec: str) -> dict[str, float]:
    """'similarity:1,fluency:0.5' -> {'similarity': 1.0, 'fluency': 0.5}."""
    combo = {}
    for part in spec.split(","):
        name, sep, weight = part.partition(":")
        try:
            combo[name.strip()] = float(weight)
        except ValueError:
            raise ValueError(f"{part!r} is not NAME:WEIGHT (e.g. similarity:1,fluency:0.5)") from None
        if not sep or not name.strip():
            raise ValueError(f"{part!r} is not NAME:WEIGHT (e.g. similarity:1,fluency:0.5)")
    return combo


def rouge_mean(reference: str, prediction: str) -> float:
    scores = score_summaries([prediction], [reference])  # F1 x 100, Porter stemmer: the evaluation protocol
    return (scores["rouge1"] + scores["rouge2"] + scores["rougeL"]) / 3


def candidates(g: Summaries | None, rule: Summaries | None, b: int, pad: int) -> Summaries:
    """Each document's candidates in one block of rows: its G samples, then its rule samples. g: (b*k, t), rule:
    (b*n, t'); returns (b*(k+n), max(t, t')), right-padded with ``pad`` (mask 0)."""
    parts = [x for x in (g, rule) if x is not None]
    if len(parts) == 1:
        return parts[0]
    width = max(x.summary_ids.shape[1] for x in parts)

    def block(x: Summaries, value: int, field: str) -> torch.Tensor:
        t = getattr(x, field)
        t = torch.nn.functional.pad(t, (0, width - t.shape[1]), value=value)
        return t.view(b, -1, width)

    ids = torch.cat([block(x, pad, "summary_ids") for x in parts], dim=1).view(-1, width)
    mask = torch.cat([block(x, 0, "summary_mask") for x in parts], dim=1).view(-1, width)
    return Summaries(ids, mask)


def run_corpus(cfg: TrainConfig) -> Corpus:
    """The corpus as the run read it: with the semi-supervised pairs' summaries among the human sentences (and so in
    the headline word counts) when the run's D took them."""
    corpus = load_corpus(ensure_corpus(cfg.data_dir), cfg.max_documents)
    if cfg.supervised.enabled and cfg.supervised.discriminator:
        pairs = load_pairs(cfg.supervised, Path(cfg.data_dir), corpus.dev_documents + corpus.dev_summaries,
                           corpus.language)
        corpus.add_sentences(pairs.summaries)
    return corpus


def load_models(cfg: TrainConfig, corpus: Corpus, checkpoint: Path) -> tuple[Accelerator, WarmModels]:
    """G, R and D of a training checkpoint, as its run held them (prepared by an Accelerator of the run's precision,
    so that they compute as in training)."""
    precision = cfg.mixed_precision
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    accelerator = Accelerator(mixed_precision=precision, cpu=not torch.cuda.is_available())
    set_seed(cfg.seed)
    models = build_models(cfg, AutoTokenizer.from_pretrained(str(corpus.tokenizer_dir)))
    models.g, models.r, models.d = accelerator.prepare(models.g, models.r, models.d)
    ckpt.load_checkpoint(accelerator, checkpoint)
    return accelerator, models


def diagnostic_rewards(cfg: TrainConfig, corpus: Corpus, accelerator: Accelerator,
                       models: WarmModels) -> RewardSet:
    """Every reward of the registry at weight 1 (a row each), built as training builds them, plus R's reward with
    idf-weighted tokens as ``reconstruction_idf``; similarity when an encoder loads (it is optional unless the
    config weights it), fluency when the config names a model. Raises ModelLoadError or RewardBuildError."""
    a, unwrap = cfg.adversarial, accelerator.unwrap_model
    # R and D read G's summaries as in training: re-tokenized when they were warm-started with their own tokenizers
    context = RewardContext(
        tokenizer=models.g_tokenizer, device=accelerator.device, reconstructor=unwrap(models.r),
        to_r=Retokenizer(models.g_tokenizer, models.r_tokenizer, cfg.model.max_document_tokens),
        r_tokenizer=models.r_tokenizer, discriminator=unwrap(models.d),
        to_d=Retokenizer(models.g_tokenizer, models.d_tokenizer, cfg.discriminator.max_tokens),
        word_starts=word_start_mask(models.g_tokenizer, model_config(unwrap(models.g)).vocab_size),
        load_headline_stats=lambda: headline_word_stats(corpus), documents=corpus.documents,
        max_document_tokens=cfg.model.max_document_tokens, **{**reward_options(a), "reconstruction_tokens": "all"})
    plain = build_rewards([RewardSpec(name, 1.0) for name in ("reconstruction", "discriminator", "length",
                                                              "headline", "contiguity")], context)
    idf = build_rewards([RewardSpec("reconstruction", 1.0)],
                        dataclasses.replace(context, reconstruction_tokens="idf"))["reconstruction"]
    idf.name = "reconstruction_idf"  # R's log-likelihood with each document token weighted by idf
    rewards = RewardSet([plain["reconstruction"], idf, *(r for r in plain if r.name != "reconstruction")])
    for name in REWARDS:  # the rest of the registry: similarity, fluency, and any reward added since
        if name in rewards or (name == "fluency" and not a.fluency_model):  # fluency: whenever a model is named
            continue
        try:
            rewards.add(build_rewards([RewardSpec(name, 1.0, a.model_path(name))], context)[name])
        except (ModelLoadError, RewardBuildError) as err:
            if name == "fluency" or (a.weight(name) > 0 and a.steps > 0):  # named, or the run itself needs it
                raise
            print(f"(no {name} row: {err})", file=sys.stderr)  # optional: similarity without the package
    return rewards


def sample(accelerator: Accelerator, models: WarmModels, docs: Documents, cfg: TrainConfig, do_sample: bool,
           k: int = 1) -> Summaries:
    """G's summaries of the documents as a training rollout draws them: k samples each, or the greedy one."""
    g = accelerator.unwrap_model(models.g).eval()
    word_start = (word_start_mask(models.g_tokenizer, model_config(g).vocab_size) if cfg.decoding.whole_words
                  else None)
    with accelerator.autocast():
        return generate_summaries(g, docs.input_ids, docs.attention_mask, cfg.decoding, do_sample=do_sample,
                                  num_samples=k, word_start=word_start)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str], dict[str, dict[str, float]]]:
    """The script's own arguments, the config overrides left over, and the --zscore combinations by spec."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="the training config whose models and rewards to use")
    parser.add_argument("--checkpoint", required=True, help="a training checkpoint folder (runs/X/checkpoints/step-N)")
    parser.add_argument("--documents", type=int, default=300, help="dev documents (valid.jsonl from row 0)")
    parser.add_argument("--samples", type=int, default=8, help="summaries G samples per document (0: none)")
    parser.add_argument("--rule_samples", type=int, default=0,
                        help="also this many summaries per document sampled from the headline-deletion rule")
    parser.add_argument("--rule_temperature", type=float, default=0.5,
                        help="the rule samples' headline_temperature (the deterministic rule is 1e-6)")
    parser.add_argument("--rule_words", type=int, default=10, help="the rule's summaries' length in words")
    parser.add_argument("--batch", type=int, default=32, help="documents per rollout")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--dump", help="write every sample's rewards and ROUGE to this JSONL file (one line per "
                                       "document), e.g. to try other reward weights offline")
    parser.add_argument("--zscore", action="append", default=[], metavar="NAME:W,NAME:W",
                        help="also rank by this weighted sum of rewards, each z-scored among a document's samples "
                             "as the test-time choice does (e.g. similarity:1,fluency:0.5,headline:0.5); repeatable")
    args, rest = parser.parse_known_args(argv)
    if args.samples < 0 or args.rule_samples < 0:
        parser.error("--samples and --rule_samples must be >= 0")
    if args.samples + args.rule_samples < 2:
        parser.error("--samples + --rule_samples must be >= 2 (a correlation needs several candidates per document)")
    if args.rule_temperature <= 0 or args.rule_words < 1:
        parser.error("--rule_temperature must be > 0 and --rule_words >= 1")
    try:
        combos = {spec: parse_combination(spec) for spec in args.zscore}
    except ValueError as err:
        parser.error(f"--zscore: {err}")
    return args, rest, combos


def main(argv: list[str] | None = None) -> int:
    args, rest, combos = parse_args(argv)
    try:
        cfg = load_config(args.config, parse_overrides(rest))
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        corpus = run_corpus(cfg)
        accelerator, models = load_models(cfg, corpus, Path(args.checkpoint))
        rewards = diagnostic_rewards(cfg, corpus, accelerator, models)
    except (ConfigError, CorpusError, ModelLoadError, RewardBuildError, ckpt.CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    a = cfg.adversarial
    uses_idf = a.reconstruction_tokens == "idf"
    weights = {"reconstruction": 0.0 if uses_idf else a.reconstruction_weight,
               "reconstruction_idf": a.reconstruction_weight if uses_idf else 0.0,
               "discriminator": a.discriminator_weight,
               "length": a.length_weight, "similarity": a.similarity_weight, "fluency": a.fluency_weight,
               "headline": a.headline_weight, "contiguity": a.contiguity_weight}
    weights.update({name: a.weight(name) for name in rewards.weights if name not in weights})  # rewards added since
    unknown = sorted({name for combo in combos.values() for name in combo} - set(rewards.weights))
    if unknown:
        print(f"error: --zscore names {', '.join(unknown)}, which this run does not score; the rewards are "
              f"{', '.join(rewards.weights)}", file=sys.stderr)
        return 2
    result = measure(args, cfg, corpus, accelerator, models, rewards, weights, combos)
    report(args, result, weights)
    return 0


def score_batch(args: argparse.Namespace, cfg: TrainConfig, accelerator: Accelerator, models: WarmModels,
                rewards: RewardSet, weights: dict[str, float], combos: dict[str, dict[str, float]], texts: list[str],
                start: int, word_stats: HeadlineWordStats) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """The batch of dev documents from row ``start``: each reward's score of every candidate, shape (b, k), with
    the weighted total and the --zscore rows; the candidates' texts (b*k) and the greedy summaries' (b)."""
    tokenizer, device = models.g_tokenizer, accelerator.device
    k = args.samples + args.rule_samples  # candidates per document: G's samples, then the rule's
    seed_batch(cfg.seed, "adversarial", start)  # the run's adversarial batch seeding
    docs = tokenize_documents(tokenizer, models.r_tokenizer, texts, cfg.model.max_document_tokens, device)
    with torch.no_grad():
        rule_texts = [text for t in texts for text in headline_rule_samples(
            t, word_stats, args.rule_samples, args.rule_temperature, cfg.pretrain, args.rule_words, seed=cfg.seed)]
        rule = None
        if rule_texts:
            ids, mask = decoder_targets(tokenizer, rule_texts, cfg.decoding.max_summary_tokens)
            rule = Summaries(ids.to(device), mask.to(device))
        samples = candidates(sample(accelerator, models, docs, cfg, True, args.samples) if args.samples else None,
                             rule, len(texts), tokenizer.pad_token_id)
        greedy = sample(accelerator, models, docs, cfg, False)
        parts = {r.name: r(docs.repeat(k), samples).float().view(-1, k) for r in rewards}
    parts["total"] = combine(parts, {name: weights[name] for name in parts}, "weighted",
                             default=torch.zeros(len(texts), k))
    for spec, combo in combos.items():  # per document, as the test-time choice combines its scores
        parts[f"z: {spec}"] = torch.tensor(combine(parts, combo, "zscore"))
    return (parts, tokenizer.batch_decode(samples.summary_ids, skip_special_tokens=True),
            tokenizer.batch_decode(greedy.summary_ids, skip_special_tokens=True))


def measure(args: argparse.Namespace, cfg: TrainConfig, corpus: Corpus, accelerator: Accelerator,
            models: WarmModels, rewards: RewardSet, weights: dict[str, float],
            combos: dict[str, dict[str, float]]) -> dict:
    """Score every candidate of the first ``args.documents`` dev documents with each reward and ROUGE."""
    names = list(rewards.weights) + ["total"] + [f"z: {spec}" for spec in combos]
    docs_text = corpus.dev_documents[: args.documents]
    refs = corpus.dev_summaries[: args.documents]
    word_stats = headline_word_stats(corpus)
    k = args.samples + args.rule_samples  # candidates per document: G's samples, then the rule's
    rule_scores, rule_picked = [], {name: [] for name in names}
    corr = {name: [] for name in names}
    pick = {name: [] for name in names}
    mean_sample, greedy_scores, oracle, sample_words = [], [], [], []
    dump = open(args.dump, "w", encoding="utf-8") if args.dump else None
    models.r.eval(), models.d.eval()
    for start in range(0, len(docs_text), args.batch):
        texts, batch_refs = docs_text[start:start + args.batch], refs[start:start + args.batch]
        parts, sample_texts, greedy_texts = score_batch(args, cfg, accelerator, models, rewards, weights, combos,
                                                        texts, start, word_stats)
        for i, ref in enumerate(batch_refs):
            rouge = [rouge_mean(ref, sample_texts[i * k + j]) for j in range(k)]
            sample_words.extend(len(sample_texts[i * k + j].split()) for j in range(k))
            mean_sample.append(sum(rouge) / k)
            oracle.append(max(rouge))
            greedy_scores.append(rouge_mean(ref, greedy_texts[i]))
            if args.rule_samples:
                rule_scores.append(rouge_mean(ref, headline_rule(texts[i], word_stats, cfg.pretrain,
                                                                 args.rule_words)))
            for name in names:
                values = parts[name][i].tolist()
                c = pearson(values, rouge)
                if c is not None:
                    corr[name].append(c)
                top = max(range(k), key=values.__getitem__)
                pick[name].append(rouge[top])
                rule_picked[name].append(float(top >= args.samples))
            if dump:
                dump.write(json.dumps({"summaries": sample_texts[i * k:(i + 1) * k], "rouge": rouge,
                                       **{name: parts[name][i].tolist() for name in names}}) + "\n")
        print(f"{min(start + args.batch, len(docs_text))}/{len(docs_text)} documents", file=sys.stderr)

    if dump:
        dump.close()

    def avg(xs: list[float]) -> float:
        return sum(xs) / max(len(xs), 1)

    result = {
        "documents": len(docs_text), "samples": k, "g_samples": args.samples, "rule_samples": args.rule_samples,
        "rule_temperature": args.rule_temperature, "checkpoint": args.checkpoint,
        "weights": weights, "sample_words": avg(sample_words),
        "rouge": {"greedy": avg(greedy_scores), "mean_sample": avg(mean_sample), "oracle": avg(oracle)},
        "rewards": {name: {"corr": avg(corr[name]), "pick": avg(pick[name]), "documents": len(corr[name]),
                           "rule_picked": avg(rule_picked[name])}
                    for name in names},
    }
    if args.rule_samples:
        result["rouge"]["rule"] = avg(rule_scores)
    return result


def report(args: argparse.Namespace, result: dict, weights: dict[str, float]) -> None:
    """The figures as a table on stdout, and as JSON with ``--json``."""
    k = result["samples"]
    print(f"dev documents {result['documents']}, {k} candidates each ({args.samples} from G, {args.rule_samples} "
          f"from the rule at temperature {args.rule_temperature:g}; {result['sample_words']:.2f} words on average); "
          f"ROUGE = mean of R-1/R-2/R-L F1")
    rule = f" | the deterministic rule {result['rouge']['rule']:.2f}" if args.rule_samples else ""
    print(f"greedy {result['rouge']['greedy']:.2f} | mean candidate {result['rouge']['mean_sample']:.2f} | "
          f"oracle (best of {k} by ROUGE) {result['rouge']['oracle']:.2f}{rule}")
    mixed = args.samples and args.rule_samples
    print("| reward | weight | corr with ROUGE | ROUGE of its top sample |" + (" rule's sample on top |" if mixed else ""))
    print("|---|---|---|---|" + ("---|" if mixed else ""))
    for name, r in result["rewards"].items():
        weight = f"{weights[name]:g}" if name in weights else ""
        share = f" {100 * r['rule_picked']:.0f}% |" if mixed else ""
        print(f"| {name} | {weight} | {r['corr']:+.3f} | {r['pick']:.2f} |{share}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
