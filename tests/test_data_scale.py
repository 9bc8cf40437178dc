"""Corpora that do not fit in a Python list: streamed readers, the Arrow corpus, memory-mapped texts, stored word
counts, parallel normalisation, the tokenizer's sample, and the scale benchmark's input."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import TINY_CONFIG, assert_same_weights, run_tiny
from test_data_prep import files_args, make_document, make_title, manifest, run, write_lines

from data_prep import filtering
from data_prep.sources import iter_field
from data_prep.tokenizer import sample_lines, train_tokenizer
from seq2seq2seq import corpus_files as files
from seq2seq2seq.data import HeadlineWordStats, headline_word_stats, load_corpus
from seq2seq2seq.input_files import InputFileError, iter_lines, iter_numbered_records, read_lines, read_records
from seq2seq2seq.normalize import normalize

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("benchmark_data", ROOT / "scripts" / "benchmark_data.py")
benchmark_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchmark_data)


@pytest.fixture(scope="module")
def arrow_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus built by data_prep from files with duplicates, boilerplate, short texts and a sentence that is a
    document."""
    folder = tmp_path_factory.mktemp("arrow")
    documents = [make_document(i) for i in range(80)] + [make_document(3).upper(), "by . daily mail reporter .",
                                                           "Too short to keep."]
    sentences = [make_title(i) for i in range(50)] + [make_title(7), make_document(5), "two words"]
    docs, sents = write_lines(folder / "docs.txt", documents), write_lines(folder / "sents.txt", sentences)
    assert run(folder / "corpus", *files_args(docs, sents)) == 0
    return folder / "corpus"


def old_format_copy(corpus: Path, folder: Path) -> Path:
    """The corpus as data_prep wrote it before the Arrow format: documents.jsonl and sentences.jsonl, no word counts."""
    shutil.copytree(corpus, folder)
    for kind in files.KINDS:
        rows = [{"text": t, "source": "x"} for t in files.iter_texts(corpus, kind)]
        (folder / f"{kind}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        (folder / f"{kind}.arrow").unlink()
    (folder / files.WORD_COUNTS_FILE).unlink()
    return folder


# --- streamed readers --------------------------------------------------------------------------------------------


def test_streamed_readers_give_the_rows_of_the_list_readers_and_read_lazily(tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_bytes(b"one\r\ntwo\n\nthree\rfour\ncaf\xe9\n")  # invalid UTF-8 on line 6
    stream = iter_lines(lines)
    assert [next(stream) for _ in range(4)] == ["one", "two", "three", "four"]  # nothing read past what is used
    with pytest.raises(InputFileError, match="line 6: not valid UTF-8"):
        next(stream)

    rows = [{"body": make_document(i), "titles": [make_title(i), make_title(i + 1)]} for i in range(25)]
    jsonl = tmp_path / "news.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    parquet = tmp_path / "news.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet, row_group_size=7)  # several row groups
    for path in (jsonl, parquet):
        assert read_records(path, ["body"]) == [r for _, r in iter_numbered_records(path, ["body"])]
        assert [r["body"] for r in read_records(path, ["body"])] == [r["body"] for r in rows]
        assert list(iter_field(path, "titles")) == [tuple(r["titles"]) for r in rows]
    # a missing file, or a Parquet file without the column, stops when the reader is made, not when it is used
    with pytest.raises(InputFileError, match="no such file"):
        iter_lines(tmp_path / "nope.txt")
    with pytest.raises(InputFileError, match="no column 'text'"):
        iter_numbered_records(parquet, ["text"])


# --- the Arrow corpus --------------------------------------------------------------------------------------------


def test_data_prep_writes_what_the_rules_say_in_order(arrow_corpus: Path) -> None:
    """documents.arrow and sentences.arrow hold, in first-occurrence order, the texts the documented filters keep."""
    def expected(raw: list[str], low: int, high: int, taken: set[str] = frozenset()) -> list[str]:
        kept: dict[str, None] = {}
        for text in map(normalize, raw):
            if low <= len(text.split()) <= high and text not in taken:
                kept.setdefault(text)
        return list(kept)

    raw_docs = read_lines(arrow_corpus.parent / "docs.txt")
    raw_sents = read_lines(arrow_corpus.parent / "sents.txt")
    documents = expected(raw_docs, 10, 100)
    assert list(files.iter_texts(arrow_corpus, "documents")) == documents
    assert list(files.iter_texts(arrow_corpus, "sentences")) == expected(raw_sents, 3, 30, set(documents))
    m = manifest(arrow_corpus)
    assert m["format_version"] == 2 and m["counts"]["documents"] == 80 and m["counts"]["sentences"] == 50
    assert m["filters"]["documents"]["duplicate"] == 1 and m["filters"]["sentences"]["also_a_document"] == 1
    assert not any(name.endswith(".jsonl") or ".work" in name for name in m["files"])  # no JSONL, no work files
    table = files.open_table(files.table_file(arrow_corpus, "documents"))
    assert table.schema == files.TEXTS_SCHEMA and set(table.column("source").to_pylist()) == {
        str(arrow_corpus.parent / "docs.txt")}


def test_new_and_old_corpora_load_the_same_texts_and_word_statistics(arrow_corpus: Path, tmp_path: Path) -> None:
    new, old = load_corpus(arrow_corpus), load_corpus(old_format_copy(arrow_corpus, tmp_path / "old"))
    assert isinstance(new.documents, files.TextColumn) and isinstance(old.documents, list)
    assert list(new.documents) == old.documents and list(new.sentences) == old.sentences
    assert new.word_counts is not None and old.word_counts is None  # an old corpus counts when needed
    stored, counted = headline_word_stats(new), headline_word_stats(old)
    assert (stored.sentence_counts, stored.document_counts) == (counted.sentence_counts, counted.document_counts)
    assert counted.sentence_counts == HeadlineWordStats(old.sentences, old.documents).sentence_counts
    for word in ("the", "mayor", "#", "never-seen"):
        assert stored.score(word) == pytest.approx(counted.score(word))
    m = manifest(arrow_corpus)["counts"]
    assert m["document_words"] == sum(counted.document_counts.values())
    assert m["distinct_words"] == len(counted.document_counts.keys() | counted.sentence_counts.keys())


def test_extra_sentences_and_a_prefix_of_the_documents_keep_the_statistics_exact(arrow_corpus: Path) -> None:
    corpus = load_corpus(arrow_corpus)
    extra = ["the mayor rejected it", "a brand new headline"]
    corpus.add_sentences(extra)  # the semi-supervised mode's summaries
    assert len(corpus.sentences) == 52 and corpus.sentences[-2:] == extra and corpus.sentences[50] == extra[0]
    direct = HeadlineWordStats(list(corpus.sentences), list(corpus.documents))
    assert headline_word_stats(corpus).sentence_counts == direct.sentence_counts
    prefix = load_corpus(arrow_corpus, max_documents=7)
    assert len(prefix.documents) == 7 and prefix.word_counts is None  # counted over the 7, as before
    assert headline_word_stats(prefix).document_counts == HeadlineWordStats([], prefix.documents[:]).document_counts


def test_text_column_is_a_read_only_memory_mapped_sequence(tmp_path: Path) -> None:
    texts = [f"text number {i} " + "x" * 1000 for i in range(3000)]
    path = tmp_path / "documents.arrow"
    files.write_table(path, pa.table({"text": texts, "source": ["s"] * len(texts)}, schema=files.TEXTS_SCHEMA))
    before = pa.total_allocated_bytes()
    column = files.TextColumn.open(path)
    assert pa.total_allocated_bytes() - before < 100_000  # 3 MB of text, none of it copied into memory
    assert len(column) == 3000 and column[0] == texts[0] and column[2999] == column[-1] == texts[-1]
    assert column[10:13] == texts[10:13] and column[2990:5000] == texts[2990:] and column[::1000] == texts[::1000]
    assert column[5:2] == [] and list(column) == texts
    with pytest.raises(IndexError):
        column[3000]
    more = column + ["an extra sentence"]
    assert len(more) == 3001 and more[-1] == "an extra sentence" and more[2999:] == [texts[-1], "an extra sentence"]
    assert len(column) == 3000  # + makes a new sequence
    head = column.head(5)
    assert len(head) == 5 and list(head) == texts[:5]
    import datasets

    assert datasets.Dataset.from_file(str(path))[7]["text"] == texts[7]  # the format datasets stores its data in


# --- parallel normalisation and the tokenizer's sample --------------------------------------------------------


def test_two_processes_build_the_same_corpus_as_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filtering, "MIN_ROWS_PER_PROCESS", 10)  # small inputs use one process otherwise
    used, processes_for = [], filtering.processes_for
    monkeypatch.setattr(filtering, "processes_for", lambda rows, n: used.append(processes_for(rows, n)) or used[-1])
    documents = [make_document(i % 70) for i in range(90)] + ["by . daily mail reporter ."]
    docs, sents = write_lines(tmp_path / "d.txt", documents), write_lines(tmp_path / "s.txt", [make_title(i) for i in
                                                                                             range(40)])
    one, two = tmp_path / "one", tmp_path / "two"
    assert run(one, *files_args(docs, sents), "--num-proc", "1") == 0
    assert run(two, *files_args(docs, sents), "--num-proc", "2") == 0
    assert used == [1, 2]
    m1, m2 = manifest(one), manifest(two)
    assert m1["files"] == m2["files"] and m1["counts"] == m2["counts"] and m1["filters"] == m2["filters"]
    assert m1["filters"]["documents"]["duplicate"] == 20


SLOW_PARALLEL_DATA_PREP = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal, whatever the test runner ignores
from data_prep import filtering
from data_prep.__main__ import main
filtering.MIN_ROWS_PER_PROCESS = 10
normalize_batch = filtering.normalize_batch
def slow(batch, **kwargs):
    time.sleep(5)  # the workers are busy when Ctrl-C comes
    return normalize_batch(batch, **kwargs)
filtering.normalize_batch = slow
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_while_workers_normalise_prints_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    import signal
    import time

    import psutil

    docs = write_lines(tmp_path / "d.txt", [make_document(i) for i in range(200)])
    sents = write_lines(tmp_path / "s.txt", [make_title(i) for i in range(40)])
    out = tmp_path / "corpus"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_PARALLEL_DATA_PREP, "--out", str(out), *map(str, files_args(docs, sents)),
         "--num-proc", "2"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)  # its own process group, as a terminal's job
    deadline = time.monotonic() + 60
    while len(psutil.Process(proc.pid).children(recursive=True)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: every process of the group gets it
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    assert err.strip().splitlines() == [f"interrupted; nothing written to {out}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.txt", "s.txt"]
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):  # no worker left behind
        os.killpg(proc.pid, 0)


def test_the_tokenizer_sample_is_bounded_and_the_same_streamed_or_listed(tmp_path: Path) -> None:
    lines = [f"{make_document(i)} {make_title(i)}" for i in range(400)]
    sample = list(sample_lines(iter(lines), len(lines), 150, seed=3))
    picked = sorted(random.Random(3).sample(range(400), 150))  # the draw the list path has always made
    assert sample == [lines[i] for i in picked]
    assert list(sample_lines(lines, len(lines), 1000, seed=3)) == lines  # a corpus within the bound: every line
    consumed = []

    def stream():
        for line in lines:
            consumed.append(line)
            yield line

    listed = train_tokenizer(lines, tmp_path / "listed", vocab_size=200, seed=3, max_lines=150)
    streamed = train_tokenizer(stream(), tmp_path / "streamed", vocab_size=200, seed=3, max_lines=150, total=400)
    assert (listed / "spiece.model").read_bytes() == (streamed / "spiece.model").read_bytes()
    assert len(consumed) == picked[-1] + 1  # read up to the last sampled line, never collected


# --- training reads the Arrow corpus as it read the JSONL one -----------------------------------------------------


def arrow_copy(corpus: Path, folder: Path) -> Path:
    """A JSONL corpus (the tests' hand-written tiny corpus) in the Arrow format, as data_prep writes it now."""
    shutil.copytree(corpus, folder)
    counts = {}
    for kind in files.KINDS:
        texts = [json.loads(line)["text"] for line in (folder / f"{kind}.jsonl").open(encoding="utf-8")]
        files.write_table(files.table_file(folder, kind), pa.table({"text": texts, "source": ["t"] * len(texts)},
                                                                   schema=files.TEXTS_SCHEMA))
        (folder / f"{kind}.jsonl").unlink()
        counts[kind] = files.count_words(texts)
    files.write_word_counts(folder / files.WORD_COUNTS_FILE, counts["documents"], counts["sentences"])
    return folder


HEADLINE = ["--pretrain.task", "headline", "--adversarial.pretrain_weight", "0.5"]  # the word statistics in use


def test_training_on_the_arrow_corpus_matches_training_on_its_jsonl_copy(tiny_corpus: Path, tmp_path: Path) -> None:
    """Same texts, same batches: the tiny run on an Arrow copy of the tiny corpus ends with the same weights."""
    arrow = arrow_copy(tiny_corpus, tmp_path / "arrow")
    assert isinstance(load_corpus(arrow).documents, files.TextColumn)
    assert run_tiny(tiny_corpus, tmp_path / "jsonl_run", *HEADLINE) == 0
    assert run_tiny(arrow, tmp_path / "arrow_run", *HEADLINE) == 0
    assert_same_weights(tmp_path / "jsonl_run", tmp_path / "arrow_run")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun not installed")
def test_two_processes_on_the_memory_mapped_corpus_match_one(tiny_corpus: Path, tmp_path: Path) -> None:
    """tests/test_train.py's 2-process = 1-process check, on the Arrow corpus that both processes memory-map."""
    arrow = arrow_copy(tiny_corpus, tmp_path / "arrow")
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_tiny(arrow, one, "--gradient_accumulation_steps", "2", "--num_threads", "1", *HEADLINE) == 0
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    proc = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "--master_port", "29534", "-m", "seq2seq2seq.train", "--config",
         str(TINY_CONFIG), "--data_dir", str(arrow), "--output_dir", str(two), "--gradient_accumulation_steps", "1",
         "--num_threads", "1", *HEADLINE],
        cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((two / "final" / "results.json").read_text())["world_size"] == 2
    assert_same_weights(one, two)


# --- the benchmark's input -------------------------------------------------------------------------------------


def test_benchmark_input_rows_stay_distinct_after_normalisation(arrow_corpus: Path, tmp_path: Path) -> None:
    words = [benchmark_data.row_word(n) for n in range(30_000)]
    assert len(set(words)) == len(words) and all(normalize(w) == w and w.isalpha() for w in words[::997])
    docs, sents = benchmark_data.write_scaled_input(arrow_corpus, 500, 40, tmp_path)
    rows = docs.read_text(encoding="utf-8").splitlines() + sents.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 540 and len({normalize(r) for r in rows}) == 540
    table = benchmark_data.table([{"corpus": "c", "documents": 5, "sentences": 1, "seconds": 1.0, "peak_rss_mib": 9,
                                   "peak_rss_sum_mib": 12, "startup_seconds": 2.0, "startup_VmRSS_mib": 300,
                                   "startup_RssAnon_mib": 200, "startup_RssFile_mib": 100}])
    assert "| c | 5 | 1 | 1.0 | 9 / 12 | 2.0 | 300 (200 + 100) |" in table


def test_stored_counts_look_words_up_without_loading_the_vocabulary(tmp_path) -> None:
    from collections import Counter

    from seq2seq2seq import corpus_files as cf

    documents = Counter({"the": 5, "bridge": 2, "zebra": 1, "ábc": 3})
    sentences = Counter({"bridge": 1, "mayor": 4})
    cf.write_word_counts(tmp_path / "wc.arrow", documents, sentences)
    stored_sentences, stored_documents = cf.read_word_counts(tmp_path / "wc.arrow")
    for word in ["the", "bridge", "zebra", "ábc", "mayor", "absent", "", "zzzz"]:
        assert stored_documents[word] == documents[word] and stored_sentences[word] == sentences[word]
    assert stored_documents.total() == 11 and stored_sentences.total() == 5
    more = stored_sentences + Counter({"mayor": 1, "new": 2})
    assert more["mayor"] == 5 and more["new"] == 2 and more.total() == 8 and stored_sentences["new"] == 0
    assert more == sentences + Counter({"mayor": 1, "new": 2})
