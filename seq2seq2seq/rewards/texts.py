"""The rewards that score G's token ids (R's reconstruction, D's P(human)) as rankers of plain texts, so that a choice
among candidate summaries (the search targets, ``data_prep.search_targets``) can weigh R and D beside the rewards that
read texts.

Each text is tokenized with the judge's own tokenizer, as training hands it G's summaries once re-tokenized
(:func:`seq2seq2seq.data.decoder_targets`: no beginning-of-sequence token, end-of-sentence last; the judge's
:class:`~seq2seq2seq.decoding.retokenize.Retokenizer` then adds its leading special tokens), and the reward itself,
built by the registry, does the scoring: no second copy of R's or D's score.

    context = RewardContext(reconstructor=r, to_r=Retokenizer(r_tok, r_tok, 16), ...)
    reward = TextScores(build_rewards([RewardSpec("reconstruction", 1.0)], context)["reconstruction"], r_tok, ...)
    reward.score_candidates(documents, [["first candidate", "second"], ...])      # per document, per candidate
"""

from __future__ import annotations

import torch
from transformers import PreTrainedTokenizerBase

from seq2seq2seq.data import decoder_targets, tokenize_documents
from seq2seq2seq.rewards.base import Reward
from seq2seq2seq.types import Documents, Summaries


class TextScores:
    """``reward`` (scoring (Documents, Summaries) in ``tokenizer``'s ids) with ``score_candidates`` over texts; its
    name and weight are the reward's. Empty texts score -inf, as the similarity reward scores them."""

    def __init__(self, reward: Reward, tokenizer: PreTrainedTokenizerBase, *, max_summary_tokens: int,
                 max_document_tokens: int, device: torch.device | str = "cpu", batch_size: int = 64) -> None:
        self.reward, self.tokenizer, self.device, self.batch_size = reward, tokenizer, device, batch_size
        self.max_summary_tokens, self.max_document_tokens = max_summary_tokens, max_document_tokens

    name = property(lambda self: self.reward.name)
    weight = property(lambda self: self.reward.weight, lambda self, weight: setattr(self.reward, "weight", weight))

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        return self.reward(documents, summaries)

    @torch.no_grad()
    def score_pairs(self, documents: list[str], texts: list[str]) -> list[float]:
        """The reward of each (document, text) pair, ``batch_size`` pairs at a time (empty texts: -inf)."""
        scores = [float("-inf")] * len(texts)
        kept = [i for i, text in enumerate(texts) if text.strip()]
        for start in range(0, len(kept), self.batch_size):
            rows = kept[start:start + self.batch_size]
            batch = tokenize_documents(self.tokenizer, self.tokenizer, [documents[i] for i in rows],
                                       self.max_document_tokens, self.device)
            ids, mask = decoder_targets(self.tokenizer, [texts[i] for i in rows], self.max_summary_tokens)
            values = self.reward(batch, Summaries(ids.to(self.device), mask.to(self.device)))
            for i, value in zip(rows, values.float().tolist()):
                scores[i] = value
        return scores

    def score_candidates(self, documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        """Per document i, the reward of each text of ``candidates[i]`` as a summary of ``documents[i]``."""
        flat = self.score_pairs([d for d, row in zip(documents, candidates) for _ in row],
                                [text for row in candidates for text in row])
        out, start = [], 0
        for row in candidates:
            out.append(flat[start:start + len(row)])
            start += len(row)
        return out
