"""A run folder's work is never lost or silently replaced, and a resume never silently trains something else."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path


from conftest import run_tiny, write_tiny_corpus
from seq2seq2seq.train import Trainer, _throughput, main


def _finished_run(corpus: Path, out: Path, *extra: str) -> Path:
    assert run_tiny(corpus, out, *extra) == 0
    return out


def test_a_finished_run_whose_checkpoints_were_deleted_is_not_replaced(tiny_corpus, tmp_path, capsys):
    out = _finished_run(tiny_corpus, tmp_path / "run")
    shutil.rmtree(out / "checkpoints")  # the natural way to free most of a finished run's disk
    before = (out / "final" / "summarizer" / "model.safetensors").read_bytes()
    assert run_tiny(tiny_corpus, out, "--seed", "1") == 2
    err = capsys.readouterr().err
    assert "finished run" in err and "--overwrite" in err and "--output_dir" in err
    assert (out / "final" / "summarizer" / "model.safetensors").read_bytes() == before
    assert run_tiny(tiny_corpus, out, "--seed", "1", "--overwrite") == 0  # asked for: replaced
    assert (out / "final" / "summarizer" / "model.safetensors").read_bytes() != before


def test_resuming_a_copied_run_trains_the_copy_not_the_original(tiny_corpus, tmp_path, capsys):
    original = _finished_run(tiny_corpus, tmp_path / "original", "--adversarial.steps", "1")
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    untouched = {p: p.stat().st_mtime_ns for p in original.rglob("*") if p.is_file()}
    code = main(["--config", str(copy / "config.yaml"), "--data_dir", str(tiny_corpus), "--resume",
                 "--adversarial.steps", "2"])
    assert code == 0
    assert "belongs to the run folder" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in original.rglob("*") if p.is_file()} == untouched
    assert json.loads((copy / "results.json").read_text())["throughput"]["adversarial"]["steps"] == 2  # 1 in the original + 1 resumed


def test_resume_against_a_rebuilt_tokenizer_is_refused(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, "--adversarial.steps", "1") == 0
    # a corpus rebuilt with a tokenizer of the same size whose ids differ (two pieces swapped), and one of another size
    from sentencepiece import sentencepiece_model_pb2
    from transformers import T5Tokenizer

    swapped = tmp_path / "swapped"
    shutil.copytree(tiny_corpus, swapped)
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString((swapped / "spm" / "spiece.model").read_bytes())
    a, b = proto.pieces[10].piece, proto.pieces[11].piece
    proto.pieces[10].piece, proto.pieces[11].piece = b, a
    (swapped / "spm" / "spiece.model").write_bytes(proto.SerializeToString())
    shutil.rmtree(swapped / "tokenizer")
    T5Tokenizer.from_pretrained(str(swapped / "spm"), extra_ids=0, bos_token="<s>").save_pretrained(
        swapped / "tokenizer")
    resized = write_tiny_corpus(tmp_path / "resized", vocab_size=390)
    for rebuilt in (swapped, resized):
        assert run_tiny(rebuilt, out, "--adversarial.steps", "2", "--resume") == 2
        err = capsys.readouterr().err
        assert "another summarizer tokenizer" in err and "--data_dir" in err


def test_resume_with_another_discriminator_tokenizer_is_refused(tiny_corpus, tmp_path, capsys):
    """D (and R) may have tokenizers of their own: a resume checks each, not only G's."""
    from pretrained import tiny_bert

    words = "police said the minister met officials on monday about trade talks in the region".split()
    first = tiny_bert(tmp_path / "bert", [" ".join(words[i:] + words[:i]) for i in range(len(words))])
    other = tiny_bert(tmp_path / "bert2", ["stocks rose sharply in tokyo as investors bet on lower rates"] * 3)
    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, "--discriminator.init", str(first), "--adversarial.steps", "1") == 0
    assert run_tiny(tiny_corpus, out, "--discriminator.init", str(other), "--adversarial.steps", "2",
                    "--resume") == 2
    err = capsys.readouterr().err
    assert "another discriminator tokenizer" in err and "discriminator.init" in err
    assert run_tiny(tiny_corpus, out, "--discriminator.init", str(first), "--adversarial.steps", "2",
                    "--resume") == 0  # the same D resumes


def test_resume_cannot_add_steps_to_a_finished_stage(tiny_corpus, tmp_path, capsys):
    out = _finished_run(tiny_corpus, tmp_path / "run")
    assert run_tiny(tiny_corpus, out, "--pretrain.steps", "20", "--resume") == 2
    err = capsys.readouterr().err
    assert "finished stage pretrain after 3 steps" in err and "--pretrain.steps 3" in err
    # the last stage may go on
    assert run_tiny(tiny_corpus, out, "--adversarial.steps", "3", "--resume") == 0
    throughput = json.loads((out / "results.json").read_text())["throughput"]
    assert throughput["adversarial"]["steps"] == 3 and throughput["pretrain"]["steps"] == 3


def test_flops_per_second_count_the_steps_that_ran_not_the_configured_ones():
    timing = {"seconds": 2.0, "examples": 8, "steps": 2, "flops_per_step": 10.0}
    assert _throughput(timing)["flops_per_second"] == 10.0  # 2 steps x 10 FLOPs / 2 s
    assert "flops_per_second" not in _throughput({"seconds": 1.0, "examples": 4, "flops_per_step": 1.0})


def test_a_corpus_without_dev_pairs_trains_without_dev_rouge(tiny_corpus, tmp_path, capsys, caplog):
    corpus = tmp_path / "own"
    shutil.copytree(tiny_corpus, corpus)
    (corpus / "dev.jsonl").unlink()
    out = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="seq2seq2seq"):
        assert run_tiny(corpus, out) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["best"] is None and results["history"] == []
    assert (out / "final" / "summarizer" / "model.safetensors").is_file() and not (out / "best").exists()
    assert "no dev set" in capsys.readouterr().out


def test_checkpoints_do_not_warn_about_tied_weights(tiny_corpus, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert run_tiny(tiny_corpus, tmp_path / "run", "--save_every", "1") == 0
    assert not [r for r in caplog.records if "Removed shared tensor" in r.getMessage()]


def test_ctrl_c_prints_how_to_resume_and_a_stale_half_checkpoint_is_removed(tiny_corpus, tmp_path, capsys,
                                                                            monkeypatch):
    out = tmp_path / "run"

    def interrupted(self, step):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "pretrain_d_step", interrupted)
    assert run_tiny(tiny_corpus, out, "--save_every", "1") == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    monkeypatch.undo()
    stale = out / "checkpoints" / ".tmp-step-00000099"  # what a kill -9 during a save leaves
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half")
    assert run_tiny(tiny_corpus, out, "--save_every", "1", "--resume") == 0
    assert not stale.exists()


def test_exports_and_checkpoints_follow_the_umask(tiny_corpus, tmp_path):
    old = os.umask(0o022)
    try:
        out = _finished_run(tiny_corpus, tmp_path / "run")
    finally:
        os.umask(old)
    for path in [out / "final" / "summarizer" / "model.safetensors",
                 out / "final" / "discriminator" / "model.safetensors",
                 next((out / "checkpoints").glob("step-*/model.safetensors"))]:
        assert path.stat().st_mode & 0o777 == 0o644, path


def test_checkpoints_from_before_per_model_fingerprints_still_resume_on_g_alone():
    from seq2seq2seq.checkpoint import saved_fingerprints

    assert saved_fingerprints({"tokenizer_sha256": "a"}) == {"summarizer": "a"}
    both = {"tokenizers_sha256": {"summarizer": "a", "discriminator": "b"}}
    assert saved_fingerprints(both) == {"summarizer": "a", "discriminator": "b"}
