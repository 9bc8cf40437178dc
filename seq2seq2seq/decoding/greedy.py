"""Greedy decoding of a pointer G that may only write its document's pieces, computed over the document.

With ``decoding.source_only`` the only pieces G may write are the document's own (end-of-sentence among them: every
document ends with it), so the greedy choice at each step is an argmax over the document's s positions, not over the
V-piece vocabulary. ``model.generate`` still builds the (b, V) log-probabilities at every step, masks them and takes
the argmax over V: a dozen passes over 64 x 16,003 values a step, most of a step's time on a CPU. This loop takes the
same decisions from the (b, s) log-probabilities of :func:`pointer_mixture_at_source` (the vocabulary enters through
its normaliser only) and the source restriction read at the document's positions. The constraints are those of
:func:`seq2seq2seq.decoding.sampling.constrain_logits` and ``SourceConstraint.masks``, applied where the document's
pieces are; the tests check that the summaries equal ``generate``'s for every decoding setting.
"""

from __future__ import annotations

import torch
from transformers.cache_utils import DynamicCache, EncoderDecoderCache

from seq2seq2seq.config import DecodingConfig
from seq2seq2seq.models.pointer import pointer_mixture_at_source


def greedy_at_source_applies(model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                             constraint) -> bool:
    """Whether :func:`greedy_at_source` decodes this batch as ``generate`` would: a pointer G (it has
    ``pointer_heads``), a source restriction, and end-of-sentence among every document's pieces (a tokenizer that
    adds none, or a document cut before it, leaves end-of-sentence outside the document: ``generate`` then)."""
    if constraint is None or not hasattr(model, "pointer_heads"):
        return False
    ends = (input_ids == model.config.eos_token_id) & (attention_mask != 0)
    return bool(ends.any(1).all())


def constrain_at_source(log_probs: torch.Tensor, step: int, cfg: DecodingConfig, allowed: torch.Tensor,
                        is_eos: torch.Tensor, never: torch.Tensor) -> torch.Tensor:
    """``constrain_logits`` for one step, at the document's positions.

    log_probs: (b, s), G's log-probability of the piece at each position; allowed: bool (b, s), the source
    restriction at each position's piece; is_eos: bool (b, s), the positions holding end-of-sentence; never: bool
    (b, s), padding and the pieces G never writes (``_blocked_ids``). ``step``: the summary position (0 = first).
    Returns (b, s) scores, forbidden positions at -inf."""
    scores = log_probs.masked_fill(~allowed | never, float("-inf"))
    if cfg.eos_damping > 0 and cfg.eos_damping_tokens > 0 and step < cfg.eos_damping_tokens:
        scores = torch.where(is_eos, scores - cfg.eos_damping, scores)
    if step < cfg.min_summary_tokens:
        # a document with no ordinary piece allowed may still end
        has_pieces = (allowed & ~is_eos & ~never).any(1, keepdim=True)
        scores = scores.masked_fill(is_eos & has_pieces, float("-inf"))
    return scores


@torch.no_grad()
def greedy_at_source(model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     cfg: DecodingConfig, constraint, blocked: list[int], max_new_tokens: int) -> torch.Tensor:
    """Greedy summaries of a batch of documents (input_ids, attention_mask: (b, s)), as ``model.generate`` returns
    them: (b, 1 + T), the decoder start token first, rows that ended padded after their end-of-sentence, T at most
    ``max_new_tokens``. ``constraint``: the batch's ``SourceConstraint``; ``blocked``: ids G never writes. Call it
    where :func:`greedy_at_source_applies`."""
    config = model.config
    eos, pad = config.eos_token_id, config.pad_token_id
    memory = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (b, s, d)
    decoder = model.get_decoder()
    is_eos = input_ids == eos  # (b, s)
    never = (attention_mask == 0) | torch.isin(input_ids, torch.tensor(blocked, dtype=input_ids.dtype,
                                                                        device=input_ids.device))
    cache = EncoderDecoderCache(DynamicCache(config=config), DynamicCache(config=config))
    sequences = torch.full((input_ids.shape[0], 1), config.decoder_start_token_id, dtype=input_ids.dtype,
                           device=input_ids.device)
    unfinished = torch.ones(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
    for step in range(max_new_tokens):
        hidden = decoder(input_ids=sequences[:, -1:], encoder_hidden_states=memory,
                         encoder_attention_mask=attention_mask, cache=cache, use_cache=True).last_hidden_state
        log_probs = pointer_mixture_at_source(*model.pointer_heads(hidden, memory), input_ids, attention_mask)[:, 0]
        allowed = constraint.masks(sequences[:, -1:], prefix=sequences)[:, 0].gather(1, input_ids)  # (b, s)
        scores = constrain_at_source(log_probs, step, cfg, allowed, is_eos, never)
        token = input_ids.gather(1, scores.argmax(1, keepdim=True))[:, 0]
        token = torch.where(unfinished, token, pad)
        sequences = torch.cat([sequences, token[:, None]], dim=1)
        unfinished &= token != eos
        if not unfinished.any():
            break
    return sequences
