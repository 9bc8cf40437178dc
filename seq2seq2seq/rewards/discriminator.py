"""The discriminator reward: how human-written D finds the summary (the adversarial half of the game)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from transformers import PreTrainedModel

from seq2seq2seq.decoding.retokenize import Retokenizer
from seq2seq2seq.models.build import discriminator_logits
from seq2seq2seq.rewards.base import RewardContext
from seq2seq2seq.types import Documents, Summaries

if TYPE_CHECKING:
    from seq2seq2seq.config import RewardSpec


class DiscriminatorReward:
    """How human-written D finds the summary: P(human) or log P(human)."""

    name = "discriminator"

    def __init__(self, discriminator: PreTrainedModel, weight: float, kind: str = "logprob",
                 retokenizer: Retokenizer | None = None) -> None:
        self.discriminator, self.weight, self.kind = discriminator, weight, kind
        self.retokenizer = retokenizer  # G's summaries in D's tokenizer (None: D reads G's ids)

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        ids, mask = ((summaries.summary_ids, summaries.summary_mask) if self.retokenizer is None
                     else self.retokenizer(summaries))
        return self.from_logits(discriminator_logits(self.discriminator, ids, mask).float())

    def from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """The reward from D's logits, shape (n,) -> (n,)."""
        return torch.nn.functional.logsigmoid(logits) if self.kind == "logprob" else torch.sigmoid(logits)


def build(spec: RewardSpec, context: RewardContext) -> DiscriminatorReward:
    """D of the context, scoring as adversarial.discriminator_reward says."""
    discriminator = context.require(spec.name, "discriminator", "D (a training run's discriminator)")
    return DiscriminatorReward(discriminator, spec.weight, context.discriminator_reward, context.to_d)
