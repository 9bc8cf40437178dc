"""The Gumbel straight-through estimator (``adversarial.estimator: gumbel``, as SEQ3): instead of one score per
summary, each sampled token reaches frozen R and D (and the fluency LM, when it reads G's ids) as a one-hot row whose
gradient is that of a relaxed sample drawn given the token, so their rewards give G a gradient token by token. The
other rewards stay on REINFORCE (collect leaves these out of the policy's reward)."""

from __future__ import annotations

import torch

from seq2seq2seq.config import ConfigError
from seq2seq2seq.decoding.retokenize import Retokenizer
from seq2seq2seq.decoding.soft_tokens import soft_discriminator_logits, soft_language_model_logprob, soft_seq2seq_logits
from seq2seq2seq.losses import conditional_gumbel_softmax
from seq2seq2seq.rewards.base import RewardSet
from seq2seq2seq.types import Documents, Summaries

# the rewards that can take soft rows: R's and D's; the fluency LM's too when it reads G's ids
SOFT_REWARDS = ("reconstruction", "discriminator")


def soft_reward_names(rewards: RewardSet) -> tuple[str, ...]:
    """The rewards that reach G as gradients under the Gumbel estimator."""
    fluency = rewards.get("fluency")
    return SOFT_REWARDS + (("fluency",) if fluency is not None and fluency.same else ())


def check_soft_tokens(rewards: RewardSet, to_r: Retokenizer, to_d: Retokenizer) -> None:
    """Soft rows are rows over G's vocabulary: R and D must read G's ids, or their rewards have no gradient."""
    for name, key, reward, retokenizer in (("R", "model.reconstructor_init", "reconstruction", to_r),
                                           ("D", "discriminator.init", "discriminator", to_d)):
        if reward in rewards and rewards[reward].weight > 0 and not retokenizer.identity:
            raise ConfigError(f"adversarial.estimator: gumbel passes G's summary tokens to {name} as soft one-hot "
                              f"rows, but {name} ({key}) has its own tokenizer and reads them as re-tokenized text, "
                              f"which has no gradient. Use adversarial.estimator: reinforce, or a {name} that shares "
                              f"G's tokenizer")


def soft_reward_loss(logits: torch.Tensor, samples: Summaries, documents: Documents, rewards: RewardSet,
                     names: tuple[str, ...], r: torch.nn.Module, d: torch.nn.Module, to_r: Retokenizer,
                     to_d: Retokenizer, temperature: float) -> tuple[torch.Tensor, dict[str, float]]:
    """Minus the weighted rewards ``names`` of the samples as straight-through Gumbel-softmax rows: (loss, stats).
    logits: shape (n, t, V), G's logits at the samples' positions; samples: (n, t); R, D (frozen, eval mode, the
    unwrapped models) read the rows; the gradient reaches only G's logits."""
    mask = samples.summary_mask.bool()
    # positions after the end carry no reward; zeroed so that no -inf row there turns a gradient into nan
    soft = conditional_gumbel_softmax(logits.masked_fill(~mask[..., None], 0.0), samples.summary_ids, temperature)
    loss, stats = logits.new_zeros(()), {}
    weight = {name: (rewards[name].weight if name in rewards else 0.0) for name in names}
    if weight.get("reconstruction", 0) > 0:
        rows, rows_mask = to_r.soft(samples, soft)
        ids, _ = to_r(samples)
        r_logits = soft_seq2seq_logits(r, rows, rows_mask, ids, *documents.targets)
        reconstruction = rewards["reconstruction"].from_logits(r_logits.float(), documents).mean()
        loss = loss - weight["reconstruction"] * reconstruction
        stats["soft/reconstruction"] = reconstruction.item()
    if weight.get("discriminator", 0) > 0:
        rows, rows_mask = to_d.soft(samples, soft)
        discriminator = rewards["discriminator"].from_logits(soft_discriminator_logits(d, rows, rows_mask).float())
        loss = loss - weight["discriminator"] * discriminator.mean()
        stats["soft/discriminator"] = discriminator.mean().item()
    if "fluency" in names:
        lm = rewards["fluency"]
        fluency = soft_language_model_logprob(lm.lm, soft, samples.summary_mask, lm.start_id).mean()
        loss = loss - weight["fluency"] * fluency
        stats["soft/fluency"] = fluency.item()
    return loss, stats
