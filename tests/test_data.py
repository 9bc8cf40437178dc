"""Deterministic batch order and the three pseudo-summary tasks."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from seq2seq2seq.config import PretrainConfig
from seq2seq2seq.data import BatchStream, CorpusError, pseudo_summary

# --------------------------------------------------------------------------------------------------------------------
# BatchStream


def epoch_batches(stream: BatchStream, epoch: int) -> list[list[int]]:
    return [stream.indices(epoch * stream.per_epoch + j) for j in range(stream.per_epoch)]


def test_batch_stream_is_deterministic_for_a_seed():
    a, b = BatchStream(10, 3, seed=7), BatchStream(10, 3, seed=7)
    assert [a.indices(g) for g in range(9)] == [b.indices(g) for g in range(9)]
    other = BatchStream(10, 3, seed=8)
    assert [a.indices(g) for g in range(3)] != [other.indices(g) for g in range(3)]


def test_batch_stream_is_random_access():
    # batch g is a pure function of (seed, g): reading out of order, or going back an epoch, changes nothing
    fresh = [BatchStream(10, 3, seed=7).indices(g) for g in range(9)]
    stream = BatchStream(10, 3, seed=7)
    for g in (8, 0, 4, 1, 7, 2, 3, 6, 5):
        assert stream.indices(g) == fresh[g], g


def test_batches_within_an_epoch_are_disjoint_and_cover_all_full_batches():
    size, batch_size = 10, 3
    stream = BatchStream(size, batch_size, seed=7)
    # 10 // 3 = 3 batches per epoch, 9 items; the last partial batch (1 item) is dropped
    assert stream.per_epoch == 3
    for epoch in range(3):
        batches = epoch_batches(stream, epoch)
        assert all(len(batch) == batch_size for batch in batches)
        seen = [i for batch in batches for i in batch]
        assert len(seen) == len(set(seen)) == size // batch_size * batch_size
        assert set(seen) <= set(range(size))


def test_exact_multiple_covers_every_item():
    stream = BatchStream(12, 4, seed=0)
    assert sorted(i for batch in epoch_batches(stream, 0) for i in batch) == list(range(12))


def test_a_new_epoch_reshuffles():
    stream = BatchStream(10, 3, seed=7)
    first, second = epoch_batches(stream, 0), epoch_batches(stream, 1)
    assert first != second
    # with 10 items, 1 is dropped per epoch; over several epochs every item gets its turn
    covered = {i for epoch in range(6) for batch in epoch_batches(stream, epoch) for i in batch}
    assert covered == set(range(10))


def test_batch_stream_rejects_too_few_items():
    with pytest.raises(CorpusError, match="batch size"):
        BatchStream(2, 3, seed=0)


# --------------------------------------------------------------------------------------------------------------------
# pseudo_summary

DOCUMENT = " ".join(f"w{i}" for i in range(30))  # distinct words, so each word's position is recoverable
WORDS = DOCUMENT.split()


def is_ordered_subsequence(part: list[str], whole: list[str]) -> bool:
    it = iter(whole)
    return all(word in it for word in part)


def is_contiguous_run(part: list[str], whole: list[str]) -> bool:
    return any(whole[i:i + len(part)] == part for i in range(len(whole) - len(part) + 1))


@pytest.mark.parametrize("seed", range(20))
def test_deletion_keeps_an_ordered_subset_of_the_unperturbed_source(seed):
    cfg = PretrainConfig(task="deletion", summary_words_min=4, summary_words_max=7, deletion_window=2.0)
    source, target = pseudo_summary(DOCUMENT, cfg, random.Random(seed))
    words = target.split()
    assert source == DOCUMENT
    assert 4 <= len(words) <= 7
    assert is_ordered_subsequence(words, WORDS)
    # kept words come from the first round(2 * length) words of the document
    assert max(WORDS.index(w) for w in words) < round(2.0 * len(words))


def test_deletion_with_window_one_is_the_lead():
    # a window of 1 * length leaves no choice: all of the first `length` words, in order
    cfg = PretrainConfig(task="deletion", summary_words_min=5, summary_words_max=5, deletion_window=1.0)
    assert pseudo_summary(DOCUMENT, cfg, random.Random(0)) == (DOCUMENT, "w0 w1 w2 w3 w4")


def test_deletion_handles_repeated_words():
    document = "the cat saw the dog and the cat ran to the dog"
    cfg = PretrainConfig(task="deletion", summary_words_min=3, summary_words_max=6)
    for seed in range(10):
        source, target = pseudo_summary(document, cfg, random.Random(seed))
        assert source == document and is_ordered_subsequence(target.split(), document.split())


@pytest.mark.parametrize("seed", range(20))
def test_swap_target_is_a_run_of_the_original_and_source_a_permutation(seed):
    cfg = PretrainConfig(task="swap", summary_words_min=4, summary_words_max=7, swap_ratio=0.7)
    source, target = pseudo_summary(DOCUMENT, cfg, random.Random(seed))
    assert 4 <= len(target.split()) <= 7
    assert is_contiguous_run(target.split(), WORDS)
    assert Counter(source.split()) == Counter(WORDS)  # same multiset of words: moved, none lost or invented


def test_swap_actually_moves_words():
    cfg = PretrainConfig(task="swap", swap_ratio=0.7)
    sources = [pseudo_summary(DOCUMENT, cfg, random.Random(seed))[0] for seed in range(5)]
    # ~70% of 30 words take part in a shuffle: the source is (essentially always) reordered
    assert all(source != DOCUMENT for source in sources)
    moved = sum(a != b for a, b in zip(sources[0].split(), WORDS))
    assert moved >= 5


def test_swap_ratio_zero_leaves_the_source_unchanged():
    cfg = PretrainConfig(task="swap", swap_ratio=0.0, summary_words_min=4, summary_words_max=7)
    source, target = pseudo_summary(DOCUMENT, cfg, random.Random(3))
    assert source == DOCUMENT and is_contiguous_run(target.split(), WORDS)


def test_swap_keeps_the_multiset_with_repeated_words():
    document = "a a b b b c d d e"
    cfg = PretrainConfig(task="swap", summary_words_min=2, summary_words_max=4, swap_ratio=1.0)
    for seed in range(10):
        source, target = pseudo_summary(document, cfg, random.Random(seed))
        assert Counter(source.split()) == Counter(document.split())
        assert is_contiguous_run(target.split(), document.split())


@pytest.mark.parametrize("seed", range(5))
def test_lead_is_the_first_words(seed):
    cfg = PretrainConfig(task="lead", summary_words_min=4, summary_words_max=7)
    source, target = pseudo_summary(DOCUMENT, cfg, random.Random(seed))
    n = len(target.split())
    assert source == DOCUMENT
    assert 4 <= n <= 7
    assert target.split() == WORDS[:n]


@pytest.mark.parametrize("task", ["deletion", "swap", "lead"])
def test_short_document_gives_the_whole_document(task):
    # fewer words than summary_words_min: the summary is as long as the document allows
    cfg = PretrainConfig(task=task, summary_words_min=6, summary_words_max=11, swap_ratio=0.0)
    source, target = pseudo_summary("one two three", cfg, random.Random(0))
    assert (source, target) == ("one two three", "one two three")


@pytest.mark.parametrize("task", ["deletion", "swap", "lead"])
def test_pseudo_summary_is_deterministic_for_a_seed(task):
    cfg = PretrainConfig(task=task, summary_words_min=4, summary_words_max=9)
    pairs = [pseudo_summary(DOCUMENT, cfg, random.Random(11)) for _ in range(2)]
    assert pairs[0] == pairs[1]
    # and a stream of pairs from one generator repeats too
    streams = []
    for _ in range(2):
        rng = random.Random(5)
        streams.append([pseudo_summary(DOCUMENT, cfg, rng) for _ in range(5)])
    assert streams[0] == streams[1]
    # different seeds give different pairs (the lead differs only in length, so look across several seeds)
    assert len({pseudo_summary(DOCUMENT, cfg, random.Random(s)) for s in range(10)}) > 1


def word_stats():
    from seq2seq2seq.data import HeadlineWordStats

    sentences = ["police arrest man in london", "oil prices rise", "police find bomb"]
    documents = ["the police said on monday that the man was arrested in london",
                 "the price of oil rose , the ministry said", "a bomb was found by the police"]
    return HeadlineWordStats(sentences, documents)


def test_headline_word_stats_by_hand():
    stats = word_stats()
    # "police": 2 of 11 headline words, 2 of 28 document words; add-one smoothing on counts and totals
    assert stats.score("police") == pytest.approx(math.log((3 / 12) / (3 / 29)))
    assert stats.score("the") < stats.score("said") < stats.score("london") == stats.score("police")


def test_headline_deletion_drops_words_headlines_leave_out_and_keeps_order():
    from seq2seq2seq.data import headline_deletion

    stats = word_stats()
    cfg = PretrainConfig(task="headline", headline_threshold=0.0, headline_temperature=1e-3)
    document = "the police said on monday that the man was arrested in london"
    out = headline_deletion(document, 4, cfg, stats, random.Random(0))
    assert out.split() == [w for w in document.split() if stats.score(w) > 0.0][:4]
    assert "the" not in out.split() and len(out.split()) == 4
    # nothing survives: fall back to the first words rather than an empty target
    strict = PretrainConfig(task="headline", headline_threshold=50.0, headline_temperature=1e-3)
    assert headline_deletion(document, 3, strict, stats, random.Random(0)) == "the police said"
    with pytest.raises(ValueError, match="HeadlineWordStats"):
        pseudo_summary(document, cfg, random.Random(0))


def test_headline_rule_keeps_the_first_words_that_headlines_keep() -> None:
    from seq2seq2seq.config import PretrainConfig
    from seq2seq2seq.data import HeadlineWordStats, headline_rule

    stats = HeadlineWordStats(["police arrest man", "police find bomb"], ["the police said the man was arrested"])
    document = "the police said the man was arrested"
    # 'police' and 'man' are in headlines more than in documents; 'the', 'said', 'was', 'arrested' less
    assert headline_rule(document, stats, PretrainConfig(headline_threshold=0.0), words=2) == "police man"
    assert headline_rule(document, stats, PretrainConfig(headline_threshold=0.0), words=1) == "police"
    # no word above the threshold: the document's first words
    assert headline_rule(document, stats, PretrainConfig(headline_threshold=99.0), words=3) == "the police said"


def test_headline_rule_samples_vary_around_the_rule_and_repeat() -> None:
    from seq2seq2seq.config import PretrainConfig
    from seq2seq2seq.data import HeadlineWordStats, headline_rule, headline_rule_samples

    stats = HeadlineWordStats(["police arrest man", "police find bomb"], ["the police said the man was arrested"])
    document = "the police said the man was arrested"
    cfg = PretrainConfig(headline_threshold=0.0)
    samples = headline_rule_samples(document, stats, 20, temperature=1.0, cfg=cfg, words=3)
    assert len(samples) == 20 and all(1 <= len(s.split()) <= 3 for s in samples)
    # every variant keeps the document's word order
    for s in samples:  # a subsequence of the document's words
        rest = iter(document.split())
        assert all(word in rest for word in s.split()), s
    assert len(set(samples)) > 1  # words near the threshold come and go
    # repeatable, and independent of the other documents: a function of (seed, document)
    assert samples == headline_rule_samples(document, stats, 20, temperature=1.0, cfg=cfg, words=3)
    assert samples != headline_rule_samples(document, stats, 20, temperature=1.0, cfg=cfg, words=3, seed=1)
    # a near-zero temperature is the rule itself
    sharp = headline_rule_samples(document, stats, 3, temperature=1e-6, cfg=cfg, words=2)
    assert sharp == [headline_rule(document, stats, cfg, words=2)] * 3


# --------------------------------------------------------------------------------------------------------------------
# corpus loading errors


def test_a_missing_corpus_file_is_named_and_the_hint_rebuilds_that_corpus(tmp_path) -> None:
    """The error names the file that is gone, and its command (the manifest's own, with --overwrite) works."""
    import shlex

    from test_data_prep import files_args, make_document, make_title, write_lines

    from data_prep.__main__ import main as data_prep
    from seq2seq2seq.data import load_corpus

    docs = write_lines(tmp_path / "docs.txt", [make_document(i) for i in range(60)])
    sents = write_lines(tmp_path / "sents.txt", [make_title(i) for i in range(40)])
    out = tmp_path / "corpus"
    recipe = [*map(str, files_args(docs, sents)), "--language", "whitespace", "--vocab-size", "300"]
    assert data_prep(["--out", str(tmp_path / "elsewhere"), *recipe]) == 0
    (tmp_path / "elsewhere").rename(out)  # a moved corpus: the hint's --out is where it is now
    (out / "documents.arrow").unlink()
    with pytest.raises(CorpusError) as err:
        load_corpus(out)
    message = str(err.value)
    assert message.startswith(f"{out / 'documents.arrow'} is missing; rebuild the corpus with `")
    assert "documents.jsonl" not in message
    command = shlex.split(message.split("`")[1])
    assert command[:5] == ["python", "-m", "data_prep", "--out", str(out)] and command[-1] == "--overwrite"
    assert "--language" in command and "elsewhere" not in message  # its own recipe, not the default one
    assert data_prep(command[3:]) == 0  # following the hint works
    assert len(load_corpus(out).documents) == 60 and load_corpus(out).language == "whitespace"
    (out / "dev.jsonl").write_text("not json\n", encoding="utf-8")  # the older readers' errors give it too
    with pytest.raises(CorpusError, match=r"dev.jsonl line 1 .* --overwrite`$"):
        load_corpus(out)
