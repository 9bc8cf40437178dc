"""Summaries from G: sampled, greedy or beam, with length control and source restriction.

The decoding constraints (source-only pieces, no end-of-sentence before the minimum length, end-of-sentence damping)
live in one function, :func:`constrain_logits`, used both inside ``generate`` (through a LogitsProcessor) and in the
teacher-forced pass that computes the per-token log-probabilities REINFORCE needs. That way a summary's log-prob is
taken under exactly the distribution it was sampled from.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList, PreTrainedModel

from .config import DecodingConfig
from .models import model_config


@dataclass
class Summaries:
    """G's output. ``summary_ids``/``summary_mask``: shape (n, t), no decoder start token; the mask covers the real
    tokens including the final end-of-sentence token, if any."""

    summary_ids: torch.Tensor
    summary_mask: torch.Tensor


def source_allowed_mask(input_ids: torch.Tensor, vocab_size: int, always_allowed: list[int]) -> torch.Tensor:
    """Which vocabulary entries G may emit for each document.

    input_ids: shape (b, s). Returns a bool tensor of shape (b, vocab_size), true for pieces in the document and for
    ``always_allowed`` (end-of-sentence).
    """
    allowed = torch.zeros(input_ids.shape[0], vocab_size, dtype=torch.bool, device=input_ids.device)
    allowed.scatter_(1, input_ids, True)
    allowed[:, always_allowed] = True
    return allowed


def constrain_logits(logits: torch.Tensor, positions: torch.Tensor, cfg: DecodingConfig, eos_id: int,
                     allowed: torch.Tensor | None, blocked: list[int]) -> torch.Tensor:
    """Apply the decoding constraints to next-token logits.

    logits: shape (n, t, V) — the distributions for summary positions ``positions`` (shape (t,), 0 = first token).
    allowed: shape (n, V) bool or None. blocked: ids that are never emitted (padding, decoder start).
    Returns logits of the same shape with forbidden entries at -inf.
    """
    if allowed is not None:
        logits = logits.masked_fill(~allowed[:, None, :], float("-inf"))
    else:
        logits = logits.clone()
    if blocked:
        logits[..., blocked] = float("-inf")
    eos = logits[..., eos_id]
    if cfg.eos_damping > 0 and cfg.eos_damping_tokens > 0:
        eos = torch.where(positions[None, :] < cfg.eos_damping_tokens, eos - cfg.eos_damping, eos)
    if cfg.min_summary_tokens > 0:
        too_early = (positions < cfg.min_summary_tokens)[None, :]
        if allowed is not None:
            # a document with no ordinary piece (e.g. empty) would leave nothing allowed: let it end instead
            has_pieces = allowed.clone()
            has_pieces[:, [eos_id, *blocked]] = False
            too_early = too_early & has_pieces.any(-1)[:, None]
        eos = eos.masked_fill(too_early, float("-inf"))
    logits[..., eos_id] = eos
    return logits


class ConstrainedLogits(LogitsProcessor):
    """``constrain_logits`` for one generation step inside ``model.generate``."""

    def __init__(self, cfg: DecodingConfig, eos_id: int, allowed: torch.Tensor | None, blocked: list[int]) -> None:
        self.cfg, self.eos_id, self.allowed, self.blocked = cfg, eos_id, allowed, blocked

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        # input_ids holds the decoder start token plus the tokens generated so far; rows are documents repeated
        # num_beams or num_return_sequences times, in order
        position = torch.tensor([input_ids.shape[1] - 1], device=scores.device)
        if self.allowed is not None and self.allowed.shape[0] != scores.shape[0]:
            # once per generate call: rows become documents repeated num_beams / num_samples times
            self.allowed = self.allowed.repeat_interleave(scores.shape[0] // self.allowed.shape[0], dim=0)
        allowed = self.allowed
        return constrain_logits(scores[:, None, :], position, self.cfg, self.eos_id, allowed, self.blocked)[:, 0, :]


def _blocked_ids(model: PreTrainedModel) -> list[int]:
    config = model_config(model)
    ids = {config.pad_token_id, config.decoder_start_token_id}
    ids.discard(config.eos_token_id)
    ids.discard(None)
    return sorted(ids)


def allowed_for(model: PreTrainedModel, input_ids: torch.Tensor, cfg: DecodingConfig) -> torch.Tensor | None:
    """The source restriction mask for a batch, or None when the restriction is off."""
    if not cfg.source_only:
        return None
    config = model_config(model)
    return source_allowed_mask(input_ids, config.vocab_size, [config.eos_token_id])


@torch.no_grad()
def generate_summaries(model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                       cfg: DecodingConfig, *, do_sample: bool = False, num_samples: int = 1,
                       num_beams: int = 1, no_repeat_ngram_size: int = 0,
                       max_new_tokens: int | None = None) -> Summaries:
    """Decode summaries for a batch of documents (input_ids, attention_mask: shape (b, s)).

    Returns ``Summaries`` with n = b * num_samples rows, each document's samples adjacent.
    """
    config = model.config
    generation = GenerationConfig(
        max_new_tokens=max_new_tokens or cfg.max_summary_tokens, do_sample=do_sample, num_beams=num_beams,
        num_return_sequences=num_samples if do_sample else 1, top_k=0 if do_sample else None, top_p=1.0,
        temperature=1.0, no_repeat_ngram_size=no_repeat_ngram_size or 0,
        # set explicitly: generate fills unset fields from the model's saved generation_config, and the minimum
        # length is already enforced by ConstrainedLogits
        min_new_tokens=0, min_length=0, length_penalty=1.0, early_stopping=num_beams > 1, repetition_penalty=1.0,
        pad_token_id=config.pad_token_id, eos_token_id=config.eos_token_id,
        decoder_start_token_id=config.decoder_start_token_id, bos_token_id=config.bos_token_id,
    )
    processor = ConstrainedLogits(cfg, config.eos_token_id, allowed_for(model, input_ids, cfg), _blocked_ids(model))
    sequences = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=generation,
                               logits_processor=LogitsProcessorList([processor]))
    summary_ids = sequences[:, 1:]  # drop the decoder start token
    return Summaries(summary_ids, summary_token_mask(summary_ids, config.eos_token_id))


def summary_token_mask(summary_ids: torch.Tensor, eos_id: int) -> torch.Tensor:
    """1 for the tokens up to and including the first end-of-sentence, 0 after it. Shape (n, t) -> (n, t)."""
    is_eos = (summary_ids == eos_id).long()
    eos_before = torch.cumsum(is_eos, dim=1) - is_eos  # end-of-sentence tokens strictly before each position
    return (eos_before == 0).long()


def summary_logits(model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   summaries: Summaries, cfg: DecodingConfig, allowed: torch.Tensor | None = None) -> torch.Tensor:
    """Teacher-forced logits of G for given summaries, under the same constraints as sampling.

    input_ids, attention_mask: shape (n, s) (documents repeated to match the summaries); summaries: (n, t).
    Returns shape (n, t, V) with forbidden entries at -inf.
    """
    config = model_config(model)
    start = torch.full_like(summaries.summary_ids[:, :1], config.decoder_start_token_id)
    decoder_input_ids = torch.cat([start, summaries.summary_ids[:, :-1]], dim=1)
    decoder_input_ids = decoder_input_ids.masked_fill(
        torch.cat([torch.ones_like(start), summaries.summary_mask[:, :-1]], dim=1) == 0, config.pad_token_id)
    out = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                decoder_attention_mask=torch.cat([torch.ones_like(start), summaries.summary_mask[:, :-1]], dim=1))
    positions = torch.arange(summaries.summary_ids.shape[1], device=input_ids.device)
    return constrain_logits(out.logits.float(), positions, cfg, config.eos_token_id, allowed, _blocked_ids(model))


def summarize_texts(model: PreTrainedModel, tokenizer, documents: list[str], cfg: DecodingConfig, *,
                    max_document_tokens: int, batch_size: int = 64, num_beams: int | None = None,
                    no_repeat_ngram_size: int | None = None, progress: bool = False) -> list[str]:
    """Summaries of normalised documents, in input order.

    Documents are decoded in batches of similar length (fewer pad tokens); the order of the output does not
    depend on the batching. ``num_beams``/``no_repeat_ngram_size`` default to the decoding config's.
    """
    from tqdm.auto import tqdm

    device = next(model.parameters()).device
    order = sorted(range(len(documents)), key=lambda i: len(documents[i].split()))
    summaries = [""] * len(documents)
    was_training = model.training
    model.eval()
    batches = range(0, len(order), batch_size)
    for start in tqdm(batches, desc="summarizing", unit="batch", disable=not progress):
        chunk = order[start:start + batch_size]
        encoded = tokenizer([documents[i] for i in chunk], max_length=max_document_tokens, truncation=True,
                            padding=True, return_tensors="pt").to(device)
        out = generate_summaries(model, encoded["input_ids"], encoded["attention_mask"], cfg,
                                 num_beams=num_beams or cfg.num_beams,
                                 no_repeat_ngram_size=cfg.no_repeat_ngram_size if no_repeat_ngram_size is None
                                 else no_repeat_ngram_size)
        texts = tokenizer.batch_decode(out.summary_ids, skip_special_tokens=True)
        for i, text in zip(chunk, texts):
            summaries[i] = " ".join(text.split())
    model.train(was_training)
    return summaries
