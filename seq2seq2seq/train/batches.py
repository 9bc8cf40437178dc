"""What each stage reads: the corpus's batch streams, and texts turned into the tensors G and R read.

Every stream is indexed by the global batch index of :meth:`seq2seq2seq.train.engine.Engine.micro_batches`, so a
run split over processes, or resumed, sees the same batches.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

import torch
from transformers import PreTrainedTokenizerBase

from seq2seq2seq.config import TrainConfig
from seq2seq2seq.data import (
    BatchStream,
    Corpus,
    HeadlineWordStats,
    decoder_targets,
    pseudo_summary,
    tokenize_documents,
)
from seq2seq2seq.length_control import with_length_token
from seq2seq2seq.search_targets import SearchTargets, covered_documents
from seq2seq2seq.supervised import Pairs
from seq2seq2seq.types import Documents, Summaries

# (source documents, target ids (n, t), target mask (n, t)): a teacher-forced batch for G
TeacherBatch = tuple[Documents, torch.Tensor, torch.Tensor]


class Batches:
    """The run's batch streams over documents, human sentences and (semi-supervised) pairs, and the tokenizing of
    texts for G (its tokenizer) and R (its decoder targets, in R's tokenizer)."""

    def __init__(self, cfg: TrainConfig, corpus: Corpus, tokenizer: PreTrainedTokenizerBase,
                 r_tokenizer: PreTrainedTokenizerBase, device: torch.device, pairs: Pairs | None,
                 word_stats: HeadlineWordStats | None,
                 search_targets: SearchTargets | dict[int, SearchTargets] | None = None) -> None:
        self.cfg, self.corpus, self.tokenizer, self.r_tokenizer = cfg, corpus, tokenizer, r_tokenizer
        self.device, self.pairs, self.word_stats = device, pairs, word_stats
        # pretrain.task 'search': each document's stored target, by index (with length_words: a folder per length)
        self.search_targets = search_targets
        self.lengths = cfg.pretrain.length_words  # the lengths G may be asked for (empty: not length-conditioned)
        # a pre-training batch: pseudo-summaries of documents, and (semi-supervised) pairs_per_batch real pairs
        self.pairs_per_batch = 0
        if pairs is not None:
            share = round(cfg.supervised.pretrain_share * cfg.pretrain.batch_size)
            self.pairs_per_batch = min(share, len(pairs))
            self.pair_stream = BatchStream(len(pairs), max(self.pairs_per_batch, 1), cfg.seed + 5)
            self.adv_pair_stream = BatchStream(len(pairs), min(cfg.supervised.batch_size, len(pairs)), cfg.seed + 6)
        pseudo_per_batch = cfg.pretrain.batch_size - self.pairs_per_batch
        n_docs, n_sentences = len(corpus.documents), len(corpus.sentences)
        # pretrain.search_documents 'covered': pre-training reads only the documents the targets cover (by index)
        self.pretrain_pool = None
        if search_targets is not None and cfg.pretrain.search_documents == "covered":
            read = list(search_targets.values()) if isinstance(search_targets, dict) else [search_targets]
            self.pretrain_pool = covered_documents(read, n_docs, max(pseudo_per_batch, 1))
        n_pretrain = n_docs if self.pretrain_pool is None else len(self.pretrain_pool)
        self.doc_stream = BatchStream(n_pretrain, pseudo_per_batch, cfg.seed) if pseudo_per_batch > 0 else None
        self.adv_stream = BatchStream(n_docs, cfg.adversarial.batch_size, cfg.seed + 1)
        self.d_doc_stream = BatchStream(n_docs, cfg.pretrain_d.batch_size, cfg.seed + 2)
        self.sentence_stream = BatchStream(n_sentences, cfg.pretrain_d.batch_size, cfg.seed + 3)
        self.adv_sentence_stream = BatchStream(
            n_sentences, cfg.adversarial.batch_size * cfg.adversarial.num_samples, cfg.seed + 4)

    # ---- the streams, by batch index ------------------------------------------------------------------------------

    def texts(self, texts: Sequence[str], stream: BatchStream | None, index: int) -> list[str]:
        return [texts[i] for i in stream.indices(index)] if stream is not None else []

    def pretrain_indices(self, index: int) -> list[int]:
        if self.doc_stream is None:
            return []
        drawn = self.doc_stream.indices(index)
        return list(drawn) if self.pretrain_pool is None else [self.pretrain_pool[i] for i in drawn]

    def adversarial_indices(self, index: int) -> list[int]:
        return list(self.adv_stream.indices(index))

    def pretrain_pairs(self, index: int) -> list[tuple[str, str]]:
        return self.pairs_at(self.pair_stream, index) if self.pairs_per_batch else []

    def adversarial_pairs(self, index: int) -> list[tuple[str, str]]:
        return self.pairs_at(self.adv_pair_stream, index)

    def pairs_at(self, stream: BatchStream, index: int) -> list[tuple[str, str]]:
        """Batch ``index`` of the semi-supervised pairs, as (document, summary)."""
        return [(self.pairs.documents[i], self.pairs.summaries[i]) for i in stream.indices(index)]

    # ---- texts to tensors -----------------------------------------------------------------------------------------

    def requested_words(self, rng: random.Random, n: int) -> list[int] | None:
        """pretrain.length_words: the length each of ``n`` documents asks for, drawn from the batch's ``rng`` (None
        when G is not length-conditioned, and then nothing is drawn)."""
        return [rng.choice(self.lengths) for _ in range(n)] if self.lengths else None

    def documents(self, texts: list[str], words: list[int] | None = None) -> Documents:
        """G's encoder input and, where they differ from it, R's decoder targets (R's tokenizer, no <s>/[CLS]).
        ``words``: the length each document asks for; G's input then starts with its control token, R's targets
        stay the document alone."""
        g_texts = None if words is None else [with_length_token(t, n) for t, n in zip(texts, words)]
        return tokenize_documents(self.tokenizer, self.r_tokenizer, texts, self.cfg.model.max_document_tokens,
                                  self.device, g_texts)

    def summaries(self, texts: list[str]) -> Summaries:
        """Texts as G would have written them (G's pieces, end-of-sentence included), on the run's device: shape
        (n, t), e.g. to score them with the rewards."""
        ids, mask = decoder_targets(self.tokenizer, texts, self.cfg.decoding.max_summary_tokens)
        return Summaries(ids.to(self.device), mask.to(self.device))

    def teacher_batch(self, sources: list[str], targets: list[str], words: list[int] | None = None) -> TeacherBatch:
        src = self.documents(sources, words)
        summaries = self.summaries(targets)
        return src, summaries.summary_ids, summaries.summary_mask

    def pseudo_batch(self, texts: list[str], rng: random.Random, pairs: list[tuple[str, str]] = (),
                     indices: list[int] | None = None) -> TeacherBatch:
        """The pre-training task's (source, pseudo-summary) pairs for ``texts`` (the corpus's documents ``indices``),
        then the real ``pairs`` (document, summary) of the semi-supervised mode: the source batch and target
        ids/mask. Task 'search' reads each document's stored target by its index. A length-conditioned G
        (length_words) is asked for a length per document, drawn from ``rng``, and learns a target of that length."""
        words = self.requested_words(rng, len(texts))
        asked = words or [None] * len(texts)
        if self.cfg.pretrain.task == "search":
            made = [(text, self.search_target(i, n)) for text, i, n in zip(texts, indices, asked)]
        else:
            made = [pseudo_summary(t, self.cfg.pretrain, rng, self.word_stats, n) for t, n in zip(texts, asked)]
        sources, targets = zip(*(made + list(pairs)))
        return self.teacher_batch(list(sources), list(targets), words)

    def search_target(self, index: int, words: int | None) -> str:
        """Document ``index``'s search target: from the folder computed at ``words`` words (length_words), or the
        one folder."""
        targets = self.search_targets[words] if words is not None else self.search_targets
        return targets[index]

    def anchor_pool(self, texts: list[str], rng: random.Random) -> list[str]:
        """anchor_candidates = n: per document (in a block of n), the pre-training task's pseudo-summary, then n - 1
        samples of the 'headline' rule at anchor_temperature (``rng``: the anchor stream's, as the plain anchor)."""
        n = self.cfg.adversarial.anchor_candidates
        # first the pseudo-summaries exactly as the plain anchor draws them (pseudo_batch), then the variants
        plain = [pseudo_summary(t, self.cfg.pretrain, rng, self.word_stats)[1] for t in texts]
        varied = dataclasses.replace(self.cfg.pretrain, headline_temperature=self.cfg.adversarial.anchor_temperature)
        more = [[pseudo_summary(t, varied, rng, self.word_stats)[1] for _ in range(n - 1)] for t in texts]
        return [text for first, rest in zip(plain, more) for text in (first, *rest)]
