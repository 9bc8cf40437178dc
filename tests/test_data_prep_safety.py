"""data_prep: --dev-file, inputs inside --out, Ctrl-C and leftovers of killed runs, CR line endings."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_data_prep import (  # noqa: F401  (fake_shared and text_files are fixtures)
    assert_failed_cleanly,
    fake_shared,
    files_args,
    make_document,
    make_title,
    manifest,
    read_texts,
    run,
    text_files,
    write_jsonl,
    write_lines,
)

from data_prep import corpus
from seq2seq2seq.input_files import InputFileError, read_lines
from seq2seq2seq.normalize import normalize


def dev_pairs(ids: range) -> list[dict[str, str]]:
    return [{"document": make_document(i), "summary": normalize(make_title(i))} for i in ids]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def dead_pid() -> int:
    """The id of a process that has exited (reuse within the test is vanishingly unlikely)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def work_folders_beside(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


# --- 1. --dev-file -----------------------------------------------------------------------------------------------


def test_dev_file_is_written_verbatim_and_kept_out_of_training(
    tmp_path: Path, text_files: tuple[Path, Path]
) -> None:
    # pairs 5..9 use documents 5..9 of docs.txt (raw form) and titles 5..9 of sents.txt (normalised form)
    pairs = dev_pairs(range(5, 10)) + [{"document": "Another article, raw: 3.5% up.", "summary": "unk rises", "id": 1}]
    dev_file = write_jsonl(tmp_path / "pairs.jsonl", pairs)
    out = tmp_path / "corpus"
    assert run(out, *files_args(*text_files), "--dev-file", dev_file) == 0
    m = manifest(out)
    assert read_jsonl(out / "dev.jsonl") == [{"document": p["document"], "summary": p["summary"]} for p in pairs]
    docs, sents = set(read_texts(out, "documents")), set(read_texts(out, "sentences"))
    assert not {normalize(t) for p in pairs for t in (p["document"], p["summary"])} & (docs | sents)
    assert m["filters"]["documents"]["evaluation_overlap"] == 5 and m["filters"]["sentences"]["evaluation_overlap"] == 5
    digest = hashlib.sha256(dev_file.read_bytes()).hexdigest()
    assert m["dev"] == {
        "file": "dev.jsonl",
        "rows": 6,
        "source": str(dev_file.resolve()),
        "fields": {"document": "document", "summary": "summary"},
        "sha256": digest,
        "bytes": dev_file.stat().st_size,
    }
    assert m["counts"]["dev"] == 6 and m["recipe"]["dev_file"] == str(dev_file)
    assert {"name": f"dev:{dev_file}", "path": str(dev_file.resolve()), "bytes": dev_file.stat().st_size,
            "sha256": digest} in m["inputs"]
    assert m["files"]["dev.jsonl"]["lines"] == 6


def test_dev_file_as_parquet_with_other_field_names(tmp_path: Path, text_files: tuple[Path, Path]) -> None:
    pairs = dev_pairs(range(100, 104))
    table = pa.table({"headline": [p["summary"] for p in pairs], "article": [p["document"] for p in pairs],
                      "n": list(range(4))})
    pq.write_table(table, tmp_path / "pairs.parquet")
    out = tmp_path / "corpus"
    args = ["--dev-file", tmp_path / "pairs.parquet", "--dev-fields", "article,headline"]
    assert run(out, *files_args(*text_files), *args) == 0
    assert read_jsonl(out / "dev.jsonl") == pairs
    assert manifest(out)["dev"]["fields"] == {"document": "article", "summary": "headline"}


def test_without_a_dev_slice_there_is_no_dev_jsonl(
    tmp_path: Path, text_files: tuple[Path, Path], fake_shared: Path
) -> None:
    out = tmp_path / "own"
    assert run(out, *files_args(*text_files)) == 0
    assert not (out / "dev.jsonl").exists() and manifest(out)["dev"] is None
    # --dev-size 0: no dev rows, so no dev.jsonl at all (an empty one would only stop the trainer)
    out = tmp_path / "shared0"
    assert run(out, "--shared-data", fake_shared, "--dev-size", "0") == 0
    m = manifest(out)
    assert not (out / "dev.jsonl").exists() and m["dev"] is None and m["counts"]["dev"] is None
    out = tmp_path / "shared4"
    assert run(out, "--shared-data", fake_shared, "--dev-size", "4") == 0
    valid = fake_shared / "gigaword" / "valid.jsonl"
    assert manifest(out)["dev"] == {"file": "dev.jsonl", "rows": 4, "source": f"{valid.resolve()}[:4]"}


def test_dev_file_replaces_the_shared_dev_slice(tmp_path: Path, fake_shared: Path) -> None:
    pairs = dev_pairs(range(400, 403))
    out = tmp_path / "corpus"
    assert run(out, "--shared-data", fake_shared, "--dev-size", "4", "--dev-file",
               write_jsonl(tmp_path / "pairs.jsonl", pairs)) == 0
    assert read_jsonl(out / "dev.jsonl") == pairs
    # the Gigaword dev slice is no longer written, but it still stays out of training
    valid = read_jsonl(fake_shared / "gigaword" / "valid.jsonl")
    training = set(read_texts(out, "documents")) | set(read_texts(out, "sentences"))
    assert not {t for r in valid[:4] for t in r.values()} & training
    assert manifest(out)["dev"]["rows"] == 3


def _bad_dev_file(tmp_path: Path, case: str) -> tuple[list[str | Path], list[str]]:
    """Arguments and the words the error must contain, for one kind of bad --dev-file."""
    jsonl = tmp_path / "pairs.jsonl"
    if case == "missing_field":
        write_jsonl(jsonl, [{"article": "a b c", "summary": "d"}])
        return ["--dev-file", jsonl], ["pairs.jsonl", "line 1", "'document'", "--dev-fields", "article"]
    if case == "missing_parquet_column":
        pq.write_table(pa.table({"article": ["a b c"], "summary": ["d"]}), tmp_path / "pairs.parquet")
        return ["--dev-file", tmp_path / "pairs.parquet"], ["pairs.parquet", "'document'", "--dev-fields"]
    if case == "empty":
        jsonl.write_text("\n", encoding="utf-8")
        return ["--dev-file", jsonl], ["pairs.jsonl", "no (document, summary) pairs"]
    if case == "invalid_utf8":
        jsonl.write_bytes(b'{"document": "a b c", "summary": "d"}\n{"document": "caf\xe9", "summary": "e"}\n')
        return ["--dev-file", jsonl], ["pairs.jsonl", "line 2", "UTF-8"]
    if case == "not_a_table":
        write_lines(tmp_path / "pairs.csv", ["document,summary", "a b c,d"])
        return ["--dev-file", tmp_path / "pairs.csv"], ["pairs.csv", "not a JSONL or Parquet file"]
    if case == "not_json":
        write_lines(jsonl, ['{"document": "a b c", "summary": "d"}', "document\tsummary"])
        return ["--dev-file", jsonl], ["pairs.jsonl", "line 2", "not valid JSON"]
    if case == "not_text":
        write_jsonl(jsonl, [{"document": "a b c", "summary": ["d", "e"]}])
        return ["--dev-file", jsonl], ["pairs.jsonl", "line 1", "'summary'", "list"]
    if case == "empty_summary":
        write_jsonl(jsonl, [{"document": "a b c", "summary": "d"}, {"document": "a b c", "summary": "  "}])
        return ["--dev-file", jsonl], ["pairs.jsonl", "line 2", "'summary'", "empty"]
    if case == "missing_file":
        return ["--dev-file", tmp_path / "nope.jsonl"], ["nope.jsonl", "no such file"]
    if case == "three_fields":
        write_jsonl(jsonl, dev_pairs(range(2)))
        return ["--dev-file", jsonl, "--dev-fields", "a,b,c"], ["--dev-fields", "DOCUMENT,SUMMARY"]
    assert case == "fields_without_file"
    return ["--dev-fields", "a,b"], ["--dev-fields", "--dev-file"]


@pytest.mark.parametrize(
    "case",
    ["missing_field", "missing_parquet_column", "empty", "invalid_utf8", "not_a_table", "not_json", "not_text",
     "empty_summary", "missing_file", "three_fields", "fields_without_file"],
)
def test_bad_dev_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path], case: str
) -> None:
    args, needles = _bad_dev_file(tmp_path, case)
    out = tmp_path / "corpus"
    assert_failed_cleanly(capsys, run(out, *files_args(*text_files), *args), out, *needles)


def test_dev_file_of_test_set_pairs_is_refused_as_supervised_pairs_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_shared: Path, text_files: tuple[Path, Path]
) -> None:
    """Dev ROUGE picks best/: dev pairs from the test set would make the test score a score on tuned data. The
    rows are refused by supervised.pairs' check against the same held-out digests."""
    test_rows = read_jsonl(fake_shared / "gigaword" / "test.jsonl")
    pairs = dev_pairs(range(400, 402)) + [test_rows[0]]
    dev_file = write_jsonl(tmp_path / "pairs.jsonl", pairs)
    out = tmp_path / "corpus"
    rc = run(out, "--shared-data", fake_shared, "--dev-size", "4", "--dev-file", dev_file)
    assert_failed_cleanly(capsys, rc, out, "--dev-file", "pairs.jsonl, line 3 (document)",
                          "pairs.jsonl, line 3 (summary)", "test set", "remove those rows")
    # a test set of one's own, given as --exclude, counts the same; the built-in dev slice (replaced) does not
    exclude = write_jsonl(tmp_path / "my_test.jsonl", [{"document": "x y z", "summary": make_title(401)}])
    rc = run(out, *files_args(*text_files), "--exclude", exclude, "--dev-file", dev_file)
    assert_failed_cleanly(capsys, rc, out, "pairs.jsonl, line 2 (summary)")
    valid = read_jsonl(fake_shared / "gigaword" / "valid.jsonl")
    write_jsonl(dev_file, valid[:2] + dev_pairs(range(400, 402)))
    assert run(out, "--shared-data", fake_shared, "--dev-size", "4", "--dev-file", dev_file) == 0


# --- 2. inputs inside --out -------------------------------------------------------------------------------------


def fake_corpus(out: Path) -> Path:
    """A folder that data_prep takes for its own output (what --overwrite may replace)."""
    out.mkdir(parents=True)
    (out / "manifest.json").write_text(json.dumps({"tool": "data_prep", "counts": {"documents": 7}}))
    return out


@pytest.mark.parametrize(
    "flag", ["--documents-file", "--sentences-file", "--documents-field", "--sentences-field", "--exclude",
             "--keep-out", "--dev-file", "--shared-data"],
)
def test_overwrite_refuses_to_delete_an_input_inside_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path], fake_shared: Path, flag: str
) -> None:
    out = fake_corpus(tmp_path / "mydir")
    docs, sents = text_files
    inside = {
        "--documents-file": out / "docs.txt",
        "--sentences-file": out / "sents.txt",
        "--documents-field": out / "docs.jsonl",
        "--sentences-field": out / "sents.jsonl",
        "--exclude": out / "eval.jsonl",
        "--keep-out": out / "pairs_kept_out.jsonl",
        "--dev-file": out / "pairs.jsonl",
        "--shared-data": out / "shared",
    }[flag]
    if flag == "--shared-data":
        shutil.copytree(fake_shared, inside)
        args: list[str | Path] = ["--shared-data", inside, "--dev-size", "4"]
    else:
        write_jsonl(inside, [{"text": make_document(i), "document": "x", "summary": "y"} for i in range(3)])
        spec = f"{inside}:text" if flag.endswith("-field") else inside
        plain = {"--documents-file": ["--sentences-file", sents], "--sentences-file": ["--documents-file", docs],
                 "--documents-field": ["--sentences-file", sents], "--sentences-field": ["--documents-file", docs]}
        args = ["--source", "none", *plain.get(flag, files_args(docs, sents)[2:]), flag, spec]
    rc = run(out, *args, "--overwrite")
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and "Traceback" not in err
    assert flag in err and str(inside) in err and "another --out" in err and "move it" in err
    assert inside.exists() and manifest(out)["counts"]["documents"] == 7  # nothing deleted, nothing replaced
    assert work_folders_beside(out) == []


def test_overwrite_refuses_a_link_to_a_file_inside_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path]
) -> None:
    out = fake_corpus(tmp_path / "mydir")
    target = shutil.copy(text_files[0], out / "docs.txt")
    link = tmp_path / "docs-link.txt"
    link.symlink_to(target)
    rc = run(out, *files_args(link, text_files[1]), "--overwrite")
    assert rc == 2 and "docs-link.txt" in capsys.readouterr().err and Path(target).exists()


def test_overwrite_deletes_only_what_data_prep_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path]
) -> None:
    out = tmp_path / "corpus"
    assert run(out, *files_args(*text_files)) == 0
    # the manifest lists every file data_prep wrote (folders: those of its files), so nothing of its own is unknown
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == set(manifest(out)["files"]) | {"manifest.json"}
    (out / "NOTES.md").write_text("my notes on this corpus")
    (out / "tokenizer" / "my_vocab_check.txt").write_text("mine too")
    (out / "plots").mkdir()
    (out / "plots" / "lengths.png").write_bytes(b"png")
    before, _ = manifest(out), capsys.readouterr()
    rc = run(out, *files_args(*text_files), "--min-document-words", "16", "--overwrite")
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and "Traceback" not in err
    assert "3 file(s) or folder(s) that data_prep did not write" in err
    assert "NOTES.md, plots/, tokenizer/my_vocab_check.txt" in err and "move them out" in err
    assert (out / "NOTES.md").read_text() == "my notes on this corpus" and (out / "plots" / "lengths.png").exists()
    assert (out / "tokenizer" / "my_vocab_check.txt").exists() and manifest(out) == before  # nothing touched
    assert work_folders_beside(out) == []
    for path in (out / "NOTES.md", out / "tokenizer" / "my_vocab_check.txt", out / "plots" / "lengths.png"):
        path.unlink()
    (out / "plots").rmdir()
    assert run(out, *files_args(*text_files), "--min-document-words", "16", "--overwrite") == 0
    assert manifest(out)["recipe"]["min_document_words"] == 16


# --- 3. Ctrl-C and what killed runs leave ------------------------------------------------------------------------


def interrupt(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


def run_interrupted(out: Path, *args: str | Path) -> int:
    """``run``, with a Ctrl-C that escapes main failing the test (instead of stopping the whole pytest session)."""
    try:
        return run(out, *args)
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped main: the user would see a traceback")


def test_ctrl_c_prints_one_line_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "new" / "corpus"
    monkeypatch.setattr(corpus, "train_tokenizer", interrupt)  # mid-build: the JSONL files are already written
    assert run_interrupted(out, *files_args(*text_files)) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == f"interrupted; nothing written to {out}"
    assert "Traceback" not in err and "error:" not in err
    assert not (tmp_path / "new").exists()  # neither the corpus, nor its work folder, nor the parent made for it

    # with --overwrite the previous corpus stays as it was
    monkeypatch.undo()
    out = tmp_path / "corpus"
    assert run(out, *files_args(*text_files)) == 0
    before = (out / "manifest.json").read_bytes()
    monkeypatch.setattr(corpus, "train_tokenizer", interrupt)
    assert run_interrupted(out, *files_args(*text_files), "--min-document-words", "16", "--overwrite") == 130
    assert (out / "manifest.json").read_bytes() == before and work_folders_beside(out) == []


def test_a_second_ctrl_c_leaves_a_folder_that_the_next_run_removes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "corpus"
    monkeypatch.setattr(corpus, "train_tokenizer", interrupt)
    monkeypatch.setattr(corpus.shutil, "rmtree", interrupt)  # the second Ctrl-C, during the clean-up
    assert run_interrupted(out, *files_args(*text_files)) == 130
    monkeypatch.undo()
    err = capsys.readouterr().err
    (left,) = work_folders_beside(out)
    assert left.startswith(f".corpus.tmp-{os.getpid()}-") and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"interrupted; nothing written to {out} (the next run for this --out removes the unfinished {left})"
    )
    # This process is still alive, so its folder is not stale yet: rename it to a dead owner's, as after an exit.
    stale = out.parent / left.replace(f"-{os.getpid()}-", f"-{dead_pid()}-")
    (out.parent / left).rename(stale)
    assert run(out, *files_args(*text_files)) == 0
    assert work_folders_beside(out) == [] and manifest(out)["counts"]["documents"] == 60
    err = capsys.readouterr().err
    assert f"removed 1 unfinished folder(s) left beside {out} by interrupted runs: {stale.name}" in err


def test_ctrl_c_during_the_final_renames_waits_for_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "corpus"
    assert run(out, *files_args(*text_files)) == 0
    move, handler = corpus._move_into_place, signal.getsignal(signal.SIGINT)

    def ctrl_c_then_move(*args: Any) -> Path | None:
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, just before the old corpus is moved aside
        time.sleep(0.05)  # Python runs signal handlers between bytecodes: give it the chance
        return move(*args)

    monkeypatch.setattr(corpus, "_move_into_place", ctrl_c_then_move)
    assert run_interrupted(out, *files_args(*text_files), "--min-document-words", "16", "--overwrite") == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"interrupted; the new corpus was already complete in {out}"
    )
    assert manifest(out)["recipe"]["min_document_words"] == 16 and work_folders_beside(out) == []
    assert signal.getsignal(signal.SIGINT) is handler  # the usual Ctrl-C handling is back


def test_only_work_folders_of_dead_runs_are_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text_files: tuple[Path, Path]
) -> None:
    out = tmp_path / "corpus"
    tag, dead, alive = corpus._HOST_TAG, dead_pid(), os.getpid()
    names = {
        "dead_tmp": f".corpus.tmp-{dead}-{tag}-ab12cd34",  # kill -9 during the build
        "dead_old": f".corpus.old-{dead}-{tag}-ef56gh78",  # kill -9 while removing a replaced corpus
        "running": f".corpus.tmp-{alive}-{tag}-ij90kl12",  # a data_prep still running for the same --out
        "other_host": f".corpus.tmp-{dead}-0123abcd-mn34op56",  # maybe running on another machine (shared disk)
        "other_out": f".corpus2.tmp-{dead}-{tag}-qr78st90",  # another --out
        "old_style": ".corpus.tmp-uv12wx34",  # no owner recorded: never guessed at
    }
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "documents.jsonl").write_text("partial\n")
    assert run(out, *files_args(*text_files)) == 0
    assert "removed 2 unfinished folder(s)" in capsys.readouterr().err
    left = {p.name for p in tmp_path.iterdir() if p.name.startswith(".")}
    assert left == {names[k] for k in ("running", "other_host", "other_out", "old_style")}


def test_a_run_killed_between_the_two_renames_gets_its_old_corpus_back(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    old = tmp_path / f".corpus.old-{dead_pid()}-{corpus._HOST_TAG}-ab12cd34"
    fake_corpus(old / "corpus")
    corpus._remove_stale_work_folders(out)
    assert corpus.is_corpus_dir(out) and not old.exists()


# --- 4. line endings ---------------------------------------------------------------------------------------------


def test_plain_text_lines_end_at_lf_crlf_or_a_lone_cr(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"one\rtwo\r\nthree\nfour\r\rfive\r")
    assert read_lines(path) == ["one", "two", "three", "four", "five"]
    path.write_bytes("caf\u00e9 one\rcaf\u00e9 two".encode())  # no line end at the end, UTF-8 kept whole
    assert read_lines(path) == ["caf\u00e9 one", "caf\u00e9 two"]
    path.write_bytes(b"fine\rstill fine\rcaf\xe9\r")
    with pytest.raises(InputFileError, match=r"mixed.txt, line 3: not valid UTF-8"):
        read_lines(path)


def test_old_mac_text_files_give_one_text_a_line(tmp_path: Path) -> None:
    docs = tmp_path / "docs.txt"
    docs.write_bytes("\r".join(make_document(i) for i in range(60)).encode() + b"\r")
    sents = tmp_path / "sents.txt"
    sents.write_bytes("\r".join(make_title(i) for i in range(40)).encode())
    out = tmp_path / "corpus"
    assert run(out, *files_args(docs, sents)) == 0
    m = manifest(out)
    assert (m["counts"]["documents"], m["counts"]["sentences"]) == (60, 40)
