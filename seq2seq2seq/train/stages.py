"""The three stages, one optimizer step each: pretrain (G imitates pseudo-summaries, R rebuilds documents from them),
pretrain_d (D: human sentences vs. G's samples), adversarial (collect, then update G, R and D).

Each step takes the run (:class:`seq2seq2seq.train.trainer.Trainer`: models, optimizers, engine, batches, rewards) and
the step number, and returns the step's logged scalars. Gradients of a step's micro-batches accumulate locally and
are all-reduced on the last one (``engine.sync``): DDP wants exactly one forward per backward, so every loss below is
one forward pass.
"""

from __future__ import annotations

import torch

from seq2seq2seq.data import tokenize
from seq2seq2seq.decoding.sampling import constraint_for, summary_logits
from seq2seq2seq.losses import cross_entropy, discriminator_loss
from seq2seq2seq.models.build import discriminator_logits, seq2seq_logits
from seq2seq2seq.rl.gumbel import soft_reward_loss
from seq2seq2seq.rl.objectives import imitation_loss, policy_gradient_loss
from seq2seq2seq.rl.rollout import Rollout, collect, sample
from seq2seq2seq.train.engine import accumulate
from seq2seq2seq.train.trainer import Trainer
from seq2seq2seq.types import Documents, Summaries

# ---- pretrain ---------------------------------------------------------------------------------------------------

def pretrain_step(t: Trainer, step: int) -> dict[str, float]:
    """G imitates the pre-training task's pseudo-summaries (and, semi-supervised, real pairs); R learns to rebuild
    the documents from them, read as it reads G's summaries."""
    cfg, engine, a = t.cfg.pretrain, t.engine, t.engine.accumulation
    engine.set_lr(t.opt_g, cfg.lr, step)
    engine.set_lr(t.opt_r, cfg.lr, step)
    stats: dict[str, float] = {}
    for last, index in engine.micro_batches(step):
        rng = engine.seed("pretrain", index)
        indices, pairs = t.batches.pretrain_indices(index), t.batches.pretrain_pairs(index)
        texts = [t.corpus.documents[i] for i in indices]
        src, tgt_ids, tgt_mask = t.batches.pseudo_batch(texts, rng, pairs, indices)
        with engine.sync(last, t.g, t.r):
            g_loss, unreachable = g_imitation_loss(t, src, tgt_ids, tgt_mask)
            engine.backward(g_loss)
            accumulate(stats, 1 / a, **{"loss/g": g_loss.item(), "unreachable_tokens": unreachable})
            if cfg.train_reconstructor:
                # R rebuilds the (unperturbed) documents; 'swap' perturbed the sources G read
                doc = src if cfg.task != "swap" else t.batches.documents(texts + [d for d, _ in pairs])
                r_logits = seq2seq_logits(t.r, *t.to_r(Summaries(tgt_ids, tgt_mask)), *doc.targets)
                r_loss = cross_entropy(r_logits, *doc.targets)
                engine.backward(r_loss)
                accumulate(stats, 1 / a, **{"loss/r": r_loss.item()})
    stats["grad_norm/g"] = engine.update("g", t.g, t.opt_g)
    if cfg.train_reconstructor:
        stats["grad_norm/r"] = engine.update("r", t.r, t.opt_r)
    return stats


def g_imitation_loss(t: Trainer, src: Documents, tgt_ids: torch.Tensor,
                     tgt_mask: torch.Tensor) -> tuple[torch.Tensor, float]:
    """G's mean token cross-entropy on target summaries (one forward), and the number of target tokens it leaves
    out; under ``pretrain.constrained_loss`` with source-only decoding, G's logits are constrained as in sampling."""
    if t.cfg.pretrain.constrained_loss and t.cfg.decoding.source_only:
        # the pseudo-summary's pieces all come from the document, so they are always allowed
        constraint = constraint_for(t.accelerator.unwrap_model(t.g), src.input_ids, t.cfg.decoding, t.word_start)
        logits = summary_logits(t.g, src.input_ids, src.attention_mask, Summaries(tgt_ids, tgt_mask),
                                t.cfg.decoding, constraint)
    else:
        logits = seq2seq_logits(t.g, src.input_ids, src.attention_mask, tgt_ids, tgt_mask)
    return imitation_loss(logits, tgt_ids, tgt_mask)


# ---- pretrain_d -------------------------------------------------------------------------------------------------

def pretrain_d_step(t: Trainer, step: int) -> dict[str, float]:
    """D learns human sentences (real) against G's samples (fake)."""
    engine, a = t.engine, t.engine.accumulation
    engine.set_lr(t.opt_d, t.cfg.pretrain_d.lr, step)
    stats: dict[str, float] = {}
    batches = t.batches
    for last, index in engine.micro_batches(step):
        rng = engine.seed("pretrain_d", index)
        texts = batches.texts(t.corpus.documents, batches.d_doc_stream, index)
        docs = batches.documents(texts, batches.requested_words(rng, len(texts)))  # G's input as in pre-training
        fake = sample(t, docs, do_sample=True)
        real = batches.texts(t.corpus.sentences, batches.sentence_stream, index)
        with engine.sync(last, t.d):
            loss, d_stats = d_loss(t, real, fake)
            engine.backward(loss)
        accumulate(stats, 1 / a, **{"loss/d": loss.item(), **d_stats})
    engine.update("d", t.d, t.opt_d)
    return stats


def d_loss(t: Trainer, real_texts: list[str], fake: Summaries) -> tuple[torch.Tensor, dict[str, float]]:
    """D's loss on human sentences vs. G's summaries, in one forward pass. Both reach D in D's tokenizer: G's
    summaries re-tokenized when it is not G's, as in D's reward."""
    real_ids, real_mask = tokenize(t.d_tokenizer, real_texts, t.cfg.discriminator.max_tokens)
    fake_ids, fake_mask = t.to_d(fake)
    width, pad, device = max(real_ids.shape[1], fake_ids.shape[1]), t.d_tokenizer.pad_token_id, t.engine.device

    def widen(x: torch.Tensor, value: int) -> torch.Tensor:
        return torch.nn.functional.pad(x.to(device), (0, width - x.shape[1]), value=value)

    ids = torch.cat([widen(real_ids, pad), widen(fake_ids, pad)])
    mask = torch.cat([widen(real_mask, 0), widen(fake_mask, 0)])
    logits = discriminator_logits(t.d, ids, mask).float()
    real_logits, fake_logits = logits[: len(real_texts)], logits[len(real_texts):]
    stats = {"d/acc_real": (real_logits > 0).float().mean().item(),
             "d/acc_fake": (fake_logits < 0).float().mean().item()}
    return discriminator_loss(real_logits, fake_logits), stats


# ---- adversarial ------------------------------------------------------------------------------------------------

def adversarial_step(t: Trainer, step: int) -> dict[str, float]:
    """Collect each micro-batch (no grad), then update G (REINFORCE or Gumbel straight-through, plus the anchor)
    and R on it; one optimizer step each; then ``d_steps`` D updates on all of this step's samples."""
    cfg, engine, a = t.cfg.adversarial, t.engine, t.engine.accumulation
    for opt, lr in ((t.opt_g, cfg.lr_g), (t.opt_r, cfg.lr_r), (t.opt_d, cfg.lr_d)):
        engine.set_lr(opt, lr, step)
    stats: dict[str, float] = {}
    rollouts: list[Rollout] = []
    for last, index in engine.micro_batches(step):
        rollout = collect(t, index)
        with engine.sync(last, t.g, t.r):
            accumulate(stats, 1 / a, **rollout.stats, **update_g(t, rollout, index), **update_r(t, rollout))
        rollouts.append(rollout)
    stats["grad_norm/g"] = engine.update("g", t.g, t.opt_g)
    engine.update("r", t.r, t.opt_r)
    for j in range(cfg.d_steps):  # each D update sees all this step's summaries and fresh human sentences
        accumulate(stats, 1 / cfg.d_steps, **update_d(t, step * cfg.d_steps + j, rollouts))
    return stats


def update_g(t: Trainer, rollout: Rollout, index: int) -> dict[str, float]:
    """G's gradient for one micro-batch: REINFORCE on the rollout's samples (and R's and D's rewards as gradients
    under estimator: gumbel), plus the anchor and the pairs' loss; it accumulates until the step's update."""
    cfg = t.cfg.adversarial
    # G without dropout throughout: its log-probs are taken under the distribution the summaries were sampled from
    t.g.eval()
    anchor = anchor_loss(t, rollout, index) if cfg.pretrain_weight > 0 else None
    supervised = None
    if t.pairs is not None and t.cfg.supervised.adversarial_weight > 0:
        # semi-supervised: G's teacher-forced loss on a batch of real pairs, interleaved with every update
        pairs = t.batches.adversarial_pairs(index)
        batch = t.batches.teacher_batch([d for d, _ in pairs], [s for _, s in pairs])
        supervised = side_loss(t, t.cfg.supervised.adversarial_weight, *batch)
    docs, samples = rollout.documents, rollout.samples
    logits = summary_logits(t.g, docs.input_ids, docs.attention_mask, samples, t.cfg.decoding, rollout.constraint)
    g_loss, entropy = policy_gradient_loss(logits, samples.summary_ids, samples.summary_mask, rollout.advantages,
                                           cfg.reinforce_weight, cfg.entropy_weight)
    soft_stats = {}
    if t.gumbel:
        unwrap = t.accelerator.unwrap_model
        t.r.eval(), t.d.eval()
        soft_loss, soft_stats = soft_reward_loss(logits, rollout.samples, rollout.documents, t.rewards, t.soft_rewards,
                                                 unwrap(t.r), unwrap(t.d), t.to_r, t.to_d, cfg.gumbel_temperature)
        t.r.train(), t.d.train()
        g_loss = g_loss + soft_loss
    # a non-finite loss is still backpropagated, so that every process takes part in the all-reduce; the update
    # then sees non-finite gradients and skips the step
    t.engine.backward(g_loss)
    t.g.train()
    return {"loss/g": g_loss.item(), "entropy": entropy.item(),
            **({"loss/anchor": anchor.item()} if anchor is not None else {}),
            **({"loss/supervised": supervised.item()} if supervised is not None else {}), **soft_stats}


def anchor_loss(t: Trainer, rollout: Rollout, index: int) -> torch.Tensor:
    """The pre-training loss on the same documents (the pseudo-summaries, or the rewards' choice among the rule's
    variants with anchor_candidates): it keeps G near what it learned there."""
    if rollout.anchor_targets is not None:
        batch = t.batches.teacher_batch(rollout.texts, rollout.anchor_targets)
    else:
        batch = t.batches.pseudo_batch(rollout.texts, t.engine.seed("adversarial_anchor", index),
                                       indices=rollout.indices)
    return side_loss(t, t.cfg.adversarial.pretrain_weight, *batch)


def side_loss(t: Trainer, weight: float, src: Documents, tgt_ids: torch.Tensor,
              tgt_mask: torch.Tensor) -> torch.Tensor:
    """A teacher-forced loss added to G's policy gradient (the anchor, the pairs): its gradient accumulates locally
    and is all-reduced with the policy-gradient backward that follows (one forward per backward)."""
    with t.engine.local(t.g):
        loss, _ = g_imitation_loss(t, src, tgt_ids, tgt_mask)
        t.engine.backward(weight * loss)
    return loss


def update_r(t: Trainer, rollout: Rollout) -> dict[str, float]:
    """R learns to rebuild the documents from G's samples: teacher-forced, in eval mode (no dropout) as its reward
    was computed in collect."""
    docs = rollout.documents
    t.r.eval()
    r_loss = cross_entropy(seq2seq_logits(t.r, *t.to_r(rollout.samples), *docs.targets), *docs.targets)
    t.r.train()
    t.engine.backward(r_loss)
    return {"loss/r": r_loss.item()}


def update_d(t: Trainer, update: int, rollouts: list[Rollout]) -> dict[str, float]:
    """One D update: human sentences (real) against each micro-batch's samples (fake)."""
    engine, stats = t.engine, {}
    for rollout, (last, index) in zip(rollouts, engine.micro_batches(update)):
        engine.seed("adversarial_d", index)
        real = t.batches.texts(t.corpus.sentences, t.batches.adv_sentence_stream, index)
        with engine.sync(last, t.d):
            loss, d_stats = d_loss(t, real, rollout.samples)
            engine.backward(loss)
        accumulate(stats, 1 / engine.accumulation, **{"loss/d": loss.item(), **d_stats})
    engine.update("d", t.d, t.opt_d)
    return stats
