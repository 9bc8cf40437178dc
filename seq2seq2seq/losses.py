"""Pure loss functions. No models, no state: tensors in, tensors out, shapes in every docstring."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1. values, mask: same shape. dim=None averages everything."""
    mask = mask.to(values.dtype)
    if dim is None:
        return (values * mask).sum() / mask.sum().clamp(min=1.0)
    return (values * mask).sum(dim) / mask.sum(dim).clamp(min=1.0)


def token_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Log-probability of each label. logits: shape (b, t, V); labels: shape (b, t), any id at padding.

    Returns shape (b, t). Entries at -inf logits for the label itself come back as -inf: mask them out.
    """
    logps = torch.log_softmax(logits.float(), dim=-1)
    return logps.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of each next-token distribution. logits: shape (b, t, V), -inf allowed. Returns shape (b, t)."""
    logps = torch.log_softmax(logits.float(), dim=-1)
    # forbidden entries have p = 0 and log p = -inf; zero their log p *before* multiplying, or the backward pass
    # computes 0 * inf = nan even where the forward value is 0
    return -(logps.exp() * logps.masked_fill(torch.isinf(logps), 0.0)).sum(-1)


def sequence_mean_logprob(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Length-normalised log-likelihood of each sequence: mean over its real tokens.

    logits: (b, t, V); labels, mask: (b, t). Returns shape (b,).
    """
    return masked_mean(token_logprobs(logits, labels).masked_fill(mask == 0, 0.0), mask, dim=1)


def weighted_mean_logprob(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean log-likelihood of each sequence: sum_i w_i log p(labels_i) / sum_i w_i.

    logits: (b, t, V); labels, weights: (b, t), weights 0 on padding. Returns shape (b,).
    """
    logps = token_logprobs(logits, labels).masked_fill(weights == 0, 0.0)
    return (weights * logps).sum(1) / weights.sum(1).clamp(min=1e-9)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Teacher-forced cross-entropy averaged over real tokens. logits: (b, t, V); labels, mask: (b, t). Scalar."""
    return -masked_mean(token_logprobs(logits, labels).masked_fill(mask == 0, 0.0), mask)


def self_critical_advantages(sample_rewards: torch.Tensor, greedy_rewards: torch.Tensor) -> torch.Tensor:
    """Advantage of each sample over its document's greedy summary (Rennie et al.'s self-critical baseline).

    sample_rewards: shape (b, k); greedy_rewards: shape (b,). Returns shape (b, k).
    """
    return sample_rewards - greedy_rewards[:, None]


def leave_one_out_advantages(sample_rewards: torch.Tensor) -> torch.Tensor:
    """Advantage of each sample over the mean reward of the document's other k-1 samples.

    sample_rewards: shape (b, k) with k >= 2. Returns shape (b, k).
    """
    k = sample_rewards.shape[1]
    if k < 2:
        raise ValueError("leave-one-out needs at least 2 samples per document")
    others = (sample_rewards.sum(1, keepdim=True) - sample_rewards) / (k - 1)
    return sample_rewards - others


def best_of_k_advantages(sample_rewards: torch.Tensor) -> torch.Tensor:
    """Weight 1 on each document's highest-reward sample and 0 on the others: with ``reinforce_loss`` this is
    reward-ranked fine-tuning (expert iteration), G imitating the best of its own k samples. Only the ranking counts,
    not the rewards' scale. A tie goes to the first sample; a NaN reward never wins.

    sample_rewards: shape (b, k) with k >= 2. Returns shape (b, k).
    """
    if sample_rewards.shape[1] < 2:
        raise ValueError("best-of-k needs at least 2 samples per document")
    best = sample_rewards.nan_to_num(nan=float("-inf")).argmax(1)
    return torch.nn.functional.one_hot(best, sample_rewards.shape[1]).to(sample_rewards.dtype)


def reinforce_loss(per_token_logps: torch.Tensor, mask: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """REINFORCE: minimising it raises the log-probability of samples with positive advantage.

    per_token_logps: shape (n, t), G's log-prob of each sampled token; mask: shape (n, t); advantages: shape (n,),
    treated as constants. Loss = -mean_n(advantage_n * sum_t logp_nt).
    """
    sequence_logps = (per_token_logps.masked_fill(mask == 0, 0.0)).sum(1)
    return -(advantages.detach() * sequence_logps).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of D: human sentences are 1, G's summaries are 0.

    real_logits: shape (b,); fake_logits: shape (n,). Scalar: the mean of the two sides' losses.
    """
    real = F.binary_cross_entropy_with_logits(real_logits.float(), torch.ones_like(real_logits, dtype=torch.float))
    fake = F.binary_cross_entropy_with_logits(fake_logits.float(), torch.zeros_like(fake_logits, dtype=torch.float))
    return 0.5 * (real + fake)


def conditional_gumbel_logits(logits: torch.Tensor, labels: torch.Tensor,
                              uniform: torch.Tensor | None = None) -> torch.Tensor:
    """Log-probabilities plus Gumbel noise drawn *given* that their maximum is at ``labels`` (Tucker et al., 2017,
    REBAR, appendix). With l = ``log_softmax(logits)`` and u ~ U(0, 1):
        z_k = -log(-log u_k)                          for the sampled token k (the maximum: a plain Gumbel),
        z_i = -log(-log(u_i) / exp(l_i) + exp(-z_k))    for every other i (so z_i < z_k).
    Drawing k ~ p and then z this way gives z distributed as l + Gumbel noise.

    logits: shape (n, t, V), -inf for forbidden tokens (they end at -inf); labels: shape (n, t), allowed ids;
    uniform: optional (n, t, V) draws in (0, 1) (default: fresh ``torch.rand``). Returns shape (n, t, V), float32.
    """
    logps = torch.log_softmax(logits.float(), dim=-1)
    if uniform is None:
        uniform = torch.rand_like(logps)
    uniform = uniform.to(logps.dtype).clamp(torch.finfo(logps.dtype).tiny, 1.0 - 1e-7)
    labels = labels.clamp(min=0).unsqueeze(-1)
    top = -torch.log(-torch.log(uniform.gather(-1, labels)))  # (n, t, 1)
    # forbidden tokens (p = 0) divide by 1 instead of 0 and are then set to -inf, so no gradient there is nan
    allowed = torch.isfinite(logps)
    probs = logps.exp().masked_fill(~allowed, 1.0)
    others = (-torch.log(-torch.log(uniform) / probs + torch.exp(-top))).masked_fill(~allowed, float("-inf"))
    return others.scatter(-1, labels, top)


def conditional_gumbel_softmax(logits: torch.Tensor, labels: torch.Tensor, temperature: float,
                               uniform: torch.Tensor | None = None) -> torch.Tensor:
    """Straight-through Gumbel-softmax for tokens already sampled: exactly ``one_hot(labels)`` forward, the
    gradient of the relaxed sample softmax(z / temperature) backward, z from :func:`conditional_gumbel_logits`
    (so the relaxation agrees with the sample instead of being drawn independently of it).

    logits: shape (n, t, V), -inf allowed; labels: shape (n, t); uniform: as for conditional_gumbel_logits.
    Returns shape (n, t, V), float32.
    """
    soft = torch.softmax(conditional_gumbel_logits(logits, labels, uniform) / temperature, dim=-1)
    hard = torch.zeros_like(soft).scatter_(-1, labels.clamp(min=0).unsqueeze(-1), 1.0)
    return hard + soft - soft.detach()
