"""G's objectives in the adversarial stage, as functions of tensors: advantages from rewards, the policy-gradient
loss with its entropy bonus, and the imitation (anchor) loss with unreachable targets left out. Shapes in each
docstring; the pure pieces they combine are in :mod:`seq2seq2seq.losses`."""

from __future__ import annotations

import torch

from seq2seq2seq.losses import (
    best_of_k_advantages,
    leave_one_out_advantages,
    masked_mean,
    reinforce_loss,
    self_critical_advantages,
    token_entropy,
    token_logprobs,
)


def advantages(policy_reward: torch.Tensor, k: int, baseline: str, greedy_reward: torch.Tensor | None = None,
               normalize: bool = False) -> torch.Tensor:
    """Per-sample advantages, shape (b*k,) from rewards of shape (b*k,) (k samples per document in a row).
    ``baseline``: "greedy" (self-critical: minus the reward of G's greedy summary, shape (b,)), "loo" (minus the mean
    of the other k - 1 samples) or "best" (imitate the best of k). ``normalize`` divides by their batch standard
    deviation."""
    rows = policy_reward.view(-1, k)
    if baseline == "greedy":
        if greedy_reward is None:
            raise ValueError("the greedy baseline needs the greedy summaries' reward")
        out = self_critical_advantages(rows, greedy_reward)
    elif baseline == "best":
        out = best_of_k_advantages(rows)
    else:
        out = leave_one_out_advantages(rows)
    out = out.flatten().float()
    return out / (out.std(unbiased=False) + 1e-6) if normalize else out


def policy_gradient_loss(logits: torch.Tensor, summary_ids: torch.Tensor, summary_mask: torch.Tensor,
                         advantages: torch.Tensor, reinforce_weight: float = 1.0,
                         entropy_weight: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """REINFORCE on sampled summaries minus an entropy bonus: (loss, mean token entropy). logits: shape (n, t, V),
    the policy's logits at the samples' positions (taken under the distribution they were sampled from);
    summary_ids, summary_mask: shape (n, t); advantages: shape (n,)."""
    logps = token_logprobs(logits, summary_ids)
    with torch.set_grad_enabled(entropy_weight > 0 and torch.is_grad_enabled()):  # only logged without a weight
        entropy = masked_mean(token_entropy(logits), summary_mask)
    loss = reinforce_weight * reinforce_loss(logps, summary_mask, advantages) - entropy_weight * entropy
    return loss, entropy


def imitation_loss(logits: torch.Tensor, target_ids: torch.Tensor,
                   target_mask: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Mean token cross-entropy of G on target summaries (pseudo-summaries, the search's choices, real pairs), and
    the number of target tokens left out. logits: shape (n, t, V); target_ids, target_mask: shape (n, t). A target
    token the decoding constraints forbid (log-prob -inf: a word cut by the length cap, an end before the minimum
    length) cannot be learned: it is left out rather than make the loss infinite."""
    logps = token_logprobs(logits, target_ids)
    reachable = (target_mask == 1) & torch.isfinite(logps.detach())
    loss = -masked_mean(logps.masked_fill(~reachable, 0.0), reachable)
    return loss, float((target_mask.sum() - reachable.sum()).item())
