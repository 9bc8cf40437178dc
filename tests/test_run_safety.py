"""A run folder's work is never lost or silently replaced, and a resume never silently trains something else."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import run_tiny, write_tiny_corpus

import seq2seq2seq.train.loop as train_loop
from seq2seq2seq.checkpoint import list_checkpoints as ckpt_list
from seq2seq2seq.train.cli import main
from seq2seq2seq.train.loop import stage_throughput


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
    assert stage_throughput(timing)["flops_per_second"] == 10.0  # 2 steps x 10 FLOPs / 2 s
    assert "flops_per_second" not in stage_throughput({"seconds": 1.0, "examples": 4, "flops_per_step": 1.0})


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

    monkeypatch.setitem(train_loop.STEP_FUNCTIONS, "pretrain_d", interrupted)
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


# --- a refused command changes nothing (issue 30) ------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of a run folder with its modification time and bytes: what a refused command must leave alone."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _interrupted_in(stage: str, corpus: Path, out: Path, monkeypatch) -> Path:
    """A run stopped (Ctrl-C) at step 1 of ``stage``, with a checkpoint at every step before."""
    original = train_loop.STEP_FUNCTIONS[stage]

    def interrupted(self, step):
        if step == 1:
            raise KeyboardInterrupt
        return original(self, step)

    monkeypatch.setitem(train_loop.STEP_FUNCTIONS, stage, interrupted)
    assert run_tiny(corpus, out, "--save_every", "1") == 130
    monkeypatch.undo()
    return out


def test_a_refused_resume_of_a_run_without_checkpoints_changes_nothing_and_its_hint_works(tiny_corpus, tmp_path,
                                                                                         capsys):
    out = _finished_run(tiny_corpus, tmp_path / "run")
    shutil.rmtree(out / "checkpoints")
    before = _snapshot(out)
    assert run_tiny(tiny_corpus, out, "--resume", "--pretrain.steps", "4", "--pretrain.lr", "0.5") == 2
    err = capsys.readouterr().err
    assert "holds no checkpoint" in err and "--overwrite" in err and "start without --resume" not in err
    assert _snapshot(out) == before  # config.yaml still says what the run was trained with
    assert run_tiny(tiny_corpus, out, "--pretrain.steps", "4", "--overwrite") == 0  # the hint works
    assert yaml.safe_load((out / "config.yaml").read_text())["pretrain"]["steps"] == 4


def test_refused_resumes_in_a_later_stage_save_nothing_and_a_plain_resume_still_works(tiny_corpus, tmp_path,
                                                                                      monkeypatch, capsys):
    out = _interrupted_in("pretrain_d", tiny_corpus, tmp_path / "run", monkeypatch)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"document": f"story {i} : the council met on monday and voted on plan {i} .",
                                         "summary": f"council votes on plan {i}"}) + "\n" for i in range(12)))
    before = _snapshot(out)
    assert run_tiny(tiny_corpus, out, "--save_every", "1", "--resume", "--pretrain.steps", "400") == 2
    assert "finished stage pretrain" in capsys.readouterr().err
    assert run_tiny(tiny_corpus, out, "--save_every", "1", "--resume", "--supervised.pairs", str(pairs)) == 2
    assert "supervised.pairs" in capsys.readouterr().err
    assert _snapshot(out) == before
    assert run_tiny(tiny_corpus, out, "--save_every", "1", "--resume") == 0  # refused for nothing it never gave


def test_resuming_a_finished_run_trains_nothing_and_writes_nothing(tiny_corpus, tmp_path, capsys):
    out = _finished_run(tiny_corpus, tmp_path / "run")
    before = _snapshot(out)
    assert run_tiny(tiny_corpus, out, "--resume", "--adversarial.lr_g", "0.01") == 2
    assert "adversarial.lr_g" in capsys.readouterr().err
    assert run_tiny(tiny_corpus, out, "--resume", "--resume-with-changes", "--adversarial.lr_g", "0.01") == 0
    assert "nothing to train" in capsys.readouterr().out
    assert _snapshot(out) == before  # neither config.yaml nor final/config.yaml claims lr_g 0.01


# --- what a resume may change -------------------------------------------------------------------------------------


def test_a_resume_that_changes_a_learning_rate_is_refused_unless_asked_and_then_recorded(tiny_corpus, tmp_path,
                                                                                        capsys):
    out = _finished_run(tiny_corpus, tmp_path / "run", "--adversarial.steps", "1")
    before = _snapshot(out)
    assert run_tiny(tiny_corpus, out, "--resume", "--adversarial.steps", "2", "--adversarial.lr_g", "0.5") == 2
    err = capsys.readouterr().err
    assert "adversarial.lr_g 0.001 -> 0.5" in err and "--adversarial.lr_g 0.001" in err
    assert "--resume-with-changes" in err
    assert _snapshot(out) == before
    # pacing may change freely; the learning rate only when asked, and then the run says from which step
    assert run_tiny(tiny_corpus, out, "--resume", "--adversarial.steps", "2", "--log_every", "2", "--eval_every", "1",
                    "--num_threads", "1", "--adversarial.lr_g", "0.5", "--resume-with-changes") == 0
    recorded = yaml.safe_load((out / "config.yaml").read_text())
    change = {"step": 1, "stage": "adversarial", "key": "adversarial.lr_g", "old": 0.001, "new": 0.5}
    assert [{k: c[k] for k in change} for c in recorded["resume_changes"]] == [change]
    assert recorded["adversarial"]["lr_g"] == 0.5 and recorded["log_every"] == 2
    assert yaml.safe_load((out / "final" / "config.yaml").read_text())["resume_changes"] == recorded["resume_changes"]
    assert "adversarial.lr_g changes from 0.001 to 0.5 at adversarial step 1" in (out / "train.log").read_text()
    # the recorded config resumes as it is (resume_changes is a record, not a setting), and keeps the record
    assert main(["--config", str(out / "config.yaml"), "--resume", "--adversarial.steps", "3"]) == 0
    assert yaml.safe_load((out / "config.yaml").read_text())["resume_changes"] == recorded["resume_changes"]


def test_what_a_resume_may_change_freely():
    from seq2seq2seq.config import load_config
    from seq2seq2seq.resume_policy import flatten, restricted_changes
    from seq2seq2seq.train.trainer import STAGES

    old = flatten(load_config().to_dict())
    free = load_config(overrides={"output_dir": "elsewhere", "log_every": 3, "eval_every": 7, "save_every": 9,
                                  "sample_every": 0, "num_threads": 2, "report_to": "none",
                                  "adversarial": {"steps": 5}, "pretrain_d": {"steps": 4}})
    assert restricted_changes(old, free, "pretrain_d", STAGES) == []
    moved = load_config(overrides={"pretrain": {"steps": 4}, "data_dir": "other", "adversarial": {"lr_d": 0.1},
                                   "model": {"d_model": 128}})
    assert {key for key, _, _ in restricted_changes(old, moved, "pretrain_d", STAGES)} == {
        "pretrain.steps", "data_dir", "adversarial.lr_d", "model.d_model"}


def test_resume_with_changes_needs_resume(capsys):
    assert main(["--resume-with-changes", "--print_config"]) == 2
    assert "pass --resume as well" in capsys.readouterr().err


# --- one run per run folder ---------------------------------------------------------------------------------------

_HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f"{os.getpid()}\\n".encode())
print("locked", flush=True)
time.sleep(120)
"""


def test_a_second_run_in_a_busy_run_folder_is_refused_naming_the_first(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    # the first run: another process that holds the folder's lock
    first = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(out / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "locked"
        assert run_tiny(tiny_corpus, out) == 2
        err = capsys.readouterr().err
        assert f"process {first.pid}" in err and "--output_dir" in err
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written beside the first run
    finally:
        first.kill()
        first.wait()
    # its lock file, left by a killed process, does not block: the kernel released the lock
    assert run_tiny(tiny_corpus, out) == 0
    assert not (out / ".lock").exists()  # and this run let go of its own


def test_the_run_lock_is_exclusive_released_and_leaves_no_trace(tmp_path):
    from seq2seq2seq.run_lock import RunLockError, acquire

    folder = tmp_path / "new" / "run"
    with acquire(folder):
        assert (folder / ".lock").read_text().strip() == str(os.getpid())
        with pytest.raises(RunLockError, match=f"process {os.getpid()}"):
            acquire(folder)  # a second holder, even in this process
    assert not folder.exists()  # a command that wrote nothing leaves no folder behind
    try:
        with acquire(folder):
            (folder / "metrics.jsonl").write_text("{}\n")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert sorted(p.name for p in folder.iterdir()) == ["metrics.jsonl"]
    acquire(folder).release()  # released on the way out of the interrupted block


# --- a diverged model is never exported ---------------------------------------------------------------------------


def test_a_diverged_model_is_not_saved_over_the_last_good_checkpoint_and_exports(tiny_corpus, tmp_path, capsys,
                                                                                monkeypatch):
    out = _finished_run(tiny_corpus, tmp_path / "run", "--save_every", "1")
    good = ckpt_list(out)[-1]
    exports = {p: p.read_bytes() for p in (out / "final").rglob("*") if p.is_file()}
    exports.update({p: p.read_bytes() for p in (out / "best").rglob("*") if p.is_file()})
    original = train_loop.STEP_FUNCTIONS["adversarial"]

    def diverging(self, step):
        stats = original(self, step)
        with torch.no_grad():  # what a too-high learning rate does to a weight
            self.accelerator.unwrap_model(self.g).get_encoder().layers[0].fc1.weight[0, :3] = float("nan")
        return stats

    monkeypatch.setitem(train_loop.STEP_FUNCTIONS, "adversarial", diverging)
    assert run_tiny(tiny_corpus, out, "--save_every", "1", "--resume", "--adversarial.steps", "3") == 2
    err = capsys.readouterr().err
    assert "diverged" in err and "summarizer.model.encoder.layers.0.fc1.weight (3 of" in err
    assert str(good) in err and "Traceback" not in err
    assert ckpt_list(out)[-1] == good  # no checkpoint of the diverged model
    assert {p: p.read_bytes() for p in exports} == exports  # final/ and best/ as the good run left them


def test_a_model_that_diverges_between_checkpoints_stops_with_the_reason_not_a_sampling_traceback(
        tiny_corpus, tmp_path, capsys, monkeypatch):
    original = train_loop.STEP_FUNCTIONS["adversarial"]

    def diverging(self, step):
        stats = original(self, step)
        with torch.no_grad():
            for parameter in self.g.parameters():
                parameter.fill_(float("inf"))
        return stats

    monkeypatch.setitem(train_loop.STEP_FUNCTIONS, "adversarial", diverging)
    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out) == 2  # step 1 samples from G's inf/nan probabilities
    err = capsys.readouterr().err
    assert "diverged" in err and "adversarial step 2 cannot run" in err and "Traceback" not in err
    assert str(ckpt_list(out)[-1]) in err and not (out / "final").exists()
