"""A BART encoder-decoder with a copy (pointer) distribution, so that copying is built in rather than learned.

At each decoder position the model mixes two distributions over the vocabulary (See et al., 2017, "Get To The Point";
Wang & Lee, 2018 used the same idea in G and R):

    p(w) = g * softmax(lm_logits)(w) + (1 - g) * sum_{j : source_j = w} a_j

where ``a`` is a dedicated attention of the decoder state over the encoder states (one head, its own projections)
and ``g = sigmoid(gate(decoder state))``. A randomly initialised model can copy from the first steps: it only has to
learn *where* to point, not to map every source word through the embedding and output layers.

``logits`` are returned as log-probabilities (``log p``): ``log_softmax`` of them is ``log p`` again, so every
consumer that treats them as logits (``generate``, logits processors, cross-entropy) works unchanged.

The model is a registered ``transformers`` architecture: ``AutoModelForSeq2SeqLM.from_pretrained`` loads an export
once ``seq2seq2seq`` is imported. ``generate`` passes the source ids to every decoding step as
``decoder_source_ids`` (the ``decoder_`` prefix keeps them out of the encoder call).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSeq2SeqLM, BartConfig, BartForConditionalGeneration
from transformers.modeling_outputs import Seq2SeqLMOutput
from transformers.models.bart.modeling_bart import shift_tokens_right

# the name of the decoding cache in model outputs: "cache" in the transformers releases that deprecate
# "past_key_values" (passing the old name there warns at every decoding step)
_CACHE_FIELD = "cache" if "cache" in Seq2SeqLMOutput.__dataclass_fields__ else "past_key_values"


class PointerBartConfig(BartConfig):
    model_type = "seq2seq2seq-pointer-bart"


def pointer_mixture(lm_logits: torch.Tensor, copy_scores: torch.Tensor, gate_logits: torch.Tensor,
                    source_ids: torch.Tensor, source_mask: torch.Tensor) -> torch.Tensor:
    """Log of the generate/copy mixture. Pure function, computed in float32.

    Args:
        lm_logits: (b, t, V) vocabulary logits of the decoder.
        copy_scores: (b, t, s) unnormalised scores of each decoder position for each source position.
        gate_logits: (b, t, 1) logit of the probability of generating rather than copying.
        source_ids: (b, s) source token ids; source_mask: (b, s), 1 for real tokens.
    Returns:
        (b, t, V) log-probabilities.

    Computed in log space: a piece that is not in the source has ``log g + log_softmax(lm_logits)``, and only the
    source's pieces (s of them, not V) add their copy probability through ``logaddexp``. A source piece's copy
    probability pools the attention of every source position holding it. The (b, t, V) tensor then sees a
    log_softmax, one add and one scatter, where the probability-space mixture took eight element-wise passes (it
    runs at every decoding step), and a log-probability far below float32's smallest probability stays exact
    instead of being clamped.
    """
    lm_logits = lm_logits.float()
    generated = lm_logits.log_softmax(-1) + nn.functional.logsigmoid(gate_logits.float())  # (b, t, V): log(g p_vocab)
    index = source_ids[:, None, :].expand(-1, lm_logits.shape[1], -1)  # (b, t, s)
    mixed = _add_copy(generated.gather(2, index), copy_scores, gate_logits, source_ids, source_mask)
    # every position of a repeated piece writes the same value, but scatter passes the piece's gradient back to each
    # of them: only the first occurrence keeps it
    earlier = torch.ones(source_ids.shape[1], source_ids.shape[1], dtype=torch.bool, device=source_ids.device).tril(-1)
    repeat = ((source_ids[:, :, None] == source_ids[:, None, :]) & earlier).any(-1)  # (b, s)
    mixed = torch.where(repeat[:, None, :], mixed.detach(), mixed)
    return generated.scatter(2, index, mixed)


def pointer_mixture_at_source(lm_logits: torch.Tensor, copy_scores: torch.Tensor, gate_logits: torch.Tensor,
                              source_ids: torch.Tensor, source_mask: torch.Tensor) -> torch.Tensor:
    """:func:`pointer_mixture` read at the source's positions only: ``pointer_mixture(...).gather(2, index)`` with
    ``index`` the source ids repeated over t, without the (b, t, V) log-probabilities. Same arguments; returns
    (b, t, s) log-probabilities, the one at position j being that of the piece ``source_ids[:, j]``.

    The vocabulary enters only through its normaliser (one logsumexp) and the logits at the source's pieces, so a
    decoding step that may only write source pieces (``decoding.source_only``) needs no other pass over V."""
    lm_logits = lm_logits.float()
    index = source_ids[:, None, :].expand(-1, lm_logits.shape[1], -1)  # (b, t, s)
    generated = (lm_logits.gather(2, index) - lm_logits.logsumexp(-1, keepdim=True)
                 + nn.functional.logsigmoid(gate_logits.float()))  # log(g p_vocab) at each source piece
    return _add_copy(generated, copy_scores, gate_logits, source_ids, source_mask)


def _add_copy(generated: torch.Tensor, copy_scores: torch.Tensor, gate_logits: torch.Tensor,
              source_ids: torch.Tensor, source_mask: torch.Tensor) -> torch.Tensor:
    """log(g p_vocab + (1 - g) p_copy) at each source position, from ``generated`` = log(g p_vocab) there
    (b, t, s). A source piece's copy probability pools the attention of every source position holding it."""
    gate_logits = gate_logits.float()
    real = source_mask != 0  # (b, s)
    attention = copy_scores.float().masked_fill(~real[:, None, :], float("-inf")).softmax(-1)  # (b, t, s)
    same_piece = (source_ids[:, :, None] == source_ids[:, None, :]) & real[:, None, :]  # (b, s, s')
    copied = attention @ same_piece.transpose(1, 2).float()  # (b, t, s): attention on the piece at each position
    # no copy probability (padding, or attention that underflowed): the generated term alone, and a finite log in
    # the branch not taken, so that no NaN reaches the gradient
    has_copy = copied > 0
    copy_term = nn.functional.logsigmoid(-gate_logits) + copied.masked_fill(~has_copy, 1.0).log()
    return torch.where(has_copy, torch.logaddexp(generated, copy_term), generated)


class PointerBartForConditionalGeneration(BartForConditionalGeneration):
    """BART plus a pointer over the source (see the module docstring)."""

    config_class = PointerBartConfig

    def __init__(self, config: PointerBartConfig) -> None:
        super().__init__(config)
        self.copy_query = nn.Linear(config.d_model, config.d_model, bias=False)
        self.copy_key = nn.Linear(config.d_model, config.d_model, bias=False)
        self.copy_gate = nn.Linear(config.d_model, 1)
        self.post_init()

    def generate(self, inputs: torch.Tensor | None = None, **kwargs):
        if kwargs.get("decoder_source_ids") is None:
            source = inputs if inputs is not None else kwargs.get("input_ids")
            if source is None:
                raise ValueError("the pointer model needs the source token ids: call generate(input_ids=...)")
            kwargs["decoder_source_ids"] = source
        return super().generate(inputs, **kwargs)

    def pointer_heads(self, hidden: torch.Tensor, memory: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The three inputs of :func:`pointer_mixture` for decoder states ``hidden`` (b, t, d) over the encoder's
        ``memory`` (b, s, d): vocabulary logits (b, t, V), copy scores (b, t, s) and the gate's logit (b, t, 1)."""
        lm_logits = self.lm_head(hidden) + self.final_logits_bias.to(hidden.dtype)
        # query (W_q h) against keys (W_k m), as (W_q h)^T W_k m: the key projection then costs t rows, not the
        # encoder's s at every decoding step (the memory is the same at each step)
        query = self.copy_query(hidden) @ self.copy_key.weight  # (b, t, d)
        copy_scores = query @ memory.transpose(1, 2) / math.sqrt(hidden.shape[-1])  # (b, t, s)
        return lm_logits, copy_scores, self.copy_gate(hidden)

    def forward(self, input_ids: torch.LongTensor | None = None, attention_mask: torch.Tensor | None = None,
                decoder_input_ids: torch.LongTensor | None = None,
                decoder_attention_mask: torch.LongTensor | None = None, encoder_outputs=None,
                labels: torch.LongTensor | None = None, use_cache: bool | None = None,
                decoder_source_ids: torch.LongTensor | None = None, **kwargs) -> Seq2SeqLMOutput:
        """As BART's forward; ``decoder_source_ids`` (b, s) are the tokens to copy from (default: ``input_ids``).

        The decoding cache reaches BART through ``kwargs`` under whatever name this transformers release gives it
        (``cache``; ``past_key_values`` before), so no deprecated argument is ever passed alongside it.
        """
        source_ids = decoder_source_ids if decoder_source_ids is not None else input_ids
        if source_ids is None:
            raise ValueError("the pointer model needs the source token ids: pass input_ids or decoder_source_ids")
        if attention_mask is None:
            attention_mask = (source_ids != self.config.pad_token_id).long()
        if labels is not None:
            use_cache = False
            if decoder_input_ids is None:
                decoder_input_ids = shift_tokens_right(labels, self.config.pad_token_id,
                                                       self.config.decoder_start_token_id)
        outputs = self.model(input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                             encoder_outputs=encoder_outputs, decoder_attention_mask=decoder_attention_mask,
                             use_cache=use_cache, **kwargs)
        hidden, memory = outputs.last_hidden_state, outputs.encoder_last_hidden_state  # (b, t, d), (b, s, d)
        log_probs = pointer_mixture(*self.pointer_heads(hidden, memory), source_ids, attention_mask)
        loss = None
        if labels is not None:
            loss = nn.functional.nll_loss(log_probs.flatten(0, 1), labels.flatten(), ignore_index=-100)
        return Seq2SeqLMOutput(loss=loss, logits=log_probs, encoder_last_hidden_state=memory,
                               **{_CACHE_FIELD: getattr(outputs, _CACHE_FIELD)})


AutoConfig.register(PointerBartConfig.model_type, PointerBartConfig)
AutoModelForSeq2SeqLM.register(PointerBartConfig, PointerBartForConditionalGeneration)
