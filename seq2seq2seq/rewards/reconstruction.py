"""The reconstruction reward: how well R rebuilds the document from the summary alone (SEQ³'s compression idea)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from transformers import PreTrainedModel

from seq2seq2seq.data import token_idf
from seq2seq2seq.decoding.retokenize import Retokenizer
from seq2seq2seq.losses import sequence_mean_logprob, weighted_mean_logprob
from seq2seq2seq.models.build import seq2seq_logits
from seq2seq2seq.rewards.base import RewardContext
from seq2seq2seq.types import Documents, Summaries

if TYPE_CHECKING:
    from seq2seq2seq.config import RewardSpec


class ReconstructionReward:
    """R's length-normalised log-likelihood of the document given only the summary: mean log p(x_i | y, x_<i).

    With ``token_weights`` (shape (V,), e.g. :func:`seq2seq2seq.data.token_idf`) the mean over document tokens is
    weighted: sum_i w(x_i) log p(x_i | y, x_<i) / sum_i w(x_i).
    """

    name = "reconstruction"

    def __init__(self, reconstructor: PreTrainedModel, weight: float,
                 token_weights: torch.Tensor | None = None, retokenizer: Retokenizer | None = None) -> None:
        self.reconstructor, self.weight, self.token_weights = reconstructor, weight, token_weights
        self.retokenizer = retokenizer  # G's summaries in R's tokenizer (None: R reads G's ids)

    def inputs(self, summaries: Summaries) -> tuple[torch.Tensor, torch.Tensor]:
        """R's encoder input for G's summaries: (ids, mask), shape (n, t')."""
        if self.retokenizer is None:
            return summaries.summary_ids, summaries.summary_mask
        return self.retokenizer(summaries)

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        logits = seq2seq_logits(self.reconstructor, *self.inputs(summaries), *documents.targets)
        return self.from_logits(logits, documents)

    def from_logits(self, logits: torch.Tensor, documents: Documents) -> torch.Tensor:
        """The reward from R's teacher-forced logits of the documents (its targets), shape (n, s, V) -> (n,)."""
        ids, mask = documents.targets
        if self.token_weights is None:
            return sequence_mean_logprob(logits, ids, mask)
        return weighted_mean_logprob(logits, ids, self.token_weights.to(ids.device)[ids] * mask)


def build(spec: RewardSpec, context: RewardContext) -> ReconstructionReward:
    """R of the context, its tokens weighted by idf over the context's documents under reconstruction_tokens: idf."""
    reconstructor = context.require(spec.name, "reconstructor", "R (a training run's reconstructor)")
    idf = None
    if context.reconstruction_tokens == "idf":
        documents = context.require(spec.name, "documents", "the corpus's documents for its idf weights")
        tokenizer = context.r_tokenizer if context.r_tokenizer is not None else context.tokenizer
        if tokenizer is None:
            context.require(spec.name, "r_tokenizer", "R's tokenizer for its idf weights")
        idf = token_idf(tokenizer, documents, max_tokens=context.max_document_tokens)
    return ReconstructionReward(reconstructor, spec.weight, idf, context.to_r)
