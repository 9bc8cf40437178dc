"""G's summaries as another model's input when that model has its own tokenizer.

G, R and D may each come from a pretrained checkpoint with its own tokenizer. When R's or D's tokenizer is G's, G's
summary ids feed it directly (no change from a run with one shared tokenizer). Otherwise the summary travels as
text: decoded with G's tokenizer, encoded with the other's, as that model would read any sentence. Both the
rewards and the updates of R and D go through the same :class:`Retokenizer`, so what a model learns on is what it
scores.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedTokenizerBase

from seq2seq2seq.checkpoint import tokenizer_fingerprint
from seq2seq2seq.data import end_of_sentence_id, tokenize
from seq2seq2seq.types import Summaries


def same_tokenizer(a: PreTrainedTokenizerBase, b: PreTrainedTokenizerBase) -> bool:
    """True when the two map text to the same ids (the same object, or the same vocabulary and special tokens)."""
    return a is b or tokenizer_fingerprint(a) == tokenizer_fingerprint(b)


class Retokenizer:
    """Summaries in the ``source`` tokenizer (G's) as encoder inputs in the ``target`` tokenizer (R's or D's)."""

    def __init__(self, source: PreTrainedTokenizerBase, target: PreTrainedTokenizerBase, max_tokens: int) -> None:
        self.source, self.target, self.max_tokens = source, target, max_tokens
        self.identity = same_tokenizer(source, target)
        # G's summaries hold no <s>/[CLS] (decoder targets never do), but the target tokenizer puts one before any
        # sentence it encodes, human ones included: the ids pass through with that prefix, or else D could tell
        # human from G by the first token alone
        self.prefix: list[int] = []
        self._lead: torch.Tensor | None = None  # the prefix as a (1, p) tensor on the summaries' device, made once
        if self.identity:
            framed = list(target("", add_special_tokens=True)["input_ids"])  # an empty sentence's frame
            if framed and framed[-1] == end_of_sentence_id(target):
                self.prefix = framed[:-1]
            else:  # a tokenizer that frames sentences otherwise: re-encode the text, as for a foreign tokenizer
                self.identity = False

    def texts(self, summaries: Summaries) -> list[str]:
        """The summaries as text (special tokens and everything after end-of-sentence dropped)."""
        ids = summaries.summary_ids.masked_fill(summaries.summary_mask == 0, self.source.pad_token_id)
        return [" ".join(t.split()) for t in self.source.batch_decode(ids.tolist(), skip_special_tokens=True)]

    def __call__(self, summaries: Summaries) -> tuple[torch.Tensor, torch.Tensor]:
        """Input ids and mask for the target model, shape (n, t'), on the summaries' device.

        Same tokenizer: the summary ids themselves, padding after end-of-sentence, behind the tokenizer's own
        leading special tokens (none for the project's sentencepiece tokenizer; BART's <s>, BERT's [CLS]): exactly
        what encoding the summary's text would give. Otherwise the re-encoded text, with the target tokenizer's own
        special tokens (BERT's [CLS] ... [SEP], BART's <s> ... </s>).
        """
        ids, mask = summaries.summary_ids, summaries.summary_mask
        if self.identity:
            ids = ids.masked_fill(mask == 0, self.target.pad_token_id)
            if self.prefix:
                if self._lead is None or self._lead.device != ids.device:
                    self._lead = torch.tensor([self.prefix], dtype=ids.dtype, device=ids.device)
                lead = self._lead.expand(ids.shape[0], -1)
                ids = torch.cat([lead, ids], dim=1)[:, :self.max_tokens]
                mask = torch.cat([torch.ones_like(lead), mask], dim=1)[:, :self.max_tokens]
            return ids, mask
        new_ids, new_mask = tokenize(self.target, self.texts(summaries), self.max_tokens)
        return new_ids.to(ids.device), new_mask.to(ids.device)

    def soft(self, summaries: Summaries, soft: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Soft one-hot summary rows (n, t, V) as the target model's input: (n, t', V) rows and mask (n, t').

        The rows :meth:`__call__` gives as ids, as one-hot rows: padding after end-of-sentence, the tokenizer's
        leading special tokens, the cut at ``max_tokens``. Only for a target that reads G's ids (``identity``):
        re-tokenized text has no gradient.
        """
        if not self.identity:
            raise ValueError("soft tokens need a model that reads G's token ids; this one has its own tokenizer")
        mask = summaries.summary_mask
        pad = torch.zeros_like(soft[0, 0])
        pad[self.target.pad_token_id] = 1.0
        soft = torch.where(mask[..., None] == 1, soft, pad)
        if self.prefix:
            lead = torch.zeros(len(self.prefix), soft.shape[-1], dtype=soft.dtype, device=soft.device)
            lead[torch.arange(len(self.prefix)), torch.tensor(self.prefix)] = 1.0
            soft = torch.cat([lead.expand(soft.shape[0], -1, -1), soft], dim=1)[:, :self.max_tokens]
            mask = torch.cat([torch.ones_like(mask[:, :len(self.prefix)]), mask], dim=1)[:, :self.max_tokens]
        return soft, mask
