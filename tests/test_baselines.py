"""seq2seq2seq/eval/baselines.py: the headline-deletion rule as a summarizer, and the pairs the baselines are scored
on (the Lead baselines themselves are tested with ROUGE in tests/test_rouge.py)."""

from __future__ import annotations

import json
from pathlib import Path

from seq2seq2seq.config import PretrainConfig
from seq2seq2seq.data import HeadlineWordStats
from seq2seq2seq.eval.baselines import read_pairs, rule_summaries, rule_summaries_at_lengths


def test_the_rule_is_the_deterministic_pretraining_rule() -> None:
    stats = HeadlineWordStats(["police arrest man", "police find bomb"], ["the police said the man was arrested"])
    document = "the police said the man was arrested"
    out = rule_summaries([document], stats, PretrainConfig(headline_threshold=0.0), words=2)
    assert out == [" ".join([w for w in document.split() if stats.score(w) > 0.0][:2])] == ["police man"]


def test_the_rule_at_lengths_cuts_it_to_each_summarys_word_count() -> None:
    stats = HeadlineWordStats(["police arrest man in city", "police find bomb"], ["the police said the man was"])
    documents = ["the police said the man was arrested in the city", "police find a bomb in the city"]
    cfg = PretrainConfig(headline_threshold=0.0)
    kept = [[w for w in d.split() if stats.score(w) > 0.0] for d in documents]
    out = rule_summaries_at_lengths(documents, ["one two three", ""], stats, cfg)
    # three words for the first document; an empty summary still gets the rule's first word, never an empty line
    assert out == [" ".join(kept[0][:3]), kept[1][0]]
    assert len(out[0].split()) == 3


def test_read_pairs_gives_documents_and_summaries_in_file_order(tmp_path: Path) -> None:
    rows = [{"document": f"document {i}", "summary": f"summary {i}", "id": i} for i in range(5)]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert read_pairs(path) == ([f"document {i}" for i in range(5)], [f"summary {i}" for i in range(5)])
    assert read_pairs(path, limit=2) == (["document 0", "document 1"], ["summary 0", "summary 1"])
    assert read_pairs(str(path), limit=0) == read_pairs(path)  # 0 (a config's eval_size of 0): every row
