"""Does a reward point towards better summaries? Measure it on the dev slice before training on it.

    python scripts/reward_diagnostics.py --config scripts/configs/cpu.yaml \
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
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seq2seq2seq import checkpoint as ckpt  # noqa: E402
from seq2seq2seq.config import ConfigError, load_config, parse_overrides  # noqa: E402
from seq2seq2seq.data import (  # noqa: E402
    CorpusError,
    headline_rule,
    headline_rule_samples,
    headline_word_stats,
    load_corpus,
    token_idf,
)
from seq2seq2seq.decoding.sampling import Summaries  # noqa: E402
from seq2seq2seq.eval.rouge import score_summaries  # noqa: E402
from seq2seq2seq.inference.choose import zscore_combination  # noqa: E402
from seq2seq2seq.models.build import ModelLoadError  # noqa: E402
from seq2seq2seq.rewards.scorers import (  # noqa: E402
    ContiguityReward,
    DiscriminatorReward,
    FluencyReward,
    HeadlineVocabularyReward,
    LengthReward,
    ReconstructionReward,
    SimilarityReward,
    load_fluency_model,
    load_sentence_encoder,
)
from seq2seq2seq.rl.rollout import sample
from seq2seq2seq.train.cli import ensure_corpus
from seq2seq2seq.train.loop import Trainer  # noqa: E402


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


def main(argv: list[str] | None = None) -> int:
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
    try:
        cfg = load_config(args.config, parse_overrides(rest))
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        corpus = load_corpus(ensure_corpus(cfg.data_dir), cfg.max_documents)
        trainer = Trainer(cfg, corpus)
        ckpt.load_checkpoint(trainer.accelerator, Path(args.checkpoint))
    except (ConfigError, CorpusError, ModelLoadError, ckpt.CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    a, unwrap = cfg.adversarial, trainer.accelerator.unwrap_model
    # R and D read G's summaries as in training: re-tokenized when they were warm-started with their own tokenizers
    idf_reconstruction = ReconstructionReward(unwrap(trainer.r), 1.0,
                                              token_idf(trainer.r_tokenizer, corpus.documents,
                                                        max_tokens=cfg.model.max_document_tokens), trainer.to_r)
    idf_reconstruction.name = "reconstruction_idf"  # R's log-likelihood with each document token weighted by idf
    scorers = [ReconstructionReward(unwrap(trainer.r), 1.0, retokenizer=trainer.to_r), idf_reconstruction,
               DiscriminatorReward(unwrap(trainer.d), 1.0, a.discriminator_reward, trainer.to_d),
               LengthReward(trainer.word_starts, a.target_words, 1.0, a.length_prior == "two_sided"),
               HeadlineVocabularyReward(headline_word_stats(corpus), trainer.tokenizer, 1.0),
               ContiguityReward(trainer.tokenizer, 1.0)]
    if trainer.rewards.get("similarity") is not None:  # loaded by the trainer when the config weights it
        scorers.append(SimilarityReward(trainer.rewards["similarity"].encoder, trainer.rewards["similarity"].encoder_tokenizer,
                                        trainer.tokenizer, 1.0))
    else:
        try:
            encoder, encoder_tokenizer = load_sentence_encoder(a.similarity_model)
            scorers.append(SimilarityReward(encoder, encoder_tokenizer, trainer.tokenizer, 1.0))
        except ModelLoadError as err:  # optional: the similarity row is left out without the package
            print(f"(no similarity row: {err})", file=sys.stderr)
    if a.fluency_model:  # a fluency row whenever a model is named, weighted or not
        try:
            lm, lm_tokenizer = load_fluency_model(a.fluency_model)
        except ModelLoadError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        scorers.append(FluencyReward(lm, lm_tokenizer, trainer.tokenizer, 1.0))
    uses_idf = a.reconstruction_tokens == "idf"
    weights = {"reconstruction": 0.0 if uses_idf else a.reconstruction_weight,
               "reconstruction_idf": a.reconstruction_weight if uses_idf else 0.0,
               "discriminator": a.discriminator_weight,
               "length": a.length_weight, "similarity": a.similarity_weight, "fluency": a.fluency_weight,
               "headline": a.headline_weight, "contiguity": a.contiguity_weight}
    unknown = sorted({name for combo in combos.values() for name in combo} - {s.name for s in scorers})
    if unknown:
        print(f"error: --zscore names {', '.join(unknown)}, which this run does not score; the rewards are "
              f"{', '.join(s.name for s in scorers)}", file=sys.stderr)
        return 2
    names = [s.name for s in scorers] + ["total"] + [f"z: {spec}" for spec in combos]

    docs_text = corpus.dev_documents[: args.documents]
    refs = corpus.dev_summaries[: args.documents]
    word_stats = headline_word_stats(corpus)
    k = args.samples + args.rule_samples  # candidates per document: G's samples, then the rule's
    rule_scores, rule_picked = [], {name: [] for name in names}
    corr = {name: [] for name in names}
    pick = {name: [] for name in names}
    mean_sample, greedy_scores, oracle, sample_words = [], [], [], []
    dump = open(args.dump, "w", encoding="utf-8") if args.dump else None
    trainer.r.eval(), trainer.d.eval()
    for start in range(0, len(docs_text), args.batch):
        texts, batch_refs = docs_text[start:start + args.batch], refs[start:start + args.batch]
        trainer.engine.seed("adversarial", start)
        docs = trainer.batches.documents(texts)
        with torch.no_grad():
            rule_texts = [text for t in texts for text in headline_rule_samples(
                t, word_stats, args.rule_samples, args.rule_temperature, cfg.pretrain, args.rule_words, seed=cfg.seed)]
            samples = candidates(sample(trainer, docs, do_sample=True, k=args.samples) if args.samples else None,
                                 trainer.batches.summaries(rule_texts) if rule_texts else None,
                                 len(texts), trainer.tokenizer.pad_token_id)
            greedy = sample(trainer, docs, do_sample=False)
            parts = {s.name: s(docs.repeat(k), samples).float().view(-1, k) for s in scorers}
        parts["total"] = sum(weights[name] * value for name, value in parts.items())
        for spec, combo in combos.items():  # per document, as the test-time choice combines its scores
            parts[f"z: {spec}"] = torch.tensor([zscore_combination([parts[name][i].tolist() for name in combo],
                                                                   list(combo.values()))
                                                for i in range(len(texts))])
        sample_texts = trainer.tokenizer.batch_decode(samples.summary_ids, skip_special_tokens=True)
        greedy_texts = trainer.tokenizer.batch_decode(greedy.summary_ids, skip_special_tokens=True)
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
    print(f"dev documents {len(docs_text)}, {k} candidates each ({args.samples} from G, {args.rule_samples} from "
          f"the rule at temperature {args.rule_temperature:g}; {result['sample_words']:.2f} words on average); "
          f"ROUGE = mean of R-1/R-2/R-L F1")
    rule = f" | the deterministic rule {result['rouge']['rule']:.2f}" if args.rule_samples else ""
    print(f"greedy {result['rouge']['greedy']:.2f} | mean candidate {result['rouge']['mean_sample']:.2f} | "
          f"oracle (best of {k} by ROUGE) {result['rouge']['oracle']:.2f}{rule}")
    mixed = args.samples and args.rule_samples
    print("| reward | weight | corr with ROUGE | ROUGE of its top sample |" + (" rule's sample on top |" if mixed else ""))
    print("|---|---|---|---|" + ("---|" if mixed else ""))
    for name in names:
        r = result["rewards"][name]
        weight = f"{weights[name]:g}" if name in weights else ""
        share = f" {100 * r['rule_picked']:.0f}% |" if mixed else ""
        print(f"| {name} | {weight} | {r['corr']:+.3f} | {r['pick']:.2f} |{share}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
