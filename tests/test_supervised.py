"""The semi-supervised mode: reading and checking the pairs, their place in each stage, the supervised-only
baseline, and the label-efficiency script's pieces."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from conftest import run_tiny

from seq2seq2seq.config import ConfigError, SupervisedConfig, load_config
from seq2seq2seq.normalize import normalize, text_digest
from seq2seq2seq.paths import shared_data_dir
from seq2seq2seq.supervised import HELD_OUT_FILE, PairsError, load_pairs

ROOT = Path(__file__).resolve().parent.parent


def load_benchmark_semi():
    """scripts/research/benchmark_semi.py, loaded from its path (scripts are not a package)."""
    spec = importlib.util.spec_from_file_location("benchmark_semi", ROOT / "scripts" / "research" / "benchmark_semi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pair_rows(n: int = 40) -> list[dict]:
    """Gigaword training pairs that the tiny corpus does not use (rows 1000+), or synthetic ones."""
    path = shared_data_dir() / "gigaword" / "train10k.jsonl"
    if path.is_file():
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for _, line in zip(range(1000 + n), handle)][1000:]
        return [{"document": r["document"], "summary": r["summary"]} for r in rows]
    return [{"document": f"story {i} of the day : the council met on monday and voted on plan {i} .",
             "summary": f"council votes on plan {i}"} for i in range(n)]


def write_pairs(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def cfg(pairs: Path | str, **extra) -> SupervisedConfig:
    return SupervisedConfig(pairs=str(pairs), **extra)


# --- reading and checking the pairs -------------------------------------------------------------------------------


def test_pairs_are_normalised_limited_and_fingerprinted(tmp_path: Path) -> None:
    rows = [{"article": "The Council VOTED 12-3 on Monday.", "title": "Council votes"}] + [
        {"article": r["document"], "title": r["summary"]} for r in pair_rows(5)]
    path = write_pairs(tmp_path / "pairs.jsonl", rows)
    pairs = load_pairs(cfg(path, fields="article,title", max_pairs=3), tmp_path)
    assert len(pairs) == 3 and pairs.rows_read == 3
    assert pairs.documents[0] == normalize("The Council VOTED 12-3 on Monday.") == "the council voted ##-# on monday ."
    assert pairs.summaries[0] == "council votes"
    record = pairs.record()
    assert record["pairs_used"] == 3 and len(record["sha256"]) == 64 and record["file"] == str(path.resolve())
    assert pairs.notes and HELD_OUT_FILE in pairs.notes[0]  # this folder records no held-out texts: said, not silent


def test_parquet_pairs(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = pair_rows(4)
    pq.write_table(pa.table({"document": [r["document"] for r in rows], "summary": [r["summary"] for r in rows]}),
                   tmp_path / "pairs.parquet")
    assert len(load_pairs(cfg(tmp_path / "pairs.parquet"), tmp_path)) == 4


@pytest.mark.parametrize("content, needles", [
    ('{"document": "a b c d", "headline": "a b"}\n', ["no field 'summary'", "supervised.fields"]),
    ('{"document": "a b c d", "summary": ""}\n', ["line 1", "'summary' is empty"]),
    ('{"document": "a b c d", "summary": 7}\n', ["line 1", "int, not text"]),
    ('{"document": "a b", "summary": "a b c d e"}\n', ["line 1", "longer than its document", "swapped"]),
    ('{"document": "a b c d", "summary": "a b"}\nnot json\n', ["line 2", "not valid JSON"]),
    ('\n\n', ["no pairs"]),
])
def test_bad_rows_are_named(tmp_path: Path, content: str, needles: list[str]) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PairsError) as err:
        load_pairs(cfg(path), tmp_path)
    for needle in needles:
        assert needle in str(err.value)


def test_invalid_utf8_wrong_format_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "latin1.jsonl").write_bytes('{"document": "caf\xe9 au lait", "summary": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(PairsError, match=r"line 1: not valid UTF-8.*iconv"):
        load_pairs(cfg(tmp_path / "latin1.jsonl"), tmp_path)
    (tmp_path / "pairs.csv").write_text("document,summary\n", encoding="utf-8")
    with pytest.raises(PairsError, match=r"unknown table format.*\.jsonl or \*\.parquet"):
        load_pairs(cfg(tmp_path / "pairs.csv"), tmp_path)
    with pytest.raises(PairsError, match="no such file"):
        load_pairs(cfg(tmp_path / "missing.jsonl"), tmp_path)


def test_pairs_overlapping_held_out_text_are_refused(tmp_path: Path) -> None:
    rows = pair_rows(8)
    # the corpus holds out row 4's summary (as the test set would) and, through the dev set, row 5's document
    (tmp_path / HELD_OUT_FILE).write_text(text_digest(normalize(rows[4]["summary"])) + "\n", encoding="utf-8")
    rows[5]["document"] = rows[5]["document"].upper()  # a normalised match counts too
    path = write_pairs(tmp_path / "pairs.jsonl", rows)
    with pytest.raises(PairsError) as err:
        load_pairs(cfg(path), tmp_path, dev_texts=[pair_rows(8)[5]["document"]])
    message = str(err.value)
    assert "2 text(s)" in message and "line 5 (summary)" in message and "line 6 (document)" in message
    assert "remove those rows" in message
    # the same file without those rows passes, with no note (the corpus records its held-out texts)
    path = write_pairs(tmp_path / "clean.jsonl", [r for i, r in enumerate(rows) if i not in (4, 5)])
    pairs = load_pairs(cfg(path), tmp_path, dev_texts=[pair_rows(8)[5]["document"]])
    assert len(pairs) == 6 and not pairs.notes


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="supervised.pretrain_share.*in \\[0, 1\\]"):
        SupervisedConfig(pretrain_share=1.5)
    with pytest.raises(ConfigError, match="supervised.pretrain_share.*set supervised.pairs"):
        SupervisedConfig(pretrain_share=1.0)
    with pytest.raises(ConfigError, match="supervised.fields.*DOCUMENT,SUMMARY"):
        SupervisedConfig(fields="document")
    with pytest.raises(ConfigError, match="less than one pair per batch"):
        load_config(None, {"supervised": {"pairs": "p.jsonl", "pretrain_share": 0.01}, "pretrain": {"batch_size": 8}})
    assert not load_config(None).supervised.enabled  # off by default


# --- training -----------------------------------------------------------------------------------------------------


def test_semi_supervised_run_uses_the_pairs_in_every_stage(tiny_corpus: Path, tmp_path: Path) -> None:
    from seq2seq2seq.data import load_corpus
    from seq2seq2seq.train.trainer import Trainer

    pairs = write_pairs(tmp_path / "pairs.jsonl", pair_rows(12))
    config = load_config(Path(__file__).resolve().parent.parent / "scripts/configs/tiny.yaml", {
        "data_dir": str(tiny_corpus), "output_dir": str(tmp_path / "probe"),
        "supervised": {"pairs": str(pairs), "pretrain_share": 0.5, "batch_size": 3}})
    corpus = load_corpus(tiny_corpus)
    human = len(corpus.sentences)
    trainer = Trainer(config, corpus)
    # D's human sentences gain the pairs' summaries; a pre-training batch is half pseudo-summaries, half pairs
    assert len(trainer.corpus.sentences) == human + 12 and trainer.corpus.sentences[-12:] == trainer.pairs.summaries
    assert trainer.batches.pairs_per_batch == 2 and trainer.batches.doc_stream.batch_size == 2
    src, tgt_ids, _ = trainer.batches.pseudo_batch(["a b c d e f g h"] * 2, __import__("random").Random(0),
                                            trainer.batches.pairs_at(trainer.batches.pair_stream, 0))
    targets = trainer.tokenizer.batch_decode(tgt_ids, skip_special_tokens=True)
    assert src.input_ids.shape[0] == 4  # the last two targets are pairs' summaries (cut at max_summary_tokens)
    assert all(any(s.startswith(t.strip()) for s in trainer.pairs.summaries) for t in targets[2:])
    assert not any(any(s.startswith(t.strip()) for s in trainer.pairs.summaries) for t in targets[:2])
    assert trainer.batches.adv_pair_stream.batch_size == 3

    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, "--supervised.pairs", str(pairs)) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["supervised"]["pairs_used"] == 12 and len(results["supervised"]["sha256"]) == 64
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert all("loss/supervised" in m for m in metrics if m["stage"] == "adversarial")
    assert "semi-supervised: 12 pairs" in (out / "train.log").read_text()


def test_supervised_only_baseline_trains_on_the_pairs_alone(tiny_corpus: Path, tmp_path: Path) -> None:
    pairs = write_pairs(tmp_path / "pairs.jsonl", pair_rows(12))
    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, "--supervised.pairs", str(pairs), "--supervised.pretrain_share", "1",
                    "--pretrain.train_reconstructor", "false", "--pretrain_d.steps", "0",
                    "--adversarial.steps", "0") == 0
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {m["stage"] for m in metrics} == {"pretrain"} and all("loss/r" not in m for m in metrics)
    assert (out / "final" / "summarizer" / "model.safetensors").is_file()


def test_resume_with_other_pairs_is_refused(tiny_corpus: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    pairs = write_pairs(tmp_path / "pairs.jsonl", pair_rows(12))
    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, "--supervised.pairs", str(pairs), "--save_every", "1",
                    "--adversarial.steps", "0", "--pretrain_d.steps", "0") == 0
    shutil.rmtree(out / "final")  # as if interrupted after the last checkpoint
    write_pairs(pairs, pair_rows(12)[::-1])
    assert run_tiny(tiny_corpus, out, "--supervised.pairs", str(pairs), "--save_every", "1",
                    "--adversarial.steps", "0", "--pretrain_d.steps", "0", "--resume") == 2
    assert "other supervised.pairs" in capsys.readouterr().err


def test_bad_pairs_file_stops_training_with_one_line(tiny_corpus: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"document": "short", "summary": "a much longer summary than it"}\n', encoding="utf-8")
    assert run_tiny(tiny_corpus, tmp_path / "run", "--supervised.pairs", str(path)) == 2
    err = capsys.readouterr().err
    assert "error: supervised.pairs" in err and "longer than its document" in err and "Traceback" not in err


# --- the label-efficiency script ----------------------------------------------------------------------------------


def test_clean_pairs_drops_held_out_and_corpus_texts(tmp_path: Path) -> None:
    clean_pairs = load_benchmark_semi().clean_pairs

    rows = pair_rows(6)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "documents.jsonl").write_text(json.dumps({"text": normalize(rows[1]["document"])}) + "\n")
    (corpus / "sentences.jsonl").write_text(json.dumps({"text": normalize(rows[4]["summary"])}) + "\n")
    (corpus / HELD_OUT_FILE).write_text(text_digest(normalize(rows[5]["summary"])) + "\n")
    info = clean_pairs(write_pairs(tmp_path / "src.jsonl", rows), corpus, tmp_path / "pairs.jsonl")
    kept = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert kept == [rows[i] for i in (0, 2, 3)]
    assert info["dropped"] == {"held_out": 1, "in_corpus": 2, "empty_or_longer_summary": 0} and info["kept"] == 3


def test_curve_overrides_and_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    semi_script = load_benchmark_semi()
    plot_curve, run_overrides = semi_script.plot_curve, semi_script.run_overrides

    assert run_overrides("semi", 0, Path("p.jsonl"), 900) == []
    semi = run_overrides("semi", 100, Path("p.jsonl"), 900)
    assert semi == ["--supervised.pairs", "p.jsonl", "--supervised.max_pairs", "100"]
    sup = run_overrides("supervised", 100, Path("p.jsonl"), 900)
    assert sup[sup.index("--pretrain.steps") + 1] == "900" and sup[sup.index("--adversarial.steps") + 1] == "0"
    assert sup[sup.index("--supervised.pretrain_share") + 1] == "1"
    results = {"0": {"semi": {"rouge1": 25.0}}, "100": {"semi": {"rouge1": 26.0}, "supervised": {"rouge1": 15.0}},
               "1000": {"semi": {"rouge1": 27.0}, "supervised": {"rouge1": 22.0}}}
    plot_curve(results, {"Lead-8": 21.3, "headline-deletion rule": 27.86}, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_source_words_keeps_what_a_source_only_g_can_write() -> None:
    from seq2seq2seq.supervised import source_words

    document = "the council voted on monday to close the old bridge ."
    assert source_words("council votes to close bridge", document) == "council to close bridge"
    assert source_words("mayor resigns", document) == "mayor resigns"  # nothing in the document: kept as written


def test_source_words_targets_reach_g_but_d_sees_the_summaries_as_written(tiny_corpus: Path, tmp_path: Path) -> None:
    from seq2seq2seq.data import load_corpus
    from seq2seq2seq.supervised import source_words
    from seq2seq2seq.train.trainer import Trainer

    rows = pair_rows(12)
    pairs = write_pairs(tmp_path / "pairs.jsonl", rows)
    config = load_config(Path(__file__).resolve().parent.parent / "scripts/configs/tiny.yaml", {
        "data_dir": str(tiny_corpus), "output_dir": str(tmp_path / "probe"),
        "supervised": {"pairs": str(pairs), "targets": "source_words"}})
    trainer = Trainer(config, load_corpus(tiny_corpus))
    written = [normalize(r["summary"]) for r in rows]
    assert trainer.corpus.sentences[-12:] == written
    assert trainer.pairs.summaries == [source_words(t, normalize(r["document"])) for t, r in zip(written, rows)]
    assert trainer.pairs.summaries != written  # Gigaword titles use words their articles do not
