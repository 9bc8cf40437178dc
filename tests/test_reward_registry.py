"""The one reward registry: names, the set looked up by name, the builders' errors, and combine() by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from seq2seq2seq.config import DEFAULT_REWARD_WEIGHTS, ConfigError, RewardSpec
from seq2seq2seq.rewards.base import RewardBuildError, RewardContext, RewardSet, combine, zscore_combination
from seq2seq2seq.rewards.lexical import ContiguityReward, HeadlineVocabularyReward, LengthReward
from seq2seq2seq.rewards.registry import REWARDS, build_rewards
from seq2seq2seq.types import Documents, Summaries


class Stub:
    """A reward of fixed scores that counts its calls."""

    def __init__(self, name: str, weight: float, values: list[float]) -> None:
        self.name, self.weight, self.values, self.calls = name, weight, values, 0

    def __call__(self, documents, summaries) -> torch.Tensor:
        self.calls += 1
        return torch.tensor(self.values)


def test_the_registry_holds_the_canonical_rewards_in_their_order() -> None:
    # the config's default list and its old keys name exactly the registry's rewards, in the same order
    assert list(REWARDS) == list(DEFAULT_REWARD_WEIGHTS)


def test_a_set_looks_rewards_up_by_name_and_keeps_their_order() -> None:
    a, b, c = Stub("length", 0.5, [1.0]), Stub("reconstruction", 1.0, [2.0]), Stub("contiguity", 0.0, [3.0])
    rewards = RewardSet([a, b, c])
    assert rewards["reconstruction"] is b and rewards.get("fluency") is None and rewards.get("length") is a
    assert "contiguity" in rewards and "fluency" not in rewards and len(rewards) == 3
    assert [r.name for r in rewards] == ["length", "reconstruction", "contiguity"]  # as given, not sorted
    assert rewards.weights == {"length": 0.5, "reconstruction": 1.0, "contiguity": 0.0}
    assert rewards.active() == [a, b] and rewards.active(exclude=["length"]) == [b]
    with pytest.raises(KeyError, match="no reward 'fluency'.*length, reconstruction, contiguity"):
        rewards["fluency"]
    with pytest.raises(ValueError, match="two rewards named 'length'"):
        rewards.add(Stub("length", 1.0, [0.0]))


def test_score_sums_in_order_skips_weight_zero_and_excluded_and_uses_known_parts() -> None:
    a, b = Stub("reconstruction", 1.0, [1.0, 2.0]), Stub("discriminator", 0.5, [4.0, -2.0])
    off = Stub("length", 0.0, [100.0, 100.0])
    rewards = RewardSet([a, b, off])
    known = {"reconstruction": torch.tensor([10.0, 20.0])}
    total, parts = rewards.score(None, None, known)
    # 1 * [10, 20] (known, not called) + 0.5 * [4, -2] = [12, 19]; length has weight 0: neither called nor reported
    assert total.tolist() == [12.0, 19.0] and list(parts) == ["reconstruction", "discriminator"]
    assert (a.calls, b.calls, off.calls) == (0, 1, 0)
    total, parts = rewards.score(None, None, exclude=("reconstruction",))
    assert total.tolist() == [2.0, -1.0] and list(parts) == ["discriminator"] and a.calls == 0
    ids = torch.tensor([[5, 1], [6, 1], [7, 1]])
    summaries = Summaries(ids, torch.ones_like(ids))
    total, parts = rewards.score(None, summaries, exclude=("reconstruction", "discriminator"))
    assert total.tolist() == [0.0, 0.0, 0.0] and parts == {}  # nothing counts: a zero per summary


def test_weighted_combine_by_hand() -> None:
    parts = {"reconstruction": torch.tensor([-2.0, -1.0]), "length": torch.tensor([0.0, -3.0]),
             "headline": torch.tensor([0.5, 0.25])}
    # 1.0 * [-2, -1] + 0.5 * [0.5, 0.25] = [-1.75, -0.875]; length at weight 0 is left out, negative weights too
    total = combine(parts, {"reconstruction": 1.0, "length": 0.0, "headline": 0.5, "contiguity": -1.0})
    assert total.tolist() == [-1.75, -0.875]
    assert combine(parts, {"length": 0.0}, default=torch.zeros(2)).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="default="):
        combine(parts, {"length": 0.0})
    with pytest.raises(ValueError, match="how must be"):
        combine(parts, {"length": 1.0}, how="mean")


def test_zscore_combine_by_hand() -> None:
    # document 0: similarity 1, 2, 3 (mean 2, population sd sqrt(2/3)) and contiguity 0, 0, 1 (mean 1/3, sd sqrt(2)/3)
    # document 1: an empty candidate (similarity -inf) is out: similarity 0.5, 0.7 -> z -1, +1; contiguity 1, 1 is
    # constant among the two that compete, so it adds 0; and it has a third candidate more than the first document
    s, c = (2 / 3) ** 0.5, 2 ** 0.5 / 3
    parts = {"similarity": [[1.0, 2.0, 3.0], [0.5, float("-inf"), 0.7]],
             "contiguity": [[0.0, 0.0, 1.0], [1.0, 0.0, 1.0]]}
    out = combine(parts, {"similarity": 1.0, "contiguity": 0.5}, how="zscore")
    want0 = [-1 / s + 0.5 * (-1 / 3) / c, 0.5 * (-1 / 3) / c, 1 / s + 0.5 * (2 / 3) / c]
    assert out[0] == pytest.approx(want0) and out[1] == pytest.approx([-1.0, float("-inf"), 1.0])
    # the same numbers from a (b, k) tensor, and exactly those of zscore_combination row by row
    rows = combine({name: torch.tensor(v, dtype=torch.float64) for name, v in parts.items()},
                   {"similarity": 1.0, "contiguity": 0.5}, how="zscore")
    assert rows == out == [zscore_combination([parts["similarity"][i], parts["contiguity"][i]], [1.0, 0.5])
                           for i in range(2)]
    assert math.isinf(out[1][1])
    with pytest.raises(ValueError, match="different numbers of documents"):
        combine({"a": [[1.0]], "b": [[1.0], [2.0]]}, {"a": 1.0, "b": 1.0}, how="zscore")
    with pytest.raises(ValueError, match="nothing to combine"):
        combine(parts, {}, how="zscore")


def test_build_rewards_keeps_the_specs_order_and_weights(tiny_corpus: Path) -> None:
    from seq2seq2seq.data import load_headline_word_stats

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_corpus / "tokenizer"))
    context = RewardContext(tokenizer=tokenizer, word_starts=torch.zeros(len(tokenizer), dtype=torch.bool),
                            load_headline_stats=lambda: load_headline_word_stats(tiny_corpus), target_words=7,
                            length_prior="two_sided")
    rewards = build_rewards([RewardSpec("contiguity", 0.5), RewardSpec("length", 2.0), RewardSpec("headline", 0.0)],
                            context)
    assert [r.name for r in rewards] == ["contiguity", "length", "headline"]
    assert rewards.weights == {"contiguity": 0.5, "length": 2.0, "headline": 0.0}
    assert isinstance(rewards["contiguity"], ContiguityReward) and isinstance(rewards["headline"],
                                                                              HeadlineVocabularyReward)
    length = rewards["length"]
    assert isinstance(length, LengthReward) and length.target_words == 7 and length.two_sided
    assert build_rewards([], context).weights == {}


def test_a_reward_whose_needs_are_missing_is_refused_naming_it(tmp_path: Path) -> None:
    text_only = RewardContext()  # the test-time choice: no G tokenizer, no R, no D, no corpus
    for name, words in (("reconstruction", "R"), ("discriminator", "D"), ("length", "word-start"),
                        ("headline", "word counts")):
        with pytest.raises(RewardBuildError, match=f"the {name} reward needs .*{words}"):
            build_rewards([RewardSpec(name, 1.0)], text_only)
    with pytest.raises(RewardBuildError, match="fluency reward needs a language model folder"):
        build_rewards([RewardSpec("fluency", 0.0)], text_only)
    # the texts-only rewards build, and say what they lack when asked to score G's ids
    contiguity = build_rewards([RewardSpec("contiguity", 1.0)], text_only)["contiguity"]
    assert contiguity.score_candidates(["a b c"], [["a b", "c a"]]) == [[1.0, 0.0]]
    ids = torch.tensor([[5, 1]])
    with pytest.raises(RewardBuildError, match="without G's tokenizer"):
        contiguity(Documents(ids, torch.ones_like(ids)), Summaries(ids, torch.ones_like(ids)))


def test_an_unknown_reward_lists_the_registered_ones() -> None:
    with pytest.raises(ConfigError, match="unknown reward 'similarty'; did you mean 'similarity'.*reconstruction, "
                                          "discriminator, length, similarity, fluency, headline, contiguity"):
        RewardSpec("similarty", 1.0)

    class Spec:  # a spec that skipped the config's validation still meets the registry's
        name, weight, model = "nosuch", 1.0, ""

    with pytest.raises(RewardBuildError, match="unknown reward 'nosuch'; the registered rewards are reconstruction"):
        build_rewards([Spec()], RewardContext())


def test_the_config_and_the_registry_name_the_same_rewards_in_the_same_order() -> None:
    # the config checks names against DEFAULT_REWARD_WEIGHTS without importing the rewards (no import circle); the
    # registry must build exactly those
    from seq2seq2seq.config import DEFAULT_REWARD_WEIGHTS
    from seq2seq2seq.rewards.registry import REWARDS

    assert list(REWARDS) == list(DEFAULT_REWARD_WEIGHTS)
