"""The small dataclasses that travel between packages: a batch of documents, a batch of summaries. No project
imports, so every package can use them without a cycle."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Summaries:
    """G's output. ``summary_ids``/``summary_mask``: shape (n, t), no decoder start token; the mask covers the real
    tokens including the final end-of-sentence token, if any."""

    summary_ids: torch.Tensor
    summary_mask: torch.Tensor


@dataclass
class Documents:
    """A batch of tokenized documents. input_ids, attention_mask: shape (n, s), G's encoder input; ids end with
    end-of-sentence. target_ids, target_mask: shape (n, s'), the same documents as R's decoder targets (R's
    tokenizer, no beginning-of-sequence token); None when they are the input ids themselves."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    target_ids: torch.Tensor | None = None
    target_mask: torch.Tensor | None = None

    @property
    def targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        """What R rebuilds: (ids, mask)."""
        if self.target_ids is None:
            return self.input_ids, self.attention_mask
        return self.target_ids, self.target_mask

    def repeat(self, k: int) -> "Documents":
        """Each document k times in a row, to line up with k samples per document."""
        if k == 1:
            return self
        rows = lambda x: None if x is None else x.repeat_interleave(k, 0)
        return Documents(rows(self.input_ids), rows(self.attention_mask), rows(self.target_ids),
                         rows(self.target_mask))
