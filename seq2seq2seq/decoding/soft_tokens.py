"""G's summaries as soft tokens for R and D: the gradient path of ``adversarial.estimator: gumbel``.

Under REINFORCE, R and D give one number per summary. Under the Gumbel-softmax straight-through estimator (as in
SEQ^3, Baziotis et al., 2019) each summary token reaches R and D as a one-hot row whose gradient is that of a relaxed
sample (:func:`seq2seq2seq.losses.conditional_gumbel_softmax`): R's and D's rewards then tell G, token by token,
which way to move. R and D are called *frozen* here (their weights detached): they only pass gradients to G; their
own updates stay those of the REINFORCE path (R rebuilds documents from the hard summaries, D learns human vs. G).

Soft rows need R and D to read G's token ids: a model with its own tokenizer sees G's summaries as re-tokenized
text, which has no gradient (the trainer says so before training starts). The fluency language model joins them
when it shares G's tokenizer; otherwise its reward stays on REINFORCE.
"""

from __future__ import annotations

import torch
from torch.func import functional_call
from transformers import PreTrainedModel

from seq2seq2seq.models.build import decoder_inputs
from seq2seq2seq.models.pointer import PointerBartForConditionalGeneration


def input_embeddings(model: PreTrainedModel, soft: torch.Tensor, frozen: bool = True) -> torch.Tensor:
    """What ``model``'s input embedding gives for soft one-hot rows: shape (n, t, V) -> (n, t, d).

    Linear in the rows, so a one-hot row gives exactly the embedding of its token, scale included (BART's
    ``embed_scale`` lives in its embedding module). V may be smaller than the embedding table (a table padded past
    the tokenizer's vocabulary); the missing columns are zeros.
    """
    embedding = model.get_input_embeddings()
    weight = embedding.weight.detach() if frozen else embedding.weight
    rows, vocab = weight.shape[0], soft.shape[-1]
    if vocab > rows:
        raise ValueError(f"soft tokens over {vocab} ids cannot feed an embedding table of {rows} rows")
    if vocab < rows:
        soft = torch.nn.functional.pad(soft, (0, rows - vocab))
    return (soft.to(weight.dtype) @ weight) * getattr(embedding, "embed_scale", 1.0)


def _frozen(model: PreTrainedModel, **inputs):
    """``model(**inputs)`` with its weights detached: gradients reach the inputs only, never the model."""
    weights = {name: p.detach() for name, p in model.named_parameters()}
    return functional_call(model, weights, args=(), kwargs=inputs, strict=False)


def soft_seq2seq_logits(model: PreTrainedModel, soft: torch.Tensor, mask: torch.Tensor, source_ids: torch.Tensor,
                        target_ids: torch.Tensor, target_mask: torch.Tensor) -> torch.Tensor:
    """R's teacher-forced logits of the documents given soft summaries, R frozen.

    soft: (n, t, V) soft one-hot summary rows; mask: (n, t); source_ids: (n, t) the same summaries as ids (the
    pointer copies from them); target_ids, target_mask: (n, s) the documents. Returns (n, s, V'), as
    :func:`seq2seq2seq.models.build.seq2seq_logits` does for ids.
    """
    decoder_input_ids, decoder_mask = decoder_inputs(model.config, target_ids, target_mask)
    extra = {"decoder_source_ids": source_ids} if isinstance(model, PointerBartForConditionalGeneration) else {}
    return _frozen(model, inputs_embeds=input_embeddings(model, soft), attention_mask=mask,
                   decoder_input_ids=decoder_input_ids, decoder_attention_mask=decoder_mask, **extra).logits


def soft_discriminator_logits(discriminator: PreTrainedModel, soft: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """D's logit that each soft summary is human-written, D frozen. soft: (n, t, V); mask: (n, t). Returns (n,)."""
    logits = _frozen(discriminator, inputs_embeds=input_embeddings(discriminator, soft), attention_mask=mask)["logits"]
    return logits.squeeze(-1) if logits.dim() == 2 else logits


def soft_language_model_logprob(lm: PreTrainedModel, soft: torch.Tensor, mask: torch.Tensor,
                                start_id: int) -> torch.Tensor:
    """The fluency reward of soft summaries, LM frozen: mean over real positions t of sum_j soft_tj log p(j | soft
    rows before t), shape (n, t, V), (n, t) -> (n,). For one-hot rows it is the mean log-probability of the tokens;
    its gradient for row t is the LM's log-probabilities there (which token it would rather see) plus what row t
    changes in the LM's view of the later ones."""
    start = torch.zeros_like(soft[:, :1])
    start[..., start_id] = 1.0
    inputs = torch.cat([start, soft[:, :-1]], dim=1)
    attention = torch.cat([torch.ones_like(mask[:, :1]), mask[:, :-1]], dim=1)
    logits = _frozen(lm, inputs_embeds=input_embeddings(lm, inputs), attention_mask=attention).logits.float()
    logps = torch.log_softmax(logits, dim=-1)[..., : soft.shape[-1]]
    per_token = (soft * logps).sum(-1)
    return (per_token * mask).sum(1) / mask.sum(1).clamp(min=1)
