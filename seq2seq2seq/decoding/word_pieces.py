"""Which tokenizer pieces start a word, for the three tokenizer families seq2seq2seq works with.

Whole-word decoding, the no-repeated-words rule, the length prior and word counts all ask, for each vocabulary entry,
whether it begins a new word:

- sentencepiece (the project's own tokenizer, T5, mT5, Pegasus, Marian): a word-start piece begins with ``▁``;
- byte-level BPE (BART, RoBERTa, GPT-2): a word-start piece begins with ``Ġ``, the byte-level form of a space. The
  first word of a text is marked too only when the tokenizer adds a prefix space (:func:`adds_prefix_space`);
- WordPiece (BERT, MiniLM): every piece starts a word except the continuations, which begin with ``##``.

The family is read from the tokenizer itself: what its fast backend declares (model, pre-tokenizer, decoder), else
how it splits a probe sentence. A tokenizer of another kind (word-end markers such as ``</w>``, or no markers at
all) is refused with :class:`TokenizerFamilyError`, since guessing would silently break whole words and word
counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import torch

SENTENCEPIECE, BYTE_LEVEL_BPE, WORDPIECE = "sentencepiece", "byte-level BPE", "WordPiece"
_MARKERS = {SENTENCEPIECE: "\u2581", BYTE_LEVEL_BPE: "\u0120"}  # ▁ and Ġ
# several short words, so that every family shows its word-start marker on the second word at the latest
PROBE = "the cat sat on the mat"


class TokenizerFamilyError(ValueError):
    """A tokenizer whose word starts cannot be told from its pieces; the message names the supported families."""


@dataclass(frozen=True)
class WordPieces:
    """A tokenizer family and its marker: ``▁`` or ``Ġ`` begin a word, ``##`` (WordPiece) continues one."""

    family: str
    marker: str

    def starts_word(self, piece: str) -> bool:
        if self.family == WORDPIECE:
            return not (piece.startswith(self.marker) and len(piece) > len(self.marker))
        return piece.startswith(self.marker)


def _backend_family(tokenizer) -> WordPieces | None:
    """The family as the fast backend declares it (its model, pre-tokenizer and decoder), or None."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    spec = json.loads(backend.to_str())
    if spec.get("model", {}).get("type") == "WordPiece":
        return WordPieces(WORDPIECE, spec["model"].get("continuing_subword_prefix") or "##")
    kinds: set[str] = set()

    def collect(node: object) -> None:  # component types, also inside Sequence components
        if isinstance(node, dict):
            kinds.add(str(node.get("type")))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect([spec.get("pre_tokenizer"), spec.get("decoder")])
    if "Metaspace" in kinds:
        return WordPieces(SENTENCEPIECE, _MARKERS[SENTENCEPIECE])
    if "ByteLevel" in kinds:
        return WordPieces(BYTE_LEVEL_BPE, _MARKERS[BYTE_LEVEL_BPE])
    return None


def word_pieces(tokenizer) -> WordPieces:
    """The family of ``tokenizer``; TokenizerFamilyError for one that is not sentencepiece, byte-level BPE or
    WordPiece. The fast backend's declaration decides; without one, the pieces of a probe sentence do."""
    declared = _backend_family(tokenizer)
    if declared is not None:
        return declared
    special = set(tokenizer.all_special_tokens)
    pieces = [p for p in tokenizer.tokenize(PROBE) if p not in special]
    for family, marker in _MARKERS.items():
        if any(p.startswith(marker) for p in pieces):
            return WordPieces(family, marker)
    if getattr(tokenizer, "wordpiece_tokenizer", None) is not None:  # a Python (slow) BERT tokenizer
        return WordPieces(WORDPIECE, "##")
    name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
    raise TokenizerFamilyError(
        f"cannot tell which pieces of the tokenizer {name!r} ({type(tokenizer).__name__}) start a word: it splits "
        f"{PROBE!r} into {pieces[:8]}, with neither sentencepiece's '\u2581' nor byte-level BPE's '\u0120', and it "
        f"is not a WordPiece tokenizer ('##' continuations). seq2seq2seq needs one of these three families (whole-"
        f"word decoding, the length prior); use a checkpoint whose tokenizer is sentencepiece (T5, Pegasus, Marian), "
        f"byte-level BPE (BART, RoBERTa) or WordPiece (BERT)")


def adds_prefix_space(tokenizer) -> bool:
    """Whether the first word of a text gets the word-start marker like the others (always true for WordPiece,
    which marks continuations instead; sentencepiece adds its dummy prefix by default)."""
    pieces = word_pieces(tokenizer)
    if pieces.family == WORDPIECE:
        return True
    special = set(tokenizer.all_special_tokens)
    first = [p for p in tokenizer.tokenize(PROBE) if p not in special][:1]
    return bool(first) and first[0].startswith(pieces.marker)


@lru_cache(maxsize=16)
def word_start_mask(tokenizer, size: int | None = None) -> torch.Tensor:
    """Shape (size,) bool, ``size`` defaulting to ``len(tokenizer)``: true for the pieces that begin a word.

    Special tokens are false, and so are ids beyond the tokenizer (a model's embedding table may have more rows
    than its tokenizer has entries, as T5's does).
    """
    family = word_pieces(tokenizer)
    n = len(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(list(range(n)))
    special = set(tokenizer.all_special_ids)
    starts = [i not in special and p is not None and family.starts_word(p) for i, p in enumerate(pieces)]
    size = n if size is None else size
    return torch.tensor((starts + [False] * max(size - n, 0))[:size], dtype=torch.bool)


def fit_mask(mask: torch.Tensor, size: int) -> torch.Tensor:
    """A (V,) mask cut or padded with False to ``size`` entries (a model's vocabulary size)."""
    if mask.shape[0] >= size:
        return mask[:size]
    return torch.nn.functional.pad(mask, (0, size - mask.shape[0]), value=False)


def count_words(word_start: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Words per row: the real tokens that begin a word. ids, mask: shape (n, t); word_start: (V,). Returns (n,)."""
    table = word_start.to(ids.device)
    starts = table[ids.clamp(max=table.shape[0] - 1)] & (ids < table.shape[0])
    return (starts & mask.bool()).sum(1)


def words(tokenizer, ids: list[int]) -> list[str]:
    """The words a sequence of ids spells, each as the text of its pieces (special tokens dropped); a leading
    continuation piece forms a word of its own. Used to check whole-word decoding."""
    family = word_pieces(tokenizer)
    special = set(tokenizer.all_special_ids)
    groups: list[list[str]] = []
    for piece_id in ids:
        if piece_id in special or piece_id >= len(tokenizer):
            continue
        piece = tokenizer.convert_ids_to_tokens(piece_id)
        if family.starts_word(piece) or not groups:
            groups.append([])
        groups[-1].append(piece)
    return [tokenizer.convert_tokens_to_string(group).strip() for group in groups]
