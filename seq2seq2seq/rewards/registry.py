"""The one registry of rewards: their names, each with the builder that makes it from a
:class:`~seq2seq2seq.config.RewardSpec` and a :class:`~seq2seq2seq.rewards.base.RewardContext`. Training, the
test-time choice and the diagnostics all build their rewards here, so a reward means the same everywhere.

Adding a reward: a module with its class (``name``, ``weight``, ``__call__(documents, summaries)`` -> (n,), and
``score_candidates`` if the test-time choice may rank with it) and a ``build(spec, context)``, plus one entry below
and its name with its default weight (0 = off unless listed) in ``config.DEFAULT_REWARD_WEIGHTS``, the one list of
names that configs are checked against; ``adversarial.rewards`` then accepts it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from seq2seq2seq.rewards import discriminator, lexical, lm, reconstruction, similarity
from seq2seq2seq.rewards.base import Reward, RewardBuildError, RewardContext, RewardSet

if TYPE_CHECKING:
    from seq2seq2seq.config import AdversarialConfig, RewardSpec

Builder = Callable[["RewardSpec", RewardContext], Reward]

REWARDS: dict[str, Builder] = {
    "reconstruction": reconstruction.build,
    "discriminator": discriminator.build,
    "length": lexical.build_length,
    "similarity": similarity.build,
    "fluency": lm.build,
    "headline": lexical.build_headline,
    "contiguity": lexical.build_contiguity,
}


def build_rewards(specs: Iterable[RewardSpec], context: RewardContext) -> RewardSet:
    """One reward per spec, in the specs' order (the order their weighted scores are summed in). A weight-0 spec is
    built too (its reward is then skipped when scoring): leave it out to save loading its model."""
    rewards = []
    for spec in specs:
        if spec.name not in REWARDS:
            raise RewardBuildError(f"unknown reward {spec.name!r}; the registered rewards are "
                                   f"{', '.join(REWARDS)} (seq2seq2seq/rewards/registry.py)")
        rewards.append(REWARDS[spec.name](spec, context))
    return RewardSet(rewards)


def reward_options(adversarial: AdversarialConfig) -> dict[str, object]:
    """The options of ``adversarial`` that shape its rewards, as :class:`RewardContext` keyword arguments."""
    return {"target_words": adversarial.target_words, "length_prior": adversarial.length_prior,
            "discriminator_reward": adversarial.discriminator_reward,
            "reconstruction_tokens": adversarial.reconstruction_tokens}
