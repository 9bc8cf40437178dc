"""The systems every model is compared with, none of which learns anything, and the pairs they are scored on.

- Lead: a document's first N words (``lead-N``) or characters (``lead-Nc``), the published baselines.
- The headline-deletion rule: G's pre-training teacher made deterministic (:func:`seq2seq2seq.data.headline_rule`),
  at a fixed length or at the lengths of a model's own summaries. ROUGE F1 rises about one R-1 point a word at
  headline lengths, so a model is better than its teacher only if it beats the rule at the model's lengths.

The rule needs the corpus's word statistics (:func:`seq2seq2seq.data.headline_word_stats`) and documents normalised
as the corpus's are (:func:`seq2seq2seq.normalize.normalize`); the Lead baselines read documents as they are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from seq2seq2seq.eval.rouge import RougeInputError
from seq2seq2seq.language import CJK_LANGUAGES, DEFAULT_LANGUAGE, detokenize, normalize_text

if TYPE_CHECKING:  # seq2seq2seq.data imports torch: only the rule needs it, so scoring Lead rows stays light
    from seq2seq2seq.config import PretrainConfig
    from seq2seq2seq.data import HeadlineWordStats

LEAD_NAME = re.compile(r"^lead-(\d+)(c?)$")


def read_pairs(path: str | Path, limit: int | None = None) -> tuple[list[str], list[str]]:
    """(documents, summaries) of a JSONL file of ``{"document", "summary"}`` rows, as they are written there: the
    Gigaword test set, a corpus's dev.jsonl. Only the first ``limit`` rows when ``limit`` is given (0 or None: all)."""
    documents, summaries = [], []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            documents.append(row["document"])
            summaries.append(row["summary"])
            if limit and len(documents) >= limit:
                break
    return documents, summaries


def lead_baseline(documents: list[str], name: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """The Lead baseline ``name`` for every document.

    ``lead-N`` is the first N whitespace-separated words joined by single spaces (for ``zh``/``ja``: the first N
    segmented words of the normalised document, shown as summaries are); ``lead-Nc`` is the first N characters of
    the document string cut as is, even mid-word: that rule reproduces the published Lead-75 characters row (cutting
    back to a word boundary instead gives R-1 24.25, not 23.69).
    """
    match = LEAD_NAME.match(name)
    if match is None or int(match.group(1)) == 0:
        raise RougeInputError(f"unknown baseline {name!r}: use lead-N (first N words) or lead-Nc (first N characters)")
    n = int(match.group(1))
    if match.group(2):
        return [doc[:n] for doc in documents]
    if language in CJK_LANGUAGES:
        return [detokenize(" ".join(normalize_text(doc, language).split()[:n]), language) for doc in documents]
    return [" ".join(doc.split()[:n]) for doc in documents]


def rule_summaries(documents: list[str], stats: HeadlineWordStats, cfg: PretrainConfig | None = None,
                   words: int = 10) -> list[str]:
    """The headline-deletion rule's summary of each (normalised) document: its first ``words`` words scoring above
    ``cfg.headline_threshold`` (default: :class:`~seq2seq2seq.config.PretrainConfig`'s). It shows how much of a
    model's score the pseudo-summary rule alone already gives: 27.86 / 10.30 / 25.17 on Gigaword test at 10 words."""
    from seq2seq2seq.data import headline_rule

    return [headline_rule(document, stats, cfg, words) for document in documents]


def rule_summaries_at_lengths(documents: list[str], summaries: list[str], stats: HeadlineWordStats,
                              cfg: PretrainConfig | None = None) -> list[str]:
    """The rule cut, document by document, to as many words as ``summaries`` (a model's, one per document) has for
    that document (at least one word: an empty summary still gets the rule's first word). At headline lengths ROUGE
    F1 rises with every word (the rule on Gigaword test: 27.03 R-1 at 9 words, 27.86 at 10), so a model that writes
    shorter summaries than the 10-word rule is better than its teacher only if it beats these."""
    from seq2seq2seq.data import headline_rule

    return [headline_rule(document, stats, cfg, max(1, len(summary.split())))
            for document, summary in zip(documents, summaries, strict=True)]
