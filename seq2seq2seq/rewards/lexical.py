"""The rewards that need no model: the length prior, the headline vocabulary (the corpus's word counts) and the
contiguity of the summary's words in the document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from transformers import PreTrainedTokenizerBase

from seq2seq2seq.decoding.word_pieces import count_words
from seq2seq2seq.rewards.base import RewardBuildError, RewardContext, summary_texts
from seq2seq2seq.types import Documents, Summaries

if TYPE_CHECKING:
    from seq2seq2seq.config import RewardSpec
    from seq2seq2seq.data import HeadlineWordStats


class LengthReward:
    """Minus the number of words beyond ``target_words`` (a word = a piece that starts one, per ``word_start`` of
    :func:`seq2seq2seq.decoding.word_pieces.word_start_mask`, for any tokenizer family); with ``two_sided``, minus the
    distance to ``target_words`` either way.

    R's log-likelihood of the document grows with every word G adds, so the reconstruction reward alone makes G's
    summaries ever longer (measured on the cpu config: 9.3 to 15.8 words in 200 adversarial steps). This is the
    length prior that keeps them headline-sized. Shorter summaries are not penalised unless ``two_sided``: a
    prior on both sides holds the length where no other reward pushes it up (the Gumbel estimator's rewards cannot
    see length at all).
    """

    name = "length"

    def __init__(self, word_start: torch.Tensor, target_words: int, weight: float, two_sided: bool = False) -> None:
        self.word_start, self.target_words, self.weight, self.two_sided = word_start, target_words, weight, two_sided

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        words = count_words(self.word_start, summaries.summary_ids, summaries.summary_mask).float()
        excess = words - self.target_words
        return -excess.abs() if self.two_sided else -excess.clamp(min=0.0)


def headline_vocabulary(words: Sequence[str], stats: HeadlineWordStats) -> float:
    """Mean over the words of ``stats.score(w)``: log(P_sentences(w) / P_documents(w)), from the corpus's word counts
    of human sentences (headlines) and of documents. High for the words headlines keep (names, verbs, nouns), low
    for those they leave out (articles, 'said', weekdays). Pure; 0.0 for no words."""
    return sum(stats.score(w) for w in words) / len(words) if words else 0.0


def contiguity(summary_words: Sequence[str], document_words: Sequence[str]) -> float:
    """The fraction of the summary's adjacent word pairs that stand side by side, in that order, in the document:
    1.0 when the summary is made of the document's phrases, 0.0 when it strings scattered words together (and for
    fewer than two words). Pure."""
    pairs = list(zip(summary_words, summary_words[1:]))
    if not pairs:
        return 0.0
    document_pairs = set(zip(document_words, document_words[1:]))
    return sum(pair in document_pairs for pair in pairs) / len(pairs)


def _decoder(reward: str, tokenizer: PreTrainedTokenizerBase | None) -> PreTrainedTokenizerBase:
    if tokenizer is None:  # a reward built for the test-time choice scores texts only
        raise RewardBuildError(f"the {reward} reward was built without G's tokenizer, so it scores texts "
                               f"(score_candidates) but not G's token ids; give RewardContext(tokenizer=...)")
    return tokenizer


class HeadlineVocabularyReward:
    """:func:`headline_vocabulary` of each summary: does it keep the words headlines keep? The headline-deletion
    rule's own statistic, as a reward; no model, so nothing to train or load. ``tokenizer``: G's (None: texts
    only)."""

    name = "headline"

    def __init__(self, stats: HeadlineWordStats, tokenizer: PreTrainedTokenizerBase | None, weight: float) -> None:
        self.stats, self.tokenizer, self.weight = stats, tokenizer, weight

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        texts = summary_texts(_decoder(self.name, self.tokenizer), summaries)
        scores = [headline_vocabulary(text.split(), self.stats) for text in texts]
        return torch.tensor(scores, device=summaries.summary_ids.device)

    def score_candidates(self, documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        """Per document, :func:`headline_vocabulary` of each candidate."""
        return [[headline_vocabulary(text.split(), self.stats) for text in row] for row in candidates]


class ContiguityReward:
    """:func:`contiguity` of each summary in its document: does it copy phrases rather than scattered words?
    ``tokenizer``: G's (None: texts only)."""

    name = "contiguity"

    def __init__(self, tokenizer: PreTrainedTokenizerBase | None, weight: float) -> None:
        self.tokenizer, self.weight = tokenizer, weight

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        tokenizer = _decoder(self.name, self.tokenizer)
        texts = summary_texts(tokenizer, summaries)
        document_texts = tokenizer.batch_decode(documents.input_ids, skip_special_tokens=True)
        scores = [contiguity(text.split(), document.split()) for text, document in zip(texts, document_texts)]
        return torch.tensor(scores, device=summaries.summary_ids.device)

    def score_candidates(self, documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        """Per document, :func:`contiguity` of each of its candidates in it."""
        return [[contiguity(text.split(), document.split()) for text in row]
                for document, row in zip(documents, candidates)]


def build_length(spec: RewardSpec, context: RewardContext) -> LengthReward:
    """The length prior over G's word starts, at adversarial.target_words, one- or two-sided per length_prior."""
    word_starts = context.require(spec.name, "word_starts", "G's word-start pieces (G's tokenizer)")
    return LengthReward(word_starts, context.target_words, spec.weight, context.length_prior == "two_sided")


def build_headline(spec: RewardSpec, context: RewardContext) -> HeadlineVocabularyReward:
    """The headline vocabulary over the corpus's word counts (loaded now if the context has not yet)."""
    return HeadlineVocabularyReward(context.headline_stats(), context.tokenizer, spec.weight)


def build_contiguity(spec: RewardSpec, context: RewardContext) -> ContiguityReward:
    return ContiguityReward(context.tokenizer, spec.weight)
