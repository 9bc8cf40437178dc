"""What every reward shares: the :class:`Reward` protocol, the :class:`RewardSet` a run or a choice holds (rewards
by name, in order), the :class:`RewardContext` the builders of :mod:`seq2seq2seq.rewards.registry` draw on, and
:func:`combine`, the one way rewards' scores add up: a weighted sum in training, z-scores at test time.

A reward maps a batch of (document, summary) pairs to one number per summary and carries its own weight (the
SEQ³/Summary Loop idea of several scorers behind one interface); each is logged as ``rewards/<name>/mean``. A reward
that can also rank texts (the test-time choice among candidate summaries) has ``score_candidates``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import torch

from seq2seq2seq.types import Documents, Summaries

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from seq2seq2seq.data import HeadlineWordStats
    from seq2seq2seq.decoding.retokenize import Retokenizer


class Reward(Protocol):
    """A named, weighted score of G's summaries: ``reward(documents, summaries)`` -> shape (n,), higher is better."""

    name: str
    weight: float

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor: ...


class CandidateReward(Reward, Protocol):
    """A reward that also scores plain texts, so the test-time choice can rank candidate summaries with it."""

    def score_candidates(self, documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        """Per document i, one score per text of ``candidates[i]``."""
        ...


class RewardBuildError(ValueError):
    """A reward cannot be built from what its caller has (e.g. reconstruction without R at test time)."""


class RewardSet:
    """The rewards of a run or a choice, looked up by name (``rewards["reconstruction"]``, ``"fluency" in rewards``,
    ``rewards.get("similarity")``) and iterated in order, the order in which their weighted scores are summed."""

    def __init__(self, rewards: Iterable[Reward] = ()) -> None:
        self._rewards: dict[str, Reward] = {}
        for reward in rewards:
            self.add(reward)

    def add(self, reward: Reward) -> None:
        """Append ``reward``; its name must be new to the set."""
        if reward.name in self._rewards:
            raise ValueError(f"two rewards named {reward.name!r}: a set holds each reward once")
        self._rewards[reward.name] = reward

    def __getitem__(self, name: str) -> Reward:
        if name not in self._rewards:
            raise KeyError(f"no reward {name!r} here (this set holds {', '.join(self._rewards) or 'none'}); give it "
                           f"a weight > 0 in adversarial.rewards, e.g. {{name: {name}, weight: 1.0}}")
        return self._rewards[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self._rewards.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._rewards

    def __iter__(self) -> Iterator[Reward]:
        return iter(self._rewards.values())

    def __len__(self) -> int:
        return len(self._rewards)

    def __repr__(self) -> str:
        return f"RewardSet({', '.join(f'{r.name}={r.weight:g}' for r in self)})"

    @property
    def weights(self) -> dict[str, float]:
        """Each reward's weight by name, in order."""
        return {reward.name: reward.weight for reward in self}

    def active(self, exclude: Iterable[str] = ()) -> list[Reward]:
        """The rewards that count (weight > 0), less those named in ``exclude``."""
        left_out = set(exclude)
        return [reward for reward in self if reward.weight > 0 and reward.name not in left_out]

    def score(self, documents: Documents, summaries: Summaries, known: Mapping[str, torch.Tensor] | None = None,
              exclude: Iterable[str] = ()) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The weighted total, shape (n,), and each counted reward's unweighted score by name. Rewards of weight 0
        and those named in ``exclude`` are neither called nor reported; ``known`` holds scores computed elsewhere
        (R's, from the forward that collect runs for it), used instead of calling their rewards. No reward at all (the anchor-only
        ablation) gives a zero per summary."""
        known = known or {}
        active = self.active(exclude)
        parts = {r.name: known[r.name] if r.name in known else r(documents, summaries) for r in active}
        ids = summaries.summary_ids if not active else None  # summaries may be None when every reward is known
        zeros = torch.zeros(ids.shape[0], device=ids.device) if ids is not None else None
        return combine(parts, {r.name: r.weight for r in active}, "weighted", default=zeros), parts


def zscore_combination(columns: list[list[float]], weights: list[float]) -> list[float]:
    """One document's candidate scores: sum over columns c of weights[c] * z(columns[c]), each column standardised
    over the candidates whose scores are all finite (population standard deviation; a constant column contributes
    0). The others (an empty candidate, one kept out of the choice, one the LM finds impossible) score -inf. Pure;
    columns of equal length (one score per candidate) in, one list out."""
    if len(columns) != len(weights):
        raise ValueError(f"{len(columns)} score columns but {len(weights)} weights")
    if any(len(column) != len(columns[0]) for column in columns):
        raise ValueError(f"score columns of different lengths: {[len(column) for column in columns]}")
    valid = [all(math.isfinite(v) for v in scores) for scores in zip(*columns)]

    def z(values: list[float]) -> list[float]:
        kept = [v for v, ok in zip(values, valid) if ok]
        mean = sum(kept) / len(kept) if kept else 0.0
        sd = math.sqrt(sum((v - mean) ** 2 for v in kept) / len(kept)) if kept else 0.0
        return [(v - mean) / sd if ok and sd > 0 else 0.0 for v, ok in zip(values, valid)]

    standardised = [z(column) for column in columns]
    return [sum(w * column[j] for w, column in zip(weights, standardised)) if ok else float("-inf")
            for j, ok in enumerate(valid)]


def _rows(scores: torch.Tensor | Sequence[Sequence[float]]) -> list[list[float]]:
    return scores.tolist() if isinstance(scores, torch.Tensor) else [list(row) for row in scores]


def combine(parts: Mapping[str, Any], weights: Mapping[str, float], how: Literal["weighted", "zscore"] = "weighted",
            *, default: torch.Tensor | None = None) -> Any:
    """The rewards' scores combined, the same way wherever rewards rank summaries.

    ``how="weighted"`` (training: the policy's reward, the anchor's choice): ``parts`` are shape (n,) tensors by
    name; returns sum of weights[name] * parts[name] over the weights > 0, in ``weights``' order, shape (n,). With
    no weight > 0 the total is ``default`` (give it then: a zero per summary).

    ``how="zscore"`` (the test-time choice): ``parts`` hold, per document, one score per candidate (a (b, k) tensor
    or rows of floats, rows may differ in length between documents); returns per document
    :func:`zscore_combination` of the named rows with their weights (every weight given counts, a negative one
    too): a list of rows of floats, so that the scale of no score decides its weight.
    """
    if how == "weighted":
        terms = [weight * parts[name] for name, weight in weights.items() if weight > 0]
        if terms:
            return sum(terms)
        if default is None:
            raise ValueError("no weight is > 0: pass default= (e.g. a zero per summary) for the total to be")
        return default
    if how == "zscore":
        if not weights:
            raise ValueError("nothing to combine: give at least one named score and its weight")
        rows = {name: _rows(parts[name]) for name in weights}
        documents = {len(r) for r in rows.values()}
        if len(documents) != 1:
            raise ValueError(f"the scores cover different numbers of documents: "
                             f"{ {name: len(r) for name, r in rows.items()} }")
        return [zscore_combination([rows[name][i] for name in weights], list(weights.values()))
                for i in range(documents.pop())]
    raise ValueError(f"how must be 'weighted' or 'zscore', got {how!r}")


def summary_texts(tokenizer: PreTrainedTokenizerBase, summaries: Summaries) -> list[str]:
    """G's summaries as text (padding and specials dropped), one string per row."""
    ids = summaries.summary_ids.masked_fill(summaries.summary_mask == 0, tokenizer.pad_token_id)
    return tokenizer.batch_decode(ids, skip_special_tokens=True)


def distinct_texts(candidates: list[list[str]]) -> dict[str, int]:
    """Each distinct text of the candidates (an empty one as ".") and its position: equal texts are scored once and
    so tie exactly (a batch of other lengths can move a score in its last bits)."""
    position = {text or ".": 0 for row in candidates for text in row}
    for j, text in enumerate(position):
        position[text] = j
    return position


# where a training run's user names what each reward loads (the keys before adversarial.rewards still work)
TRAINING_SETTINGS = {"similarity": "adversarial.similarity_model", "fluency": "adversarial.fluency_model",
                     "headline": "data_dir (the corpus's word counts)"}


@dataclass
class RewardContext:
    """What the reward builders may draw on. Training gives all of it; the test-time choice only texts' needs (no
    G tokenizer, no R or D), and a builder that lacks what its reward needs raises :class:`RewardBuildError`
    naming the reward (:meth:`require`)."""

    tokenizer: PreTrainedTokenizerBase | None = None  # G's: decodes G's summaries (None: the rewards score texts)
    device: torch.device | str = "cpu"  # where the rewards that load a model put it
    reconstructor: PreTrainedModel | None = None  # R, for the reconstruction reward
    to_r: Retokenizer | None = None  # G's summaries in R's tokenizer (None: R reads G's ids)
    r_tokenizer: PreTrainedTokenizerBase | None = None  # R's, for the idf weights (None: G's)
    discriminator: PreTrainedModel | None = None  # D, for the discriminator reward
    to_d: Retokenizer | None = None  # G's summaries in D's tokenizer (None: D reads G's ids)
    word_starts: torch.Tensor | None = None  # (V,) bool over G's vocabulary, for the length prior
    load_headline_stats: Callable[[], HeadlineWordStats] | None = None  # called once, when a reward needs them
    documents: Sequence[str] | None = None  # the corpus's documents, for idf-weighted reconstruction
    max_document_tokens: int = 128  # R's document length, for the idf weights
    # the reward options of adversarial.*
    target_words: int = 9
    length_prior: str = "longer"
    discriminator_reward: str = "logprob"
    reconstruction_tokens: str = "all"
    # where the caller's user names a reward's model or data (a config key, a command-line flag), for the errors
    settings: Mapping[str, str] = field(default_factory=lambda: dict(TRAINING_SETTINGS))
    _headline_stats: HeadlineWordStats | None = field(default=None, init=False, repr=False)

    def require(self, reward: str, name: str, what: str) -> Any:
        """This context's ``name``, which the ``reward`` builder needs; a RewardBuildError naming both if absent."""
        value = getattr(self, name)
        if value is None:
            where = f" (set {self.settings[reward]})" if reward in self.settings else ""
            raise RewardBuildError(f"the {reward} reward needs {what}, and none was given{where}")
        return value

    def headline_stats(self) -> HeadlineWordStats:
        """The corpus's headline word statistics, loaded on first use."""
        if self._headline_stats is None:
            load = self.require("headline", "load_headline_stats", "the training corpus's word counts")
            self._headline_stats = load()
        return self._headline_stats
