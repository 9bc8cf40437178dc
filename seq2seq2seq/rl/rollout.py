"""Collect: one micro-batch of the adversarial stage, without gradients. G samples k summaries per document, the
rewards score them (and the baseline's summaries), and the advantages follow; with ``anchor_candidates`` the
rewards also choose the anchor's target among the rule's variants. Nothing here keeps a graph: each model's update
(:mod:`seq2seq2seq.train.stages`) runs its own forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from accelerate import Accelerator

from seq2seq2seq.config import TrainConfig
from seq2seq2seq.decoding.retokenize import Retokenizer
from seq2seq2seq.decoding.sampling import SourceConstraint, constraint_for, generate_summaries
from seq2seq2seq.models.build import seq2seq_logits
from seq2seq2seq.rl.objectives import advantages as compute_advantages
from seq2seq2seq.types import Documents, Summaries


@dataclass
class Rollout:
    """One micro-batch as collected; rows are documents repeated k times in a row, one row per sample."""

    texts: list[str]  # the b documents
    documents: Documents  # (b*k, s)
    samples: Summaries  # (b*k, t)
    constraint: SourceConstraint | None  # what G may emit, for the b*k rows
    advantages: torch.Tensor  # (b*k,)
    stats: dict[str, float]
    anchor_targets: list[str] | None = None  # the anchor's reward-chosen targets (anchor_candidates), one per document
    indices: list[int] | None = None  # the b documents' indices in the corpus


class RolloutContext(Protocol):
    """What collecting reads from a run (the Trainer provides it)."""

    cfg: TrainConfig
    corpus: Any  # seq2seq2seq.data.Corpus
    accelerator: Accelerator
    engine: Any  # seq2seq2seq.train.engine.Engine
    batches: Any  # seq2seq2seq.train.batches.Batches
    rewards: Any  # the reward set: score(documents, summaries, known) and lookup by name
    g: torch.nn.Module
    r: torch.nn.Module
    d: torch.nn.Module
    to_r: Retokenizer
    word_start: torch.Tensor | None
    gumbel: bool  # estimator: gumbel
    soft_rewards: tuple[str, ...]  # the rewards that reach G as gradients under gumbel, not by REINFORCE


def sample(t: RolloutContext, docs: Documents, do_sample: bool, k: int = 1,
           constraint: SourceConstraint | None = None) -> Summaries:
    """G's summaries of ``docs``: k samples each, or the greedy one; G without dropout (eval mode)."""
    g = t.accelerator.unwrap_model(t.g)
    g.eval()
    with t.accelerator.autocast():
        out = generate_summaries(g, docs.input_ids, docs.attention_mask, t.cfg.decoding, do_sample=do_sample,
                                 num_samples=k, word_start=t.word_start, constraint=constraint)
    g.train()
    return out


@torch.no_grad()
def collect(t: RolloutContext, index: int) -> Rollout:
    """Micro-batch ``index``'s trajectory: k samples per document, the baseline, rewards and advantages.

    R's reward is its teacher-forced log-likelihood of the documents from the samples, in eval mode (no dropout),
    like the greedy baseline's reward, so both rewards come from the same R. A length-conditioned G reads each
    document behind the control token of a length drawn per document from pretrain.length_words (the batch's
    random stream); its samples and the greedy baseline read the same input.
    """
    cfg, k = t.cfg.adversarial, t.cfg.adversarial.num_samples
    rng = t.engine.seed("adversarial", index)
    indices = t.batches.adversarial_indices(index)
    texts = [t.corpus.documents[i] for i in indices]
    # a length-conditioned G is asked for one of its lengths per document, as in pre-training
    docs = t.batches.documents(texts, t.batches.requested_words(rng, len(texts)))
    g = t.accelerator.unwrap_model(t.g)
    # built once: sampling, the baseline and the log-probs of the update share it
    constraint = constraint_for(g, docs.input_ids, t.cfg.decoding, t.word_start)
    samples = sample(t, docs, do_sample=True, k=k, constraint=constraint)
    docs_k = docs.repeat(k)
    r, d = t.accelerator.unwrap_model(t.r), t.accelerator.unwrap_model(t.d)
    r.eval(), d.eval()
    known = {}
    if "reconstruction" in t.rewards and t.rewards["reconstruction"].weight > 0:
        r_logits = seq2seq_logits(r, *t.to_r(samples), *docs_k.targets)
        known["reconstruction"] = t.rewards["reconstruction"].from_logits(r_logits.float(), docs_k)
    # under gumbel, R's and D's rewards reach G as gradients (update_g); the others, if any, by REINFORCE
    soft = t.soft_rewards if t.gumbel else ()
    with t.accelerator.autocast():
        reward, parts = t.rewards.score(docs_k, samples, known)
        policy_reward, _ = t.rewards.score(docs_k, samples, parts, exclude=soft)
        if not t.rewards.active(exclude=soft):
            advantages = torch.zeros_like(reward).flatten().float()
        else:
            greedy_reward = None
            if cfg.baseline == "greedy":
                greedy = sample(t, docs, do_sample=False, constraint=constraint)
                greedy_reward, _ = t.rewards.score(docs, greedy, exclude=soft)
            advantages = compute_advantages(policy_reward, k, cfg.baseline, greedy_reward, cfg.normalize_advantages)
        anchor_targets, anchor_stats = choose_anchor_targets(t, texts, docs, index)
    r.train(), d.train()
    stats = {"reward/total/mean": reward.mean().item(), "advantage/mean": advantages.mean().item(),
             "summary/tokens": samples.summary_mask.sum(1).float().mean().item(),
             **{f"rewards/{name}/mean": value.mean().item() for name, value in parts.items()}, **anchor_stats}
    return Rollout(texts, docs_k, samples, constraint.repeat_interleave(k) if constraint else None,
                   advantages, stats, anchor_targets, indices)


def choose_anchor_targets(t: RolloutContext, texts: list[str], docs: Documents,
                          index: int) -> tuple[list[str] | None, dict[str, float]]:
    """With anchor_candidates = n: each document's anchor pool (the pseudo-summary and n - 1 variants of the rule)
    scored by the stage's rewards (weighted sum, R and D in eval mode); the top one is the anchor's target. Returns
    (targets or None, stats: how often the pseudo-summary itself won)."""
    n = t.cfg.adversarial.anchor_candidates
    if not n:
        return None, {}
    pool = t.batches.anchor_pool(texts, t.engine.seed("adversarial_anchor", index))
    reward, _ = t.rewards.score(docs.repeat(n), t.batches.summaries(pool))  # the weighted sum (rewards.combine)
    top = reward.view(-1, n).argmax(dim=1).tolist()
    targets = [pool[i * n + j] for i, j in enumerate(top)]
    kept = sum(targets[i] == pool[i * n] for i in range(len(texts))) / len(texts)
    return targets, {"anchor/pseudo_summary_kept": kept}
