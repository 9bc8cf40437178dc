"""The reward set: rewards looked up by name, scored together as one weighted sum."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

from seq2seq2seq.types import Documents, Summaries


class RewardSet:
    """Rewards in a fixed order, looked up by name; ``score`` is their weighted sum."""

    def __init__(self, rewards: Iterable) -> None:
        self.rewards = list(rewards)

    def __iter__(self) -> Iterator:
        return iter(self.rewards)

    def __contains__(self, name: str) -> bool:
        return any(r.name == name for r in self.rewards)

    def __getitem__(self, name: str):
        for r in self.rewards:
            if r.name == name:
                return r
        raise KeyError(name)

    def get(self, name: str, default=None):
        return self[name] if name in self else default

    def score(self, documents: Documents, summaries: Summaries, known: dict[str, torch.Tensor] | None = None,
              exclude: Iterable[str] = ()) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total weighted reward, shape (n,), and each active reward's unweighted value by name; ``known`` holds
        rewards already computed elsewhere, ``exclude`` names rewards left out."""
        known, exclude = known or {}, set(exclude)
        active = [r for r in self.rewards if r.weight > 0 and r.name not in exclude]
        parts = {r.name: known[r.name] if r.name in known else r(documents, summaries) for r in active}
        weighted = [r.weight * parts[r.name] for r in active]
        if not weighted:  # the anchor-only ablation: no reward at all, a zero for each summary
            return torch.zeros(summaries.summary_ids.shape[0], device=summaries.summary_ids.device), parts
        return sum(weighted), parts
