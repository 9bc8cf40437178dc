"""The length a user asks for, learned: G reads a control token for the requested word count (``<words_10>``)
before its document, and learned to write summaries of that many words (``pretrain.length_words``).

The tokens are extra special tokens of G's tokenizer only (a copy: R and D keep theirs, and G's summaries never
hold a control token, so they reach R and D as before) and G's embedding table grows by one row each. G's model
config records the lengths and their ids (``length_words``, ``length_token_ids``), so the export keeps them and
decoding never writes or copies a control token (:func:`seq2seq2seq.decoding.sampling.constraint_for` and its
blocked ids).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from transformers import PreTrainedModel, PreTrainedTokenizerBase

TOKEN_FORMAT = "<words_{}>"


def length_token(words: int) -> str:
    """The control token that asks for ``words`` words, e.g. ``<words_10>``."""
    return TOKEN_FORMAT.format(words)


def with_length_token(text: str, words: int | None) -> str:
    """``text`` as G reads it when asked for ``words`` words: the control token, a space, the text (as is for None).
    The tokenizer splits the special token off whole, so the text's own ids are unchanged."""
    return text if words is None else f"{length_token(words)} {text}"


def default_words(lengths: Sequence[int]) -> int | None:
    """The length used when none is asked for: the middle of the trained ones (the lower middle of an even count:
    10 of 8, 10, 13), or None for a model not conditioned on length."""
    ordered = sorted(lengths)
    return ordered[(len(ordered) - 1) // 2] if ordered else None


def add_length_tokens(tokenizer: PreTrainedTokenizerBase, lengths: Sequence[int]) -> PreTrainedTokenizerBase:
    """A copy of ``tokenizer`` with one extra special token per length (the original is left as it is: R and D may
    share it)."""
    out = copy.deepcopy(tokenizer)
    out.add_special_tokens({"extra_special_tokens": [length_token(n) for n in lengths]},
                           replace_extra_special_tokens=False)
    return out


def length_token_ids(tokenizer: PreTrainedTokenizerBase, lengths: Sequence[int]) -> list[int]:
    """The ids of the lengths' control tokens; ValueError when the tokenizer lacks one (it would read it as text)."""
    ids = tokenizer.convert_tokens_to_ids([length_token(n) for n in lengths])
    missing = [n for n, i in zip(lengths, ids) if i is None or i == tokenizer.unk_token_id]
    if missing:
        raise ValueError(f"the tokenizer has no control token for {', '.join(map(str, missing))} words "
                         f"({length_token(missing[0])})")
    return list(ids)


def condition_on_length(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                        lengths: Sequence[int]) -> PreTrainedTokenizerBase:
    """Make G length-conditioned: its tokenizer (a copy, returned) gains the control tokens, its embedding table a
    row for each one that falls outside it, and its config records the lengths and their ids."""
    tokenizer = add_length_tokens(tokenizer, lengths)
    rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:  # a table padded past its tokenizer (T5's) may hold the new ids already
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model.config.length_words = list(lengths)
    model.config.length_token_ids = length_token_ids(tokenizer, lengths)
    return tokenizer


def trained_lengths(config: object) -> list[int]:
    """The word counts a model config says G was trained to write (empty: not length-conditioned)."""
    return [int(n) for n in getattr(config, "length_words", None) or []]


def blocked_length_ids(config: object) -> list[int]:
    """The control tokens' ids, which G must never write or copy (empty for a model without them)."""
    return [int(i) for i in getattr(config, "length_token_ids", None) or []]


def untrained_warning(words: int, lengths: Sequence[int]) -> str | None:
    """One line when ``words`` is not among the trained ``lengths`` (None when it is)."""
    if words in lengths:
        return None
    return (f"--words {words}: this model was trained on {', '.join(map(str, lengths))} words only; its control "
            f"token {length_token(words)} is unknown to it, so the summary uses the nearest trained length's token "
            f"({length_token(nearest_length(words, lengths))}) and is cut to {words} words")


def nearest_length(words: int, lengths: Sequence[int]) -> int:
    """The trained length closest to ``words`` (the shorter one on a tie)."""
    return min(lengths, key=lambda n: (abs(n - words), n))
