"""The fluency reward: how natural a small language model of human sentences finds the summary, and the loading of
such a model (``scripts/train_fluency_lm.py`` trains one)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from seq2seq2seq.data import decoder_targets
from seq2seq2seq.decoding.retokenize import Retokenizer, same_tokenizer
from seq2seq2seq.losses import sequence_mean_logprob
from seq2seq2seq.models.build import ModelLoadError, describe_error
from seq2seq2seq.rewards.base import RewardBuildError, RewardContext, distinct_texts
from seq2seq2seq.types import Documents, Summaries

if TYPE_CHECKING:
    from seq2seq2seq.config import RewardSpec


def language_model_logits(lm: PreTrainedModel, target_ids: torch.Tensor, target_mask: torch.Tensor,
                          start_id: int) -> torch.Tensor:
    """A causal language model's logits for sentences, shape (b, t) -> (b, t, V): position i predicts
    target_ids[:, i] from ``start_id`` and the tokens before it (targets end with end-of-sentence, so how a sentence
    ends is scored too)."""
    start = torch.full_like(target_ids[:, :1], start_id)
    inputs = torch.cat([start, target_ids[:, :-1]], dim=1)
    attention = torch.cat([torch.ones_like(start), target_mask[:, :-1]], dim=1)
    return lm(input_ids=inputs.masked_fill(attention == 0, start_id), attention_mask=attention).logits


def lm_start_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The token a language model of sentences starts from: beginning-of-sequence, else end-of-sequence (GPT-2),
    else a WordPiece tokenizer's [CLS]."""
    start = next((t for t in (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.cls_token_id)
                  if t is not None), None)
    if start is None:
        raise ModelLoadError(f"the fluency model's tokenizer {tokenizer.name_or_path!r} has neither a bos nor an eos "
                             f"token to start a sentence from; add one (tokenizer.add_special_tokens) and save it")
    return start


def lm_positions(lm: PreTrainedModel) -> int:
    """How many tokens a language model reads at most (its position table; very many when it has none)."""
    config = lm.config
    return int(getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None) or 1 << 30)


def load_fluency_model(path: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A causal language model and its tokenizer from a folder (``scripts/train_fluency_lm.py`` writes one). The
    tokenizer must mark a sentence's start (bos, eos or [CLS]) and end (eos or [SEP]); one without a padding token
    pads with its end token (padding is masked out)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    fix = ("a folder holding a causal language model and its tokenizer, e.g. one written by `python "
           "scripts/train_fluency_lm.py --data_dir runs/corpus --out runs/fluency_lm`")
    try:
        lm, tokenizer = AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError, KeyError) as err:
        raise ModelLoadError(f"cannot load the fluency model {path!r}: {describe_error(err)}. It must be {fix} "
                             f"(adversarial.fluency_model in a config, --fluency-model in the summarize CLI)") from None
    lm_start_id(tokenizer)
    end = tokenizer.eos_token if tokenizer.eos_token_id is not None else tokenizer.sep_token
    if end is None:
        raise ModelLoadError(f"the fluency model's tokenizer {path!r} has neither an eos nor a sep token to end a "
                             f"sentence with; use {fix}")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = end
    return lm, tokenizer


class FluencyReward:
    """How natural a language model of human sentences (headlines) finds the summary: its mean log-probability per
    token, the end included (MSRP's fluency term is a perplexity of this kind). The model is a causal LM folder,
    e.g. one trained by ``scripts/train_fluency_lm.py``; with a tokenizer other than G's the summary goes as text.
    ``tokenizer``: G's (None: texts only, as the test-time choice scores them)."""

    name = "fluency"

    def __init__(self, lm: PreTrainedModel, lm_tokenizer: PreTrainedTokenizerBase,
                 tokenizer: PreTrainedTokenizerBase | None, weight: float, max_tokens: int = 48,
                 batch_size: int = 64) -> None:
        self.lm, self.lm_tokenizer, self.weight = lm, lm_tokenizer, weight
        # no longer than the LM's position table: a summary longer than it would index past it
        self.max_tokens = min(max_tokens, lm_positions(lm))
        self.same = tokenizer is not None and same_tokenizer(tokenizer, lm_tokenizer)
        self.start_id = lm_start_id(lm_tokenizer)
        # G's summaries as text, for another tokenizer
        self.to_text = Retokenizer(tokenizer, lm_tokenizer, max_tokens) if tokenizer is not None else None
        self.batch_size = batch_size  # texts per LM pass in score_candidates: its float32 log-softmax is b x t x V

    def to(self, device: torch.device | str) -> FluencyReward:
        self.lm.to(device)
        return self

    def targets(self, summaries: Summaries) -> tuple[torch.Tensor, torch.Tensor]:
        """The summaries as the LM's targets (ids ending with end-of-sentence) and mask, shape (n, t')."""
        ids, mask = summaries.summary_ids, summaries.summary_mask
        if self.same:
            ids, mask = ids[:, :self.max_tokens], mask[:, :self.max_tokens]
            return ids.masked_fill(mask == 0, self.lm_tokenizer.pad_token_id or 0), mask
        if self.to_text is None:
            raise RewardBuildError("the fluency reward was built without G's tokenizer, so it scores texts "
                                   "(score_candidates) but not G's token ids; give RewardContext(tokenizer=...)")
        new_ids, new_mask = decoder_targets(self.lm_tokenizer, self.to_text.texts(summaries), self.max_tokens)
        return new_ids.to(ids.device), new_mask.to(ids.device)

    def mean_logprob(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The LM's mean log-probability per target token, shape (n, t) -> (n,)."""
        return sequence_mean_logprob(language_model_logits(self.lm, ids, mask, self.start_id).float(), ids, mask)

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        return self.mean_logprob(*self.targets(summaries))

    @torch.no_grad()
    def score_texts(self, texts: list[str]) -> torch.Tensor:
        """The reward of texts in one LM pass, shape (n,), on the LM's device."""
        ids, mask = decoder_targets(self.lm_tokenizer, texts, self.max_tokens)
        device = next(self.lm.parameters()).device
        return self.mean_logprob(ids.to(device), mask.to(device))

    def score_candidates(self, documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
        """Per document, the reward of each candidate: each distinct text scored once, ``batch_size`` at a time."""
        texts = list(distinct_texts(candidates))
        scores: list[float] = []
        for i in range(0, len(texts), self.batch_size):
            scores.extend(self.score_texts(texts[i:i + self.batch_size]).tolist())
        position = {text: j for j, text in enumerate(texts)}
        return [[scores[position[text or "."]] for text in row] for row in candidates]


def build(spec: RewardSpec, context: RewardContext) -> FluencyReward:
    """The LM of the spec's model folder, on the context's device."""
    if not spec.model:
        raise RewardBuildError(f"the fluency reward needs a language model folder "
                               f"({context.settings.get(spec.name, 'its model')}): train one with `python "
                               f"scripts/train_fluency_lm.py --data_dir runs/corpus --out runs/fluency_lm`")
    lm, lm_tokenizer = load_fluency_model(spec.model)
    return FluencyReward(lm.to(context.device), lm_tokenizer, context.tokenizer, spec.weight)
