"""data_prep on small files written to tmp_path: recipe, disjointness, leakage, determinism, bad input, tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep import build_default_corpus, is_corpus_dir
from data_prep.__main__ import main
from seq2seq2seq.corpus_files import iter_texts
from seq2seq2seq.normalize import normalize

SUBJECTS = ["the mayor", "a local farmer", "the national bank", "two young climbers", "the city council",
            "a famous singer", "the football club", "three fishermen", "the health ministry", "an old professor"]
VERBS = ["announced", "rejected", "celebrated", "questioned", "delayed", "approved", "criticised", "welcomed"]
OBJECTS = ["a new plan for the harbour", "the budget for next year", "plans to build a bridge",
           "the results of the election", "a report on river pollution", "the price of bread"]
PLACES = ["in Paris", "near Lyon", "in the northern hills", "at a press conference", "in a village", "downtown"]


def make_document(i: int) -> str:
    """A distinct, raw (not yet normalised) news-like sentence of 14+ words."""
    return (
        f"{SUBJECTS[i % 10].capitalize()} {VERBS[i % 8]} {OBJECTS[i % 6]} {PLACES[i % 5]} on day {i}, "
        f"officials said (in {1990 + i})."
    )


def make_title(i: int) -> str:
    return f"{SUBJECTS[(i + 3) % 10]} {VERBS[(i + 1) % 8]} {OBJECTS[(i + 2) % 6]} number {i}"


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    return write_lines(path, [json.dumps(r) for r in rows])


def read_texts(corpus: Path, kind: str) -> list[str]:
    """The texts of a corpus's documents or sentences, in order."""
    return list(iter_texts(corpus, kind))


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def text_files(tmp_path: Path) -> tuple[Path, Path]:
    docs = write_lines(tmp_path / "docs.txt", [make_document(i) for i in range(60)])
    sents = write_lines(tmp_path / "sents.txt", [make_title(i) for i in range(40)])
    return docs, sents


def run(out: Path, *args: str | Path) -> int:
    return main(["--out", str(out), "--vocab-size", "300", *map(str, args)])


def files_args(docs: Path, sents: Path) -> list[str | Path]:
    return ["--source", "none", "--documents-file", docs, "--sentences-file", sents]


def test_builds_corpus_from_text_files(tmp_path: Path, text_files: tuple[Path, Path]) -> None:
    out = tmp_path / "corpus"
    assert run(out, *files_args(*text_files)) == 0
    m = manifest(out)
    docs, sents = read_texts(out, "documents"), read_texts(out, "sentences")
    assert (m["counts"]["documents"], m["counts"]["sentences"]) == (60, 40) == (len(docs), len(sents))
    assert docs[0] == normalize(make_document(0)) and "#" in docs[0] and docs[0] == docs[0].lower()
    assert m["files"]["documents.arrow"]["rows"] == 60 and m["files"]["word_counts.arrow"]["rows"] > 10
    assert {"tokenizer/spiece.model", "tokenizer/tokenizer.json", "tokenizer/tokenizer_config.json"} <= set(m["files"])
    assert m["normalizer"]["name"] == "seq2seq2seq.normalize" and m["normalizer"]["version"]
    assert m["sources"][str(text_files[0])] == {"set": "documents", "read": 60, "kept": 60}
    assert not (out / "dev.jsonl").exists()  # no built-in recipe, no dev slice


def test_fields_of_jsonl_and_parquet_files(tmp_path: Path) -> None:
    jsonl = write_jsonl(tmp_path / "news.jsonl", [{"body": make_document(i), "id": i} for i in range(30)])
    table = pa.table({"titles": [[make_title(i), make_title(i + 100)] for i in range(20)]})
    pq.write_table(table, tmp_path / "titles.parquet")
    out = tmp_path / "corpus"
    titles = f"{tmp_path / 'titles.parquet'}:titles"
    assert run(out, "--source", "none", "--documents-field", f"{jsonl}:body", "--sentences-field", titles) == 0
    m = manifest(out)
    assert (m["counts"]["documents"], m["counts"]["sentences"]) == (30, 40)  # a list field gives one text per item


def test_filters_duplicates_lengths_and_overlap_between_sets(tmp_path: Path) -> None:
    documents = [make_document(i) for i in range(20)]
    documents += [make_document(3).upper(), "by . daily mail reporter .", "Too short to keep.", ""]
    sentences = [make_title(i) for i in range(10)] + [make_document(5), "two words"]
    out = tmp_path / "corpus"
    docs_file, sents_file = write_lines(tmp_path / "d.txt", documents), write_lines(tmp_path / "s.txt", sentences)
    assert run(out, *files_args(docs_file, sents_file), "--max-sentence-words", "40") == 0
    f = manifest(out)["filters"]
    assert f["documents"]["duplicate"] == 1  # the upper-case copy normalises to a kept document
    assert f["documents"]["empty_or_boilerplate"] == 1 and f["documents"]["too_short"] == 1
    assert f["sentences"]["too_short"] == 1 and f["sentences"]["also_a_document"] == 1
    docs, sents = set(read_texts(out, "documents")), set(read_texts(out, "sentences"))
    assert len(docs) == 20 and len(sents) == 10 and not docs & sents


def test_evaluation_text_is_kept_out(tmp_path: Path, text_files: tuple[Path, Path]) -> None:
    # The evaluation file holds a document and a title in a different raw form: they must still match.
    evaluation = write_jsonl(
        tmp_path / "eval.jsonl",
        [
            {"document": normalize(make_document(7)), "summary": make_title(4).upper()},
            {"document": "x y z", "summary": "w"},
        ],
    )
    out = tmp_path / "corpus"
    assert run(out, *files_args(*text_files), "--exclude", evaluation) == 0
    m = manifest(out)
    assert m["filters"]["documents"]["evaluation_overlap"] == 1
    assert m["filters"]["sentences"]["evaluation_overlap"] == 1
    assert normalize(make_document(7)) not in read_texts(out, "documents")
    assert normalize(make_title(4)) not in read_texts(out, "sentences")


def test_keep_out_text_leaves_the_corpus_but_is_not_held_out(tmp_path: Path, text_files: tuple[Path, Path]) -> None:
    """--keep-out: the pairs of the semi-supervised mode leave the unpaired corpus, and the mode may still use them
    (it refuses held-out text only)."""
    from seq2seq2seq.normalize import text_digest
    from seq2seq2seq.supervised import held_out_digests

    pairs = write_jsonl(tmp_path / "pairs.jsonl", [{"document": make_document(7), "summary": make_title(4)}])
    out = tmp_path / "corpus"
    assert run(out, *files_args(*text_files), "--keep-out", pairs) == 0
    m = manifest(out)
    assert m["filters"]["documents"]["evaluation_overlap"] == 1 and m["filters"]["sentences"]["evaluation_overlap"] == 1
    assert normalize(make_document(7)) not in read_texts(out, "documents")
    assert normalize(make_title(4)) not in read_texts(out, "sentences")
    assert m["counts"]["kept_out_texts"] == 2 and m["recipe"]["keep_out"] == [str(pairs)]
    assert {text_digest(normalize(make_document(7))), text_digest(normalize(make_title(4)))}.isdisjoint(
        held_out_digests(out) or set())
    assert any(i["name"] == f"keep-out:{pairs}" for i in m["inputs"])


def test_same_inputs_give_the_same_files(tmp_path: Path, text_files: tuple[Path, Path]) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(a, *files_args(*text_files)) == 0
    assert run(b, *files_args(*text_files)) == 0
    assert manifest(a)["files"] == manifest(b)["files"]
    for name in ("documents.arrow", "sentences.arrow", "word_counts.arrow", "tokenizer/spiece.model",
                 "tokenizer/tokenizer.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_tokenizer_round_trip(tmp_path: Path, text_files: tuple[Path, Path]) -> None:
    from transformers import AutoTokenizer

    out = tmp_path / "corpus"
    assert run(out, *files_args(*text_files)) == 0
    tok = AutoTokenizer.from_pretrained(str(out / "tokenizer"))
    assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.bos_token_id) == (0, 1, 2, 3)
    assert (tok.pad_token, tok.eos_token, tok.unk_token, tok.bos_token) == ("<pad>", "</s>", "<unk>", "<s>")
    assert len(tok) <= 300 and (out / "tokenizer" / "spiece.model").is_file()
    texts = read_texts(out, "documents") + read_texts(out, "sentences")
    for text in texts:
        ids = tok(text).input_ids
        assert ids[-1] == tok.eos_token_id and tok.unk_token_id not in ids
        assert tok.decode(ids, skip_special_tokens=True) == text


# --- the default recipe on a miniature copy of the shared data ---------------------------------------------------


@pytest.fixture
def fake_shared(tmp_path: Path) -> Path:
    """gigaword/{test,valid,train10k}.jsonl and cnndm/{train,validation}.parquet with a few rows each."""
    root = tmp_path / "shared"
    (root / "gigaword").mkdir(parents=True)
    (root / "cnndm").mkdir()
    pair = lambda i: {"document": normalize(make_document(i)), "summary": normalize(make_title(i))}  # noqa: E731
    train = [pair(i) for i in range(10)]
    train[3] = {**pair(2), "summary": normalize(make_title(33))}  # a repeated story under another title
    write_jsonl(root / "gigaword" / "train10k.jsonl", train)
    write_jsonl(root / "gigaword" / "valid.jsonl", [pair(i) for i in range(100, 112)])
    write_jsonl(root / "gigaword" / "test.jsonl", [pair(0), {"document": "unrelated text", "summary": pair(5)["summary"]}])
    leads = ["by . daily mail reporter .", "london , england -lrb- cnn -rrb- -- " + normalize(make_document(200))]
    leads += [normalize(make_document(i)) for i in range(201, 206)] + [normalize(make_document(201))]
    highlights = [[normalize(make_title(300 + i))] for i in range(len(leads))]
    pq.write_table(pa.table({"lead": leads, "highlights": highlights, "article_chars": [99] * len(leads)}),
                   root / "cnndm" / "train.parquet")
    pq.write_table(pa.table({"lead": [normalize(make_document(210))], "highlights": [["one more highlight ."]],
                             "article_chars": [5]}), root / "cnndm" / "validation.parquet")
    return root


def test_default_recipe_keeps_rows_apart(tmp_path: Path, fake_shared: Path) -> None:
    out = tmp_path / "corpus"
    assert run(out, "--shared-data", fake_shared, "--dev-size", "4") == 0
    m = manifest(out)
    docs, sents = read_texts(out, "documents"), read_texts(out, "sentences")
    train = [json.loads(x) for x in (fake_shared / "gigaword" / "train10k.jsonl").read_text().splitlines()]
    valid = [json.loads(x) for x in (fake_shared / "gigaword" / "valid.jsonl").read_text().splitlines()]
    # dev slice: the first 4 valid rows, verbatim; none of them in training
    dev = [json.loads(x) for x in (out / "dev.jsonl").read_text().splitlines()]
    assert dev == valid[:4]
    assert not {t for r in dev for t in r.values()} & (set(docs) | set(sents))
    # even rows give documents, odd rows titles; no row gives both
    for i, row in enumerate(train + valid[4:]):
        assert not (row["document"] in docs and row["summary"] in sents), i
    assert valid[4]["document"] in docs and valid[5]["summary"] in sents
    # test-set texts never enter training: train row 0's document and row 5's title are in the test set
    assert train[0]["document"] not in docs and train[5]["summary"] not in sents
    # row 3 repeats row 2's article: its title would pair a training document with its summary
    assert train[3]["summary"] not in sents
    assert m["filters"]["sentences"]["pair_of_a_document"] == 1
    assert m["filters"]["documents"]["evaluation_overlap"] == 1 and m["filters"]["sentences"]["evaluation_overlap"] == 1
    # CNN/DailyMail: byline dropped, dateline stripped, duplicate removed
    assert normalize(make_document(200)) in docs
    assert m["sources"]["cnndm/train:lead"] == {"set": "documents", "read": 8, "kept": 6}
    assert m["counts"] == {**m["counts"], "documents": len(docs), "sentences": len(sents), "dev": 4}
    assert {i["name"] for i in m["inputs"]} >= {"test", "valid", "train10k", "cnndm/train", "cnndm/validation"}


def test_held_out_digests_and_gigaword_train_rows(tmp_path: Path, fake_shared: Path) -> None:
    """The corpus records its held-out texts as digests; --gigaword-train-rows 0 keeps train10k out entirely."""
    from seq2seq2seq.normalize import text_digest

    out = tmp_path / "corpus"
    assert run(out, "--shared-data", fake_shared, "--dev-size", "4", "--gigaword-train-rows", "0") == 0
    digests = set((out / "held_out.sha256").read_text().split())
    test = [json.loads(x) for x in (fake_shared / "gigaword" / "test.jsonl").read_text().splitlines()]
    valid = [json.loads(x) for x in (fake_shared / "gigaword" / "valid.jsonl").read_text().splitlines()]
    for text in [t for r in test + valid[:4] for t in r.values()]:
        assert text_digest(normalize(text)) in digests
    assert text_digest(normalize(valid[4]["document"])) not in digests  # a training document is not held out
    assert len(digests) == manifest(out)["counts"]["held_out_texts"]
    assert "held_out.sha256" in manifest(out)["files"]
    docs, sents = set(read_texts(out, "documents")), set(read_texts(out, "sentences"))
    train = [json.loads(x) for x in (fake_shared / "gigaword" / "train10k.jsonl").read_text().splitlines()]
    assert not {t for r in train for t in r.values()} & (docs | sents)
    assert manifest(out)["sources"]["gigaword/train10k:document:even"]["read"] == 0
    assert manifest(out)["recipe"]["gigaword_train_rows"] == 0
    assert run(tmp_path / "bad", "--shared-data", fake_shared, "--gigaword-train-rows", "-1") == 2


def test_with_cnndm_highlights_splits_cnndm_rows(tmp_path: Path, fake_shared: Path) -> None:
    out = tmp_path / "corpus"
    assert run(out, "--shared-data", fake_shared, "--dev-size", "4", "--with-cnndm-highlights") == 0
    docs, sents = set(read_texts(out, "documents")), set(read_texts(out, "sentences"))
    table = pq.read_table(fake_shared / "cnndm" / "train.parquet").to_pylist()
    for row in table:
        assert not (normalize(row["lead"]) in docs and normalize(row["highlights"][0]) in sents)
    assert normalize(table[3]["highlights"][0]) in sents and normalize(table[2]["lead"]) in docs


def test_build_default_corpus_builds_once(tmp_path: Path, fake_shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQ2SEQ2SEQ_DATA", str(fake_shared))
    out = build_default_corpus(tmp_path / "runs" / "corpus")
    assert is_corpus_dir(out) and (out / "dev.jsonl").is_file()
    stamp = (out / "manifest.json").stat().st_mtime_ns
    assert build_default_corpus(out) == out and (out / "manifest.json").stat().st_mtime_ns == stamp


# --- bad input: exit code 2, one clear message, nothing left behind ---------------------------------------------


def assert_failed_cleanly(capsys: pytest.CaptureFixture[str], rc: int, out: Path, *needles: str) -> None:
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    assert not out.exists()
    leftovers = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")] if out.parent.exists() else []
    assert not leftovers


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path]) -> None:
    out = tmp_path / "new" / "corpus"
    rc = run(out, *files_args(text_files[0], tmp_path / "nope.txt"))
    assert_failed_cleanly(capsys, rc, out, "nope.txt", "no such file")
    assert not (tmp_path / "new").exists()  # the parent folder made for the output is removed too


def test_unreadable_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path]) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not really parquet")
    out = tmp_path / "corpus"
    rc = run(out, "--source", "none", "--documents-field", f"{bad}:text", "--sentences-file", text_files[1])
    assert_failed_cleanly(capsys, rc, out, "bad.parquet", "Parquet")


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_missing_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path], kind: str
) -> None:
    path = tmp_path / f"news.{kind}"
    if kind == "jsonl":
        write_jsonl(path, [{"body": make_document(0)}])
    else:
        pq.write_table(pa.table({"body": [make_document(0)]}), path)
    out = tmp_path / "corpus"
    rc = run(out, "--source", "none", "--documents-field", f"{path}:text", "--sentences-file", text_files[1])
    assert_failed_cleanly(capsys, rc, out, f"news.{kind}", "'text'", "body")


def test_invalid_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path]) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(make_document(1).encode() + b"\n" + make_document(2).encode() + b"\ncaf\xe9 au lait\n")
    out = tmp_path / "corpus"
    rc = run(out, *files_args(bad, text_files[1]))
    assert_failed_cleanly(capsys, rc, out, "latin1.txt", "line 3", "UTF-8")


def test_empty_result_after_filtering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = write_lines(tmp_path / "short.txt", ["too short .", "by . daily mail reporter ."])
    sents = write_lines(tmp_path / "s.txt", [make_title(1)])
    out = tmp_path / "corpus"
    rc = run(out, *files_args(docs, sents))
    assert_failed_cleanly(capsys, rc, out, "no documents left", "too_short")


def test_missing_shared_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "corpus"
    rc = run(out, "--shared-data", tmp_path / "nowhere")
    assert_failed_cleanly(capsys, rc, out, "nowhere", "--shared-data")


def test_existing_output_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path]) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert run(foreign, *files_args(*text_files), "--overwrite") == 2
    assert "not a data_prep output" in capsys.readouterr().err and (foreign / "notes.txt").exists()

    out = tmp_path / "corpus"
    assert run(out, *files_args(*text_files)) == 0
    assert run(out, *files_args(*text_files)) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert run(out, *files_args(text_files[0], text_files[0]), "--overwrite") == 2  # fails: old corpus stays
    assert manifest(out)["counts"]["sentences"] == 40
    assert run(out, *files_args(*text_files), "--min-document-words", "16", "--overwrite") == 0
    assert manifest(out)["recipe"]["min_document_words"] == 16
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_hub_recipe_with_a_stand_in_for_the_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--source hub, with datasets.load_dataset replaced by local in-memory datasets of the hub's layout."""
    import datasets

    def pairs(ids: range) -> datasets.Dataset:
        return datasets.Dataset.from_dict(
            {"document": [normalize(make_document(i)) for i in ids], "summary": [normalize(make_title(i)) for i in ids]}
        )

    articles = [
        f"By . Daily Mail Reporter . PUBLISHED: . 12:35 EST, 15 September 2013 . | . {make_document(500)} More text.",
        f"LONDON, England (CNN) -- {make_document(501)} And then a second sentence.",
        f"{make_document(502)} Another one follows.",
    ]
    calls = []

    def fake_load_dataset(name: str, config: str | None = None, split: str | None = None) -> datasets.Dataset:
        calls.append((name, config, split))
        if name == "gigaword":
            splits = {"test": range(2), "validation": range(100, 108), "train[:10000]": range(10, 20)}
            return pairs(splits[split])
        return datasets.Dataset.from_dict(
            {"article": articles, "highlights": ["first highlight here .\nsecond one here ."] * 3, "id": list("abc")}
        )

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    out = tmp_path / "corpus"
    assert run(out, "--source", "hub", "--dev-size", "2") == 0
    assert ("cnn_dailymail", "3.0.0", "train") in calls and ("gigaword", None, "train[:10000]") in calls
    docs = read_texts(out, "documents")
    # the lead is the first sentence once byline, time stamps and dateline are gone
    assert docs[:3] == [normalize(make_document(i)) for i in (500, 501, 502)]
    assert len((out / "dev.jsonl").read_text().splitlines()) == 2
    assert any(i["name"] == "hub:gigaword:test" for i in manifest(out)["inputs"])
