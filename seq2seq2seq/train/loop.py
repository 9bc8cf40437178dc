"""Train seq2seq2seq: one explicit Accelerate loop over three stages.

    accelerate launch -m seq2seq2seq.train --config scripts/configs/cpu.yaml --output_dir runs/cpu
    python -m seq2seq2seq.train --config scripts/configs/tiny.yaml --pretrain.steps 5     # any key can be overridden

Stages, in order, each resumable in the middle (``--resume``):
  1. pretrain    G learns pseudo-summaries made from documents alone; R learns to rebuild documents from them.
  2. pretrain_d  D learns human sentences (real) vs. G's samples (fake).
  3. adversarial G learns by REINFORCE on alpha * reconstruction + beta * discriminator reward (self-critical or
                 leave-one-out baseline, or imitating the best of k samples), or from those two as gradients
                 through straight-through Gumbel-softmax rows (adversarial.estimator: gumbel); R keeps learning to
                 rebuild documents from G's summaries; D keeps learning.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.utils import set_seed
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm
from transformers import AutoTokenizer

from seq2seq2seq import checkpoint as ckpt
from seq2seq2seq import resume_policy, run_lock
from seq2seq2seq.config import ConfigError, TrainConfig, config_to_yaml, load_config, parse_overrides
from seq2seq2seq.data import (
    BatchStream,
    Corpus,
    CorpusError,
    decoder_targets,
    headline_word_stats,
    load_corpus,
    pseudo_summary,
    tokenize,
)
from seq2seq2seq.decoding.retokenize import Retokenizer
from seq2seq2seq.decoding.sampling import (
    SourceConstraint,
    constraint_for,
    generate_summaries,
    summarize_texts,
    summary_logits,
)
from seq2seq2seq.decoding.soft_tokens import soft_discriminator_logits, soft_language_model_logprob, soft_seq2seq_logits
from seq2seq2seq.decoding.word_pieces import word_start_mask
from seq2seq2seq.losses import (
    best_of_k_advantages,
    conditional_gumbel_softmax,
    cross_entropy,
    discriminator_loss,
    leave_one_out_advantages,
    masked_mean,
    reinforce_loss,
    self_critical_advantages,
    token_entropy,
    token_logprobs,
)
from seq2seq2seq.models.build import ModelLoadError, discriminator_logits, model_config, seq2seq_logits
from seq2seq2seq.models.warm_start import build_models
from seq2seq2seq.rewards.base import RewardContext, combine
from seq2seq2seq.rewards.registry import build_rewards, reward_options
from seq2seq2seq.supervised import Pairs, load_pairs, source_words
from seq2seq2seq.types import Documents, Summaries

logger = get_logger("seq2seq2seq.train.loop")  # not __name__: that is "__main__" under `python -m`
STAGES = ("pretrain", "pretrain_d", "adversarial")
METRICS_FILE = "metrics.jsonl"
SEED_STREAMS = {"pretrain": 0, "pretrain_d": 1, "adversarial": 2, "adversarial_d": 3, "adversarial_anchor": 4}
# the rewards that reach G as gradients under adversarial.estimator: gumbel (the others stay on REINFORCE; the
# fluency LM joins these when it reads G's ids)
SOFT_REWARDS = ("reconstruction", "discriminator")


def _accumulate(stats: dict[str, float], scale: float, **values: float) -> None:
    """Add each value times ``scale`` into ``stats`` (the mean over a step's micro-batches when scale = 1/a)."""
    for key, value in values.items():
        stats[key] = stats.get(key, 0.0) + value * scale


def distinct_n(texts: list[str], n: int) -> float:
    """Share of distinct n-grams among all n-grams of a set of summaries (1.0 = no repetition)."""
    grams = [tuple(words[i:i + n]) for words in (t.split() for t in texts) for i in range(len(words) - n + 1)]
    return len(set(grams)) / max(len(grams), 1)


@dataclass
class Rollout:
    """One micro-batch of the adversarial stage as collected (see Trainer.collect); rows are documents repeated k
    times in a row, one row per sample."""

    texts: list[str]  # the b documents
    documents: Documents  # (b*k, s)
    samples: Summaries  # (b*k, t)
    constraint: SourceConstraint | None  # what G may emit, for the b*k rows
    advantages: torch.Tensor  # (b*k,)
    r_loss: torch.Tensor  # R's teacher-forced loss on the samples (with its graph)
    stats: dict[str, float]
    anchor_targets: list[str] | None = None  # the anchor's reward-chosen targets (anchor_candidates), one per document


class Trainer:
    """Holds the models and the run's state; ``run`` is the loop, one ``*_step`` method per stage."""

    def __init__(self, cfg: TrainConfig, corpus: Corpus) -> None:
        self.cfg = cfg
        precision = cfg.mixed_precision
        if precision == "auto":
            precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
        trackers = "tensorboard" if cfg.report_to == "tensorboard" and _has_tensorboard() else None
        # the learning rate is set by hand each step (see _set_lr), so no scheduler is stepped per process
        # cpu=True on a machine without a GPU is what makes Accelerate run torchrun's processes as MULTI_CPU (gloo)
        self.accelerator = Accelerator(mixed_precision=precision, log_with=trackers, project_dir=cfg.output_dir,
                                       cpu=not torch.cuda.is_available())
        self.corpus = corpus
        # the semi-supervised mode's pairs (None in the unsupervised mode); their summaries may join D's human
        # sentences, and so the headline word statistics as well
        self.pairs: Pairs | None = None
        if cfg.supervised.enabled:
            self.pairs = load_pairs(cfg.supervised, Path(cfg.data_dir), corpus.dev_documents + corpus.dev_summaries,
                                    corpus.language)
            if cfg.supervised.discriminator:  # the summaries as written: human sentences
                corpus.add_sentences(self.pairs.summaries)
            if cfg.supervised.targets == "source_words":  # what G learns from them
                self.pairs.summaries = [source_words(t, d) for d, t in zip(self.pairs.documents, self.pairs.summaries)]
        # the headline task's word statistics: for pre-training, and for the anchor that replays it in the
        # adversarial stage (a run that resumes there, or skips pre-training, needs them too)
        pseudo = cfg.pretrain.steps > 0 and not (self.pairs is not None and cfg.supervised.pretrain_share == 1.0)
        uses_task = pseudo or (cfg.adversarial.pretrain_weight > 0 and cfg.adversarial.steps > 0)
        self.word_stats = headline_word_stats(corpus) if cfg.pretrain.task == "headline" and uses_task else None
        set_seed(cfg.seed)
        # from scratch over the corpus's tokenizer, or warm-started each with its checkpoint's tokenizer: G's is the
        # run's (documents, pseudo-summaries, summaries, export); R and D read G's summaries re-tokenized if theirs
        # differs, in their rewards and their updates alike
        models = build_models(cfg, AutoTokenizer.from_pretrained(str(corpus.tokenizer_dir)))
        g, r, d = models.g, models.r, models.d
        self.tokenizer, self.r_tokenizer, self.d_tokenizer = models.g_tokenizer, models.r_tokenizer, models.d_tokenizer
        self.to_r = Retokenizer(self.tokenizer, self.r_tokenizer, cfg.model.max_document_tokens)
        self.to_d = Retokenizer(self.tokenizer, self.d_tokenizer, cfg.discriminator.max_tokens)
        # (V,) bool: the pieces that begin a word, for G's vocabulary (sentencepiece, byte-level BPE or WordPiece)
        self.word_starts = word_start_mask(self.tokenizer, model_config(g).vocab_size)
        self.word_start = self.word_starts if cfg.decoding.whole_words else None
        opts = [torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.01) for m in (g, r, d)]
        self.g, self.r, self.d, self.opt_g, self.opt_r, self.opt_d = self.accelerator.prepare(g, r, d, *opts)
        n = self.accelerator.num_processes
        # a pre-training batch: pseudo-summaries of documents, and (semi-supervised) pairs_per_batch real pairs
        self.pairs_per_batch = 0
        if self.pairs is not None:
            share = round(cfg.supervised.pretrain_share * cfg.pretrain.batch_size)
            self.pairs_per_batch = min(share, len(self.pairs))
            self.pair_stream = BatchStream(len(self.pairs), max(self.pairs_per_batch, 1), cfg.seed + 5)
            self.adv_pair_stream = BatchStream(len(self.pairs), min(cfg.supervised.batch_size, len(self.pairs)),
                                               cfg.seed + 6)
        pseudo_per_batch = cfg.pretrain.batch_size - self.pairs_per_batch
        self.doc_stream = (BatchStream(len(corpus.documents), pseudo_per_batch, cfg.seed)
                           if pseudo_per_batch > 0 else None)
        self.adv_stream = BatchStream(len(corpus.documents), cfg.adversarial.batch_size, cfg.seed + 1)
        self.d_doc_stream = BatchStream(len(corpus.documents), cfg.pretrain_d.batch_size, cfg.seed + 2)
        self.sentence_stream = BatchStream(len(corpus.sentences), cfg.pretrain_d.batch_size, cfg.seed + 3)
        self.adv_sentence_stream = BatchStream(len(corpus.sentences), cfg.adversarial.batch_size * cfg.adversarial.num_samples, cfg.seed + 4)
        self.world, self.rank = n, self.accelerator.process_index
        adv = cfg.adversarial
        # the adversarial stage's rewards by name, those with a weight (a weight-0 one would only load its model)
        context = RewardContext(
            tokenizer=self.tokenizer, device=self.accelerator.device,
            reconstructor=self.accelerator.unwrap_model(self.r), to_r=self.to_r, r_tokenizer=self.r_tokenizer,
            discriminator=self.accelerator.unwrap_model(self.d), to_d=self.to_d, word_starts=self.word_starts,
            load_headline_stats=lambda: self.word_stats or headline_word_stats(corpus), documents=corpus.documents,
            max_document_tokens=cfg.model.max_document_tokens, **reward_options(adv))
        self.rewards = build_rewards([s for s in adv.rewards if s.weight > 0] if adv.steps > 0 else [], context)
        self.gumbel = adv.estimator == "gumbel" and adv.steps > 0
        self.soft_rewards = SOFT_REWARDS + (("fluency",) if "fluency" in self.rewards
                                            and self.rewards["fluency"].same else ())
        if self.gumbel:
            self._check_soft_tokens()
        self.state = {"stage": STAGES[0], "step": 0, "global_step": 0, "best": None, "history": [],
                      "micro_batches_per_step": n * cfg.gradient_accumulation_steps,
                      # what --resume checks: the same token ids, and no change to the stages already finished
                      "tokenizers_sha256": self._tokenizer_fingerprints(), "stage_steps": {},
                      "pairs_sha256": self.pairs.sha256 if self.pairs is not None else None,
                      # what a resume compares its settings with, and the changes --resume-with-changes made
                      "config": cfg.to_dict(), "resume_changes": []}

    # ---- helpers --------------------------------------------------------------------------------------------------

    def _check_soft_tokens(self) -> None:
        """Gumbel straight-through feeds G's token rows to R and D: both must read G's ids."""
        adv = self.cfg.adversarial
        for name, key, weight, retokenizer in (
                ("R", "model.reconstructor_init", adv.reconstruction_weight, self.to_r),
                ("D", "discriminator.init", adv.discriminator_weight, self.to_d)):
            if weight > 0 and not retokenizer.identity:
                raise ConfigError(f"adversarial.estimator: gumbel passes G's summary tokens to {name} as soft "
                                  f"one-hot rows, but {name} ({key}) has its own tokenizer and reads them as "
                                  f"re-tokenized text, which has no gradient. Use adversarial.estimator: reinforce, "
                                  f"or a {name} that shares G's tokenizer")

    def _tokenizer_fingerprints(self) -> dict[str, str]:
        """What --resume checks first: each model still reads the token ids it was trained on."""
        tokenizers = {"summarizer": self.tokenizer, "reconstructor": self.r_tokenizer,
                      "discriminator": self.d_tokenizer}
        return {model: ckpt.tokenizer_fingerprint(t) for model, t in tokenizers.items()}

    def _micro_batches(self, step: int):
        """(is_last, global batch index) for each micro-batch of an optimizer step; see data.py for the indexing."""
        a = self.cfg.gradient_accumulation_steps
        for m in range(a):
            yield m == a - 1, (step * a + m) * self.world + self.rank

    def _seed(self, stream: str, index: int) -> random.Random:
        # sampling and dropout draw from the global RNG: seeding it per batch makes each batch's randomness a
        # function of (seed, stream, batch), the same whether resumed or split over processes
        seed = (self.cfg.seed * 7919 + SEED_STREAMS[stream] * 1_000_003 + index) % (2**31)
        torch.manual_seed(seed)
        return random.Random(seed)

    def _sync(self, last: bool, *models):
        """Accumulate gradients locally on all but the last micro-batch (no inter-process all-reduce)."""
        stack = contextlib.ExitStack()
        if not last:
            for model in models:
                stack.enter_context(self.accelerator.no_sync(model))
        return stack

    def _set_lr(self, optimizer, peak: float, step: int) -> None:
        warmup = self.cfg.warmup_steps
        for group in optimizer.param_groups:
            group["lr"] = peak * min(1.0, (step + 1) / warmup) if warmup else peak

    def _update(self, model, optimizer) -> float:
        """Clip and step; a step whose gradients are not finite is skipped (and logged), so that one bad batch (a
        -inf log-prob) cannot turn the model into NaN for good. Returns the gradient norm before clipping."""
        # max_norm inf clips nothing; the norm is still needed to see non-finite gradients (identical on every
        # process after the all-reduce, so all of them skip together)
        norm = float(self.accelerator.clip_grad_norm_(model.parameters(), self.cfg.max_grad_norm or float("inf")))
        if not math.isfinite(norm):
            optimizer.zero_grad(set_to_none=True)
            name = {id(self.opt_g): "g", id(self.opt_r): "r", id(self.opt_d): "d"}[id(optimizer)]
            self.state.setdefault("skipped_steps", {}).setdefault(name, 0)
            self.state["skipped_steps"][name] += 1
            logger.warning(f"skipped an update of {name.upper()}: its gradient norm is {norm} (non-finite loss); "
                           f"{self.state['skipped_steps'][name]} skipped so far")
            return norm
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return norm

    def _documents(self, texts: list[str]) -> Documents:
        """G's encoder input and, where they differ from it, R's decoder targets (R's tokenizer, no <s>/[CLS])."""
        limit, device = self.cfg.model.max_document_tokens, self.accelerator.device
        ids, mask = tokenize(self.tokenizer, texts, limit)
        target_ids, target_mask = decoder_targets(self.r_tokenizer, texts, limit)
        if target_ids.shape == ids.shape and torch.equal(target_ids, ids) and torch.equal(target_mask, mask):
            return Documents(ids.to(device), mask.to(device))
        return Documents(ids.to(device), mask.to(device), target_ids.to(device), target_mask.to(device))

    def _rollout(self, docs: Documents, do_sample: bool, k: int = 1, constraint=None) -> Summaries:
        g = self.accelerator.unwrap_model(self.g)
        g.eval()
        with self.accelerator.autocast():
            out = generate_summaries(g, docs.input_ids, docs.attention_mask, self.cfg.decoding,
                                     do_sample=do_sample, num_samples=k, word_start=self.word_start,
                                     constraint=constraint)
        g.train()
        return out

    def _d_update_loss(self, real_texts: list[str], fake: Summaries) -> tuple[torch.Tensor, dict[str, float]]:
        """D's loss on human sentences vs. G's summaries, in one forward pass (DDP wants one forward per backward).
        Both reach D in D's tokenizer: G's summaries re-tokenized when it is not G's, as in D's reward."""
        real_ids, real_mask = tokenize(self.d_tokenizer, real_texts, self.cfg.discriminator.max_tokens)
        fake_ids, fake_mask = self.to_d(fake)
        width = max(real_ids.shape[1], fake_ids.shape[1])
        pad = self.d_tokenizer.pad_token_id
        device = self.accelerator.device

        def widen(x: torch.Tensor, value: int) -> torch.Tensor:
            return torch.nn.functional.pad(x.to(device), (0, width - x.shape[1]), value=value)

        ids = torch.cat([widen(real_ids, pad), widen(fake_ids, pad)])
        mask = torch.cat([widen(real_mask, 0), widen(fake_mask, 0)])
        logits = discriminator_logits(self.d, ids, mask).float()
        real_logits, fake_logits = logits[: len(real_texts)], logits[len(real_texts):]
        stats = {"d/acc_real": (real_logits > 0).float().mean().item(),
                 "d/acc_fake": (fake_logits < 0).float().mean().item()}
        return discriminator_loss(real_logits, fake_logits), stats

    def _pseudo_batch(self, texts: list[str], rng: random.Random,
                      pairs: list[tuple[str, str]] = ()) -> tuple[Documents, torch.Tensor, torch.Tensor]:
        """The pre-training task's (source, pseudo-summary) pairs for ``texts``, then the real ``pairs`` (document,
        summary) of the semi-supervised mode: the source batch and target ids/mask."""
        made = [pseudo_summary(t, self.cfg.pretrain, rng, self.word_stats) for t in texts]
        sources, targets = zip(*(made + list(pairs)))
        return self._teacher_batch(list(sources), list(targets))

    def _teacher_batch(self, sources: list[str], targets: list[str]) -> tuple[Documents, torch.Tensor, torch.Tensor]:
        src = self._documents(sources)
        tgt_ids, tgt_mask = decoder_targets(self.tokenizer, targets, self.cfg.decoding.max_summary_tokens)
        return src, tgt_ids.to(src.input_ids.device), tgt_mask.to(src.input_ids.device)

    def _pairs_at(self, stream: BatchStream, index: int) -> list[tuple[str, str]]:
        """Batch ``index`` of the semi-supervised pairs, as (document, summary)."""
        return [(self.pairs.documents[i], self.pairs.summaries[i]) for i in stream.indices(index)]

    def _imitation_loss(self, src: Documents, tgt_ids: torch.Tensor, tgt_mask: torch.Tensor) -> tuple[torch.Tensor, float]:
        """G's mean token cross-entropy on pseudo-summaries, and the number of target tokens it leaves out."""
        if self.cfg.pretrain.constrained_loss and self.cfg.decoding.source_only:
            # the pseudo-summary's pieces all come from the document, so they are always allowed
            constraint = constraint_for(self.accelerator.unwrap_model(self.g), src.input_ids,
                                        self.cfg.decoding, self.word_start)
            g_logits = summary_logits(self.g, src.input_ids, src.attention_mask, Summaries(tgt_ids, tgt_mask),
                                      self.cfg.decoding, constraint)
        else:
            g_logits = seq2seq_logits(self.g, src.input_ids, src.attention_mask, tgt_ids, tgt_mask)
        logps = token_logprobs(g_logits, tgt_ids)
        # a target token the constraints forbid (a word cut by the length cap, an end before the minimum
        # length) cannot be learned: leave it out rather than let it make the loss infinite
        reachable = (tgt_mask == 1) & torch.isfinite(logps.detach())
        loss = -masked_mean(logps.masked_fill(~reachable, 0.0), reachable)
        return loss, float((tgt_mask.sum() - reachable.sum()).item())

    # ---- the three stages -----------------------------------------------------------------------------------------

    def pretrain_step(self, step: int) -> dict[str, float]:
        cfg, a = self.cfg.pretrain, self.cfg.gradient_accumulation_steps
        self._set_lr(self.opt_g, cfg.lr, step)
        self._set_lr(self.opt_r, cfg.lr, step)
        stats: dict[str, float] = {}
        for last, index in self._micro_batches(step):
            rng = self._seed("pretrain", index)
            texts = [self.corpus.documents[i] for i in self.doc_stream.indices(index)] if self.doc_stream else []
            pairs = self._pairs_at(self.pair_stream, index) if self.pairs_per_batch else []
            src, tgt_ids, tgt_mask = self._pseudo_batch(texts, rng, pairs)
            with self._sync(last, self.g, self.r):
                g_loss, unreachable = self._imitation_loss(src, tgt_ids, tgt_mask)
                self.accelerator.backward(g_loss / a)
                _accumulate(stats, 1 / a, **{"loss/g": g_loss.item(),
                                             "unreachable_tokens": unreachable})
                if cfg.train_reconstructor:
                    # R rebuilds the (unperturbed) documents from the pseudo-summaries, read as it reads G's
                    doc = src if cfg.task != "swap" else self._documents(texts + [d for d, _ in pairs])
                    r_logits = seq2seq_logits(self.r, *self.to_r(Summaries(tgt_ids, tgt_mask)), *doc.targets)
                    r_loss = cross_entropy(r_logits, *doc.targets)
                    self.accelerator.backward(r_loss / a)
                    _accumulate(stats, 1 / a, **{"loss/r": r_loss.item()})
        stats["grad_norm/g"] = self._update(self.g, self.opt_g)
        if cfg.train_reconstructor:
            stats["grad_norm/r"] = self._update(self.r, self.opt_r)
        return stats

    def pretrain_d_step(self, step: int) -> dict[str, float]:
        cfg, a = self.cfg.pretrain_d, self.cfg.gradient_accumulation_steps
        self._set_lr(self.opt_d, cfg.lr, step)
        stats: dict[str, float] = {}
        for last, index in self._micro_batches(step):
            self._seed("pretrain_d", index)
            docs = self._documents([self.corpus.documents[i] for i in self.d_doc_stream.indices(index)])
            fake = self._rollout(docs, do_sample=True)
            real = [self.corpus.sentences[i] for i in self.sentence_stream.indices(index)]
            with self._sync(last, self.d):
                loss, d_stats = self._d_update_loss(real, fake)
                self.accelerator.backward(loss / a)
            _accumulate(stats, 1 / a, **{"loss/d": loss.item(), **d_stats})
        self._update(self.d, self.opt_d)
        return stats

    def adversarial_step(self, step: int) -> dict[str, float]:
        """G by REINFORCE (or Gumbel straight-through) and R by teacher forcing on G's samples (one update each),
        then ``d_steps`` D updates."""
        cfg, a = self.cfg.adversarial, self.cfg.gradient_accumulation_steps
        for opt, lr in ((self.opt_g, cfg.lr_g), (self.opt_r, cfg.lr_r), (self.opt_d, cfg.lr_d)):
            self._set_lr(opt, lr, step)
        stats: dict[str, float] = {}
        rollouts: list[Rollout] = []
        for last, index in self._micro_batches(step):
            # DDP decides at forward time whether a backward all-reduces: R's forward happens while collecting
            with self._sync(last, self.g, self.r):
                rollout = self.collect(index)
                _accumulate(stats, 1 / a, **rollout.stats, **self.update_g(rollout, index), **self.update_r(rollout))
            rollouts.append(rollout)
        stats["grad_norm/g"] = self._update(self.g, self.opt_g)
        self._update(self.r, self.opt_r)
        for j in range(cfg.d_steps):  # each D update sees all this step's summaries and fresh human sentences
            _accumulate(stats, 1 / cfg.d_steps, **self.update_d(step * cfg.d_steps + j, rollouts))
        return stats

    def collect(self, index: int) -> Rollout:
        """Micro-batch ``index``'s trajectory: k samples per document, the baseline, rewards and advantages.

        Everything is computed without gradients except R's teacher-forced pass over the samples, which is at
        once the reconstruction reward (detached) and R's training loss: one forward instead of two. R runs it in
        eval mode (no dropout), like the greedy baseline's reward, so both rewards come from the same R.
        """
        cfg, k = self.cfg.adversarial, self.cfg.adversarial.num_samples
        self._seed("adversarial", index)
        texts = [self.corpus.documents[i] for i in self.adv_stream.indices(index)]
        docs = self._documents(texts)
        constraint = constraint_for(self.accelerator.unwrap_model(self.g), docs.input_ids, self.cfg.decoding,
                                    self.word_start)  # built once: sampling, baseline and log-probs share it
        samples = self._rollout(docs, do_sample=True, k=k, constraint=constraint)
        docs_k = docs.repeat(k)
        self.r.eval()
        r_logits = seq2seq_logits(self.r, *self.to_r(samples), *docs_k.targets)
        r_loss = cross_entropy(r_logits, *docs_k.targets)
        known = ({"reconstruction": self.rewards["reconstruction"].from_logits(r_logits.detach().float(), docs_k)}
                 if "reconstruction" in self.rewards else {})
        self.d.eval()
        # under gumbel, R's and D's rewards reach G as gradients (update_g); the others, if any, by REINFORCE
        excluded = self.soft_rewards if self.gumbel else ()
        with torch.no_grad(), self.accelerator.autocast():
            reward, parts = self.rewards.score(docs_k, samples, known)
            policy_reward, _ = self.rewards.score(docs_k, samples, parts, exclude=excluded)
            if not self.rewards.active(exclude=excluded):
                advantages = torch.zeros_like(reward)
            elif cfg.baseline == "greedy":
                greedy = self._rollout(docs, do_sample=False, constraint=constraint)
                greedy_reward, _ = self.rewards.score(docs, greedy, exclude=excluded)
                advantages = self_critical_advantages(policy_reward.view(-1, k), greedy_reward)
            elif cfg.baseline == "best":
                advantages = best_of_k_advantages(policy_reward.view(-1, k))
            else:
                advantages = leave_one_out_advantages(policy_reward.view(-1, k))
            anchor_targets, anchor_stats = self._choose_anchor_targets(texts, docs, index)
        self.r.train(), self.d.train()
        advantages = advantages.flatten().float()
        if cfg.normalize_advantages:
            advantages = advantages / (advantages.std(unbiased=False) + 1e-6)
        stats = {"reward/total/mean": reward.mean().item(), "advantage/mean": advantages.mean().item(),
                 "summary/tokens": samples.summary_mask.sum(1).float().mean().item(),
                 **{f"rewards/{name}/mean": value.mean().item() for name, value in parts.items()}, **anchor_stats}
        return Rollout(texts, docs_k, samples, constraint.repeat_interleave(k) if constraint else None,
                       advantages, r_loss, stats, anchor_targets)

    def text_summaries(self, texts: list[str]) -> Summaries:
        """Texts as G would have written them (G's pieces, end-of-sentence included), on the run's device: shape
        (n, t), e.g. to score them with the rewards."""
        ids, mask = decoder_targets(self.tokenizer, texts, self.cfg.decoding.max_summary_tokens)
        return Summaries(ids.to(self.accelerator.device), mask.to(self.accelerator.device))

    def anchor_pool(self, texts: list[str], index: int) -> list[str]:
        """anchor_candidates = n: per document (in a block of n), the pre-training task's pseudo-summary, then n - 1
        samples of the 'headline' rule at anchor_temperature."""
        n = self.cfg.adversarial.anchor_candidates
        rng = self._seed("adversarial_anchor", index)
        # first the pseudo-summaries exactly as the plain anchor draws them (_pseudo_batch), then the variants
        plain = [pseudo_summary(t, self.cfg.pretrain, rng, self.word_stats)[1] for t in texts]
        varied = dataclasses.replace(self.cfg.pretrain, headline_temperature=self.cfg.adversarial.anchor_temperature)
        more = [[pseudo_summary(t, varied, rng, self.word_stats)[1] for _ in range(n - 1)] for t in texts]
        return [text for first, rest in zip(plain, more) for text in (first, *rest)]

    def _choose_anchor_targets(self, texts: list[str], docs: Documents,
                               index: int) -> tuple[list[str] | None, dict[str, float]]:
        """With anchor_candidates = n: each document's ``anchor_pool`` scored by the stage's rewards (called without
        grad, R and D in eval mode); the top one is the anchor's target. Returns (targets or None, stats: how often
        the pseudo-summary itself won)."""
        n = self.cfg.adversarial.anchor_candidates
        if not n:
            return None, {}
        pool = self.anchor_pool(texts, index)
        _, parts = self.rewards.score(docs.repeat(n), self.text_summaries(pool))
        reward = combine(parts, self.rewards.weights, how="weighted", default=torch.zeros(len(pool)))
        top = reward.view(-1, n).argmax(dim=1).tolist()
        targets = [pool[i * n + j] for i, j in enumerate(top)]
        kept = sum(targets[i] == pool[i * n] for i in range(len(texts))) / len(texts)
        return targets, {"anchor/pseudo_summary_kept": kept}

    def update_g(self, rollout: Rollout, index: int) -> dict[str, float]:
        """REINFORCE on the rollout's samples, plus R's and D's soft-row rewards under estimator: gumbel, plus the
        pre-training anchor and the pairs' loss; gradients accumulate until _update."""
        cfg, a = self.cfg.adversarial, self.cfg.gradient_accumulation_steps
        # G's log-probs are taken without dropout, i.e. under the distribution the summaries were sampled from
        self.g.eval()
        anchor = None
        if cfg.pretrain_weight > 0:
            # the pre-training loss on the same documents keeps G near what it learned there; its gradient is
            # accumulated locally and all-reduced with the REINFORCE gradient below (one forward per backward)
            if rollout.anchor_targets is not None:  # the rewards chose each target (anchor_candidates)
                batch = self._teacher_batch(rollout.texts, rollout.anchor_targets)
            else:
                batch = self._pseudo_batch(rollout.texts, self._seed("adversarial_anchor", index))
            anchor = self._side_loss(cfg.pretrain_weight, *batch)
        supervised = None
        if self.pairs is not None and self.cfg.supervised.adversarial_weight > 0:
            # semi-supervised: G's teacher-forced loss on a batch of real pairs, interleaved with every update
            pairs = self._pairs_at(self.adv_pair_stream, index)
            batch = self._teacher_batch([d for d, _ in pairs], [t for _, t in pairs])
            supervised = self._side_loss(self.cfg.supervised.adversarial_weight, *batch)
        docs, samples = rollout.documents, rollout.samples
        logits = summary_logits(self.g, docs.input_ids, docs.attention_mask, samples, self.cfg.decoding,
                                rollout.constraint)
        logps = token_logprobs(logits, samples.summary_ids)
        with torch.set_grad_enabled(cfg.entropy_weight > 0):  # only logged when it has no weight
            entropy = masked_mean(token_entropy(logits), samples.summary_mask)
        g_loss = (cfg.reinforce_weight * reinforce_loss(logps, samples.summary_mask, rollout.advantages)
                  - cfg.entropy_weight * entropy)
        soft_stats = {}
        if self.gumbel:
            soft_loss, soft_stats = self._soft_reward_loss(logits, rollout)
            g_loss = g_loss + soft_loss
        # a non-finite loss is still backpropagated, so that every process takes part in the all-reduce; _update
        # then sees non-finite gradients and skips the step
        self.accelerator.backward(g_loss / a)
        self.g.train()
        return {"loss/g": g_loss.item(), "entropy": entropy.item(),
                **({"loss/anchor": anchor.item()} if anchor is not None else {}),
                **({"loss/supervised": supervised.item()} if supervised is not None else {}), **soft_stats}

    def _soft_reward_loss(self, logits: torch.Tensor, rollout: Rollout) -> tuple[torch.Tensor, dict[str, float]]:
        """Minus R's and D's rewards (and the fluency LM's, when it reads G's ids) of the samples as straight-through
        Gumbel-softmax rows (estimator: gumbel): their gradient reaches G's logits token by token. R, D and the LM
        are frozen and without dropout here."""
        cfg, samples, docs = self.cfg.adversarial, rollout.samples, rollout.documents
        mask = samples.summary_mask.bool()
        # positions after the end carry no reward; zeroed so that no -inf row there turns a gradient into nan
        soft = conditional_gumbel_softmax(logits.masked_fill(~mask[..., None], 0.0), samples.summary_ids,
                                          cfg.gumbel_temperature)
        loss, stats = logits.new_zeros(()), {}
        self.r.eval(), self.d.eval()
        if cfg.reconstruction_weight > 0:
            rows, rows_mask = self.to_r.soft(samples, soft)
            ids, _ = self.to_r(samples)
            r_logits = soft_seq2seq_logits(self.accelerator.unwrap_model(self.r), rows, rows_mask, ids,
                                           *docs.targets)
            reconstruction = self.rewards["reconstruction"].from_logits(r_logits.float(), docs).mean()
            loss = loss - cfg.reconstruction_weight * reconstruction
            stats["soft/reconstruction"] = reconstruction.item()
        if cfg.discriminator_weight > 0:
            rows, rows_mask = self.to_d.soft(samples, soft)
            d_logits = soft_discriminator_logits(self.accelerator.unwrap_model(self.d), rows, rows_mask)
            discriminator = self.rewards["discriminator"].from_logits(d_logits.float()).mean()
            loss = loss - cfg.discriminator_weight * discriminator
            stats["soft/discriminator"] = discriminator.item()
        if "fluency" in self.soft_rewards:
            fluency = soft_language_model_logprob(self.rewards["fluency"].lm, soft, samples.summary_mask,
                                                  self.rewards["fluency"].start_id).mean()
            loss = loss - cfg.fluency_weight * fluency
            stats["soft/fluency"] = fluency.item()
        self.r.train(), self.d.train()
        return loss, stats

    def _side_loss(self, weight: float, src: Documents, tgt_ids: torch.Tensor, tgt_mask: torch.Tensor) -> torch.Tensor:
        """A teacher-forced loss added to G's REINFORCE gradient (the anchor, the pairs): its gradient accumulates
        locally and is all-reduced with the REINFORCE backward that follows (one forward per backward)."""
        with self.accelerator.no_sync(self.g):
            loss, _ = self._imitation_loss(src, tgt_ids, tgt_mask)
            self.accelerator.backward(weight * loss / self.cfg.gradient_accumulation_steps)
        return loss

    def update_r(self, rollout: Rollout) -> dict[str, float]:
        """R learns to rebuild the documents from G's samples (its forward ran in collect)."""
        self.accelerator.backward(rollout.r_loss / self.cfg.gradient_accumulation_steps)
        return {"loss/r": rollout.r_loss.item()}

    def update_d(self, update: int, rollouts: list[Rollout]) -> dict[str, float]:
        """One D update: human sentences (real) against each micro-batch's samples (fake)."""
        a, stats = self.cfg.gradient_accumulation_steps, {}
        for rollout, (last, index) in zip(rollouts, self._micro_batches(update)):
            self._seed("adversarial_d", index)
            real = [self.corpus.sentences[i] for i in self.adv_sentence_stream.indices(index)]
            with self._sync(last, self.d):
                loss, d_stats = self._d_update_loss(real, rollout.samples)
                self.accelerator.backward(loss / a)
            _accumulate(stats, 1 / a, **{"loss/d": loss.item(), **d_stats})
        self._update(self.d, self.opt_d)
        return stats

    # ---- evaluation, samples, export ------------------------------------------------------------------------------

    def evaluate(self) -> dict[str, float]:
        """Dev ROUGE of G's summaries (main process decodes; the others wait)."""
        from seq2seq2seq.eval.rouge import score_summaries

        result: dict[str, float] = {}
        if self.accelerator.is_main_process and self.cfg.eval_size > 0 and self.corpus.dev_documents:
            docs = self.corpus.dev_documents[: self.cfg.eval_size]
            refs = self.corpus.dev_summaries[: self.cfg.eval_size]
            with self.accelerator.autocast():
                preds = summarize_texts(self.accelerator.unwrap_model(self.g), self.tokenizer, docs,
                                        self.cfg.decoding, max_document_tokens=self.cfg.model.max_document_tokens)
            # ROUGE as the corpus's language counts it (CJK: characters; others: Unicode letters kept)
            result = {f"dev/{k}": v for k, v in score_summaries(preds, refs, language=self.corpus.language).items()}
            result["dev/distinct_2"] = distinct_n(preds, 2)
        self.accelerator.wait_for_everyone()
        return result

    def write_samples(self, n: int = 3) -> str:
        """A few document -> summary -> reconstruction triples from the dev set."""
        g, r = self.accelerator.unwrap_model(self.g), self.accelerator.unwrap_model(self.r)
        docs = self.corpus.dev_documents[:n] or self.corpus.documents[:n]  # a corpus without dev pairs
        with self.accelerator.autocast():
            summaries = summarize_texts(g, self.tokenizer, docs, self.cfg.decoding,
                                        max_document_tokens=self.cfg.model.max_document_tokens)
            rebuilt = summarize_texts(r, self.r_tokenizer, summaries, _reconstruction_decoding(self.cfg),
                                      max_document_tokens=self.cfg.decoding.max_summary_tokens)
        return "\n".join(f"  document:       {d}\n  summary:        {s}\n  reconstruction: {x}"
                         for d, s, x in zip(docs, summaries, rebuilt))

    def export(self, folder: Path, results: dict) -> None:
        self._check_finite(f"the export {folder} was not written")
        if self.accelerator.is_main_process:
            unwrap = self.accelerator.unwrap_model
            ckpt.export_models(folder, unwrap(self.g), unwrap(self.r), unwrap(self.d), self.tokenizer, self.cfg,
                               results, self.corpus.language, self.r_tokenizer, self.d_tokenizer,
                               self.state.get("resume_changes"))
        self.accelerator.wait_for_everyone()

    def resume(self, allow_changes: bool = False) -> list[dict]:
        """Load the newest checkpoint of output_dir after every check that it continues the same run; nothing is
        written. Returns the setting changes that ``allow_changes`` (--resume-with-changes) let through, each with
        the step from which it holds (see resume_policy)."""
        cfg, out = self.cfg, Path(self.cfg.output_dir)
        checkpoints = ckpt.list_checkpoints(out)
        if not checkpoints:
            raise ckpt.CheckpointError(no_checkpoint_message(out))
        fingerprints = self._tokenizer_fingerprints()
        changes: list = []

        def check(state: dict) -> None:
            ckpt.check_resumable(state, cfg, fingerprints, checkpoints[-1], STAGES)
            recorded = resume_policy.recorded_settings(state, out)
            if recorded is not None:
                changes.extend(resume_policy.restricted_changes(recorded, cfg, state["stage"], STAGES))
            resume_policy.check_changes(changes, checkpoints[-1], state, allow_changes)

        state = ckpt.load_checkpoint(self.accelerator, checkpoints[-1], check=check)
        layout = self.world * cfg.gradient_accumulation_steps
        if state.get("micro_batches_per_step", layout) != layout:
            raise ckpt.CheckpointError(
                f"{checkpoints[-1]} was written with {state['micro_batches_per_step']} micro-batches per step "
                f"(processes x gradient_accumulation_steps) but this run has {layout}; resume with the same "
                f"product so that every batch is seen once")
        pairs_sha256 = self.pairs.sha256 if self.pairs is not None else None
        if state.get("pairs_sha256") != pairs_sha256:
            raise ckpt.CheckpointError(
                f"{checkpoints[-1]} was trained with other supervised.pairs (sha256 "
                f"{state.get('pairs_sha256')}, now {pairs_sha256}); resume with the same pairs file, or "
                f"start a new run in another --output_dir")
        records = resume_policy.change_records(changes, state)
        self.state = state
        self.state["config"] = cfg.to_dict()  # what the next resume compares against
        self.state["resume_changes"] = state.get("resume_changes", []) + records
        return records

    def remaining_steps(self) -> int:
        """Optimizer steps this run has still to train (0: a finished run that a resume would only re-export)."""
        current = STAGES.index(self.state["stage"])
        left = getattr(self.cfg, STAGES[current]).steps - self.state["step"]
        return max(left, 0) + sum(getattr(self.cfg, stage).steps for stage in STAGES[current + 1:])

    def _check_finite(self, what: str, *parts: str) -> None:
        """Refuse to save weights with an inf or nan (a diverged run) over anything: the last good checkpoint and
        exports stay. Every process checks, so that all of them stop together."""
        models = {"summarizer": self.g, "reconstructor": self.r, "discriminator": self.d}
        unwrap = self.accelerator.unwrap_model
        ckpt.check_finite({name: unwrap(models[name]) for name in parts or models}, what,
                          Path(self.cfg.output_dir))

    def _step(self, step_fn, stage: str, step: int) -> dict[str, float]:
        """One optimizer step; a diverged model (inf/nan weights) fails in sampling with torch's own error, which
        becomes the message that says so and what remains."""
        try:
            return step_fn(step)
        except RuntimeError:
            self._check_finite(f"{stage} step {step + 1} cannot run (sampling from inf/nan probabilities)")
            raise

    # ---- the loop -------------------------------------------------------------------------------------------------

    def run(self) -> dict:
        """Train from ``self.state`` (a new run, or one that :meth:`resume` loaded) to the end, and export."""
        acc, cfg, out = self.accelerator, self.cfg, Path(self.cfg.output_dir)
        if acc.is_main_process and not (self.corpus.dev_documents and cfg.eval_size > 0):
            logger.info("no dev set (the corpus has no dev.jsonl, or eval_size is 0): no dev ROUGE and no model "
                        "selection; the model to use is the last one, final/summarizer (best/ is not written)")
        if self.pairs is not None and acc.is_main_process:
            share = f"{self.pairs_per_batch} of each {cfg.pretrain.batch_size}-document pre-training batch"
            uses = [share]
            if cfg.adversarial.steps and cfg.supervised.adversarial_weight:
                uses.append(f"a teacher-forced batch at weight {cfg.supervised.adversarial_weight} in each "
                            f"adversarial update")
            if cfg.supervised.discriminator and (cfg.pretrain_d.steps or cfg.adversarial.steps):
                uses.append("summaries among D's human sentences")
            logger.info(f"semi-supervised: {len(self.pairs)} pairs from {self.pairs.path} (sha256 "
                        f"{self.pairs.sha256[:12]}...): {'; '.join(uses)}")
            for note in self.pairs.notes:
                logger.warning(note)
        acc.init_trackers("seq2seq2seq", config=_flat_scalars(cfg.to_dict()))
        step_fns = {"pretrain": self.pretrain_step, "pretrain_d": self.pretrain_d_step,
                    "adversarial": self.adversarial_step}
        for stage in STAGES[STAGES.index(self.state["stage"]):]:
            total = getattr(cfg, stage).steps
            batch = {"pretrain": cfg.pretrain.batch_size, "pretrain_d": cfg.pretrain_d.batch_size,
                     "adversarial": cfg.adversarial.batch_size}[stage]
            examples_per_step = batch * cfg.gradient_accumulation_steps * self.world
            timing = self.state.setdefault("timing", {}).setdefault(stage, {"seconds": 0.0, "examples": 0, "steps": 0})
            bar = tqdm(range(self.state["step"], total), desc=stage, disable=not acc.is_local_main_process,
                       initial=self.state["step"], total=total, dynamic_ncols=True)
            window: list[dict[str, float]] = []
            for step in bar:
                started = time.perf_counter()
                if "flops_per_step" not in timing:
                    # model FLOPs of one optimizer step (forward, backward, sampling; all processes), counted once
                    # per stage; the benchmark relates them to a matrix-multiply peak measured on the same machine
                    with FlopCounterMode(display=False) as counter:
                        window.append(self._step(step_fns[stage], stage, step))
                    timing["flops_per_step"] = counter.get_total_flops() * self.world
                else:
                    window.append(self._step(step_fns[stage], stage, step))
                timing["seconds"] += time.perf_counter() - started
                timing["examples"] += examples_per_step
                timing["steps"] = timing.get("steps", 0) + 1
                self.state["step"], self.state["global_step"] = step + 1, self.state["global_step"] + 1
                done = step + 1
                if done % cfg.log_every == 0 or done == total:
                    logs = _reduce_mean(acc, window)
                    logs["examples_per_second"] = timing["examples"] / max(timing["seconds"], 1e-9)
                    window = []
                    acc.log({f"{stage}/{k}": v for k, v in logs.items()}, step=self.state["global_step"])
                    self._append_metrics({"stage": stage, "step": done, "global_step": self.state["global_step"],
                                          **logs})
                    shown = [k for k in logs if k.startswith(("loss/", "reward/total", "d/acc"))]
                    bar.set_postfix({k: f"{logs[k]:.3g}" for k in shown})
                if cfg.sample_every and done % cfg.sample_every == 0 and acc.is_main_process:
                    logger.info(f"samples at {stage} step {done}:\n{self.write_samples()}")
                if stage != "pretrain_d" and ((cfg.eval_every and done % cfg.eval_every == 0) or done == total):
                    self._evaluate_and_keep_best(stage, done)
                if (cfg.save_every and done % cfg.save_every == 0) or done == total:
                    self._check_finite(f"the checkpoint at {stage} step {done} was not written")
                    ckpt.save_checkpoint(acc, out, self.state, cfg.keep_checkpoints)
            bar.close()
            if stage == "pretrain" and total:
                self._check_finite("the pre-trained summarizer was not written", "summarizer")
            if stage == "pretrain" and total and acc.is_main_process:
                # G as pre-training left it: the "pre-trained G only" row of the benchmark's ablation
                ckpt.save_summarizer(acc.unwrap_model(self.g), self.tokenizer, cfg.decoding,
                                     out / "pretrained" / "summarizer", cfg.model.max_document_tokens,
                                     self.corpus.language)
            if stage != STAGES[-1]:
                self.state.setdefault("stage_steps", {})[stage] = total
                self.state["stage"], self.state["step"] = STAGES[STAGES.index(stage) + 1], 0
        results = {
            "final": self.state["history"][-1] if self.state["history"] else {},
            "best": self.state["best"],
            "history": self.state["history"],
            "throughput": {stage: _throughput(t) for stage, t in self.state.get("timing", {}).items()},
            "world_size": self.world,
            "supervised": self.pairs.record() if self.pairs is not None else None,
        }
        self.export(out / "final", results)
        if acc.is_main_process:
            (out / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        acc.end_training()
        return results

    def _append_metrics(self, row: dict) -> None:
        """One line of RUN/metrics.jsonl per logging window: what the benchmark's training-curve plot reads."""
        if self.accelerator.is_main_process:
            with (Path(self.cfg.output_dir) / METRICS_FILE).open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")

    def _evaluate_and_keep_best(self, stage: str, step: int) -> None:
        metrics = self.evaluate()
        if not metrics:
            return
        entry = {"stage": stage, "step": step, "global_step": self.state["global_step"], **metrics}
        self.state["history"].append(entry)
        self.accelerator.log(metrics, step=self.state["global_step"])
        logger.info(f"dev at {stage} step {step}: " + ", ".join(f"{k}={v:.2f}" for k, v in metrics.items()))
        key = f"dev/{self.cfg.eval_metric}"
        best = self.state["best"]
        if best is None or metrics[key] > best[key]:
            self._check_finite("the best summarizer was not written", "summarizer")
            self.state["best"] = entry
            # the best summarizer so far, ready to use (model selection on the dev slice only)
            if self.accelerator.is_main_process:
                ckpt.save_summarizer(self.accelerator.unwrap_model(self.g), self.tokenizer, self.cfg.decoding,
                                     Path(self.cfg.output_dir) / "best" / "summarizer",
                                     self.cfg.model.max_document_tokens, self.corpus.language)


def _reconstruction_decoding(cfg: TrainConfig):
    from seq2seq2seq.config import DecodingConfig

    return DecodingConfig(max_summary_tokens=cfg.model.max_document_tokens, min_summary_tokens=0)


def _throughput(timing: dict) -> dict:
    """examples/s and achieved model FLOP/s of a stage from its accumulated wall-clock seconds and the steps it ran
    (not the configured steps: a resumed run may have run fewer in this stage's timing)."""
    seconds = max(timing["seconds"], 1e-9)
    out = {**timing, "examples_per_second": timing["examples"] / seconds}
    if "flops_per_step" in timing and "steps" in timing:
        out["flops_per_second"] = timing["flops_per_step"] * timing["steps"] / seconds
    return out


def _reduce_mean(accelerator: Accelerator, window: list[dict[str, float]]) -> dict[str, float]:
    """Mean of each logged value over the steps of the window and over processes."""
    keys = sorted({k for row in window for k in row})
    local = torch.tensor([sum(row.get(k, 0.0) for row in window) / max(len(window), 1) for k in keys],
                         device=accelerator.device)
    values = accelerator.reduce(local, reduction="mean") if accelerator.num_processes > 1 else local
    return dict(zip(keys, values.tolist()))


def _flat_scalars(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flat_scalars(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float, str, bool)):
            flat[f"{prefix}{key}"] = value
    return flat


def _has_tensorboard() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def ensure_corpus(data_dir: str | Path) -> Path:
    """The corpus folder, built with data_prep's defaults (by the main process) if it is the default one and missing."""
    from accelerate import PartialState

    from seq2seq2seq.paths import DEFAULT_CORPUS_DIR

    data_dir = Path(data_dir)
    if not data_dir.is_dir() and data_dir.resolve() == DEFAULT_CORPUS_DIR.resolve():
        state = PartialState(cpu=not torch.cuda.is_available())
        if state.is_main_process:
            from data_prep import build_default_corpus

            print(f"corpus {data_dir} not found: building it with `python -m data_prep` (about a minute)",
                  file=sys.stderr)
            build_default_corpus(data_dir)
        state.wait_for_everyone()
    return data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="seq2seq2seq-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Any config key can be overridden: --pretrain.steps 100 --adversarial.discriminator_weight 0")
    parser.add_argument("--config", help="YAML config (scripts/configs/*.yaml); defaults apply without one")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint in output_dir; a resume may change only the steps of "
                             "unfinished stages, log/eval/save/sample cadence, keep_checkpoints, num_threads and "
                             "report_to")
    parser.add_argument("--resume-with-changes", action="store_true",
                        help="with --resume: also allow other settings to change (a learning rate, a reward weight, "
                             "...); each change and the step it takes effect are recorded in config.yaml "
                             "(resume_changes) and train.log")
    parser.add_argument("--print_config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("--overwrite", action="store_true",
                        help="train into an output_dir that holds a finished run without checkpoints, replacing it")
    args, rest = parser.parse_known_args(argv)
    if args.resume_with_changes and not args.resume:
        print("error: --resume-with-changes lets a resume change settings; pass --resume as well", file=sys.stderr)
        return 2
    try:
        overrides = parse_overrides(rest)
        cfg = load_config(args.config, overrides)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    run_folder = _run_folder_of(args.config)
    if run_folder is not None and "output_dir" not in overrides and Path(cfg.output_dir).resolve() != run_folder:
        # RUN/config.yaml names the folder it was first trained in; a copied or moved run resumes where it is now,
        # not in (and over) the original
        print(f"note: {args.config} belongs to the run folder {run_folder}; training there, not in its recorded "
              f"output_dir {cfg.output_dir} (pass --output_dir to choose)", file=sys.stderr)
        cfg.output_dir = str(run_folder)
    if args.print_config:
        print(config_to_yaml(cfg), end="")
        return 0
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    out = Path(cfg.output_dir)
    try:
        lock = run_lock.acquire(out) if _is_main_process() else None
    except run_lock.RunLockError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        return _train(args, cfg, out)
    finally:  # also on an exception or Ctrl-C (and the kernel releases the lock of a killed process)
        if lock is not None:
            lock.release()


def _is_main_process() -> bool:
    """Only the main process locks the run folder: the processes of one multi-process run share it."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available()).is_main_process


def no_checkpoint_message(out: Path) -> str:
    """Why --resume cannot go on without a checkpoint, with a fix that works for what the folder holds."""
    finished = [name for name in ("final", "best", "results.json") if (out / name).exists()]
    if finished:
        return (f"--resume given but {out}/checkpoints holds no checkpoint, so the finished run in {out} "
                f"({', '.join(finished)}) cannot be continued; to train it again from the start, replacing it, pass "
                f"--overwrite instead of --resume, or choose another --output_dir")
    return f"--resume given but {out}/checkpoints holds no checkpoint; start without --resume"


def _train(args: argparse.Namespace, cfg: TrainConfig, out: Path) -> int:
    """The rest of main, in the run folder it has locked: refuse what would lose or mix up work, then train."""
    if args.resume and not ckpt.list_checkpoints(out):
        print(f"error: {no_checkpoint_message(out)}", file=sys.stderr)
        return 2
    if not args.resume and ckpt.list_checkpoints(out):
        print(f"error: {out} already holds checkpoints; pass --resume to continue that run or choose another "
              f"--output_dir", file=sys.stderr)
        return 2
    try:
        ckpt.check_output_dir(out, args.resume, args.overwrite)
    except ckpt.CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    package_logger, handlers = logging.getLogger("seq2seq2seq"), []
    try:
        corpus = load_corpus(ensure_corpus(cfg.data_dir), cfg.max_documents)
        trainer = Trainer(cfg, corpus)
        # every check passes before anything is written: a refused command leaves the run folder as it was
        changes = trainer.resume(args.resume_with_changes) if args.resume else []
        if args.resume and not trainer.remaining_steps() and (out / "final" / "results.json").is_file():
            if trainer.accelerator.is_main_process:
                print(f"nothing to train: {out} has finished every stage ({trainer.state['stage']} at step "
                      f"{trainer.state['step']}) and its export {out / 'final'} is left as it is; to train on, "
                      f"raise that stage's steps (e.g. --{trainer.state['stage']}.steps N --resume)")
            return 0
        if ckpt.remove_stale_temporaries(out):
            print(f"note: removed half-written checkpoints left in {out}/checkpoints by an interrupted run",
                  file=sys.stderr)
        if trainer.accelerator.is_main_process:
            out.mkdir(parents=True, exist_ok=True)
            if not args.resume or trainer.remaining_steps():
                (out / "config.yaml").write_text(config_to_yaml(cfg, trainer.state["resume_changes"]),
                                                 encoding="utf-8")
            if not args.resume:  # a new run (or --overwrite) starts its curves afresh
                (out / METRICS_FILE).unlink(missing_ok=True)
            handlers = [logging.FileHandler(out / "train.log", encoding="utf-8"), logging.StreamHandler()]
            for handler in handlers:
                handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
                package_logger.addHandler(handler)
            package_logger.propagate = False  # the handlers above are the log; no duplicate via the root logger
        package_logger.setLevel(logging.INFO)
        if args.resume:
            logger.info(f"resumed from {ckpt.list_checkpoints(out)[-1]} at {trainer.state['stage']} step "
                        f"{trainer.state['step']}")
        for change in changes:
            logger.warning(resume_policy.describe(change))
        results = trainer.run()
    except (ConfigError, CorpusError, ModelLoadError, ckpt.CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # checkpoints are written atomically, so what is on disk is whole: say how to go on, without a traceback
        saved = ckpt.list_checkpoints(out)
        where = f"the newest checkpoint is {saved[-1]}: continue with --resume" if saved else "no checkpoint was saved"
        print(f"\ninterrupted; {where}", file=sys.stderr)
        return 130
    except Exception as err:  # data_prep's own error when the corpus is built on first use
        if err.__class__.__name__ != "DataPrepError":
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        # this run's log handlers go with it: a second run in the same process must not write into this run's log
        for handler in handlers:
            package_logger.removeHandler(handler)
            handler.close()
        package_logger.propagate = True
    if trainer.accelerator.is_main_process:
        best = results.get("best")
        if best:
            print(f"done: exported to {out / 'final'}; best dev {cfg.eval_metric}: "
                  f"{best['dev/' + cfg.eval_metric]:.2f} at {best['stage']} step {best['step']}")
        else:
            print(f"done: exported to {out / 'final'} (no dev set, so no selection: use final/summarizer)")
    return 0


def _run_folder_of(config_path: str | None) -> Path | None:
    """The run folder a config file sits in (RUN/config.yaml beside RUN/checkpoints or RUN/final), else None."""
    if not config_path:
        return None
    folder = Path(config_path).resolve().parent
    markers = ("checkpoints", "final", "train.log")
    return folder if Path(config_path).name == "config.yaml" and any((folder / m).exists() for m in markers) else None


if __name__ == "__main__":
    sys.exit(main())
