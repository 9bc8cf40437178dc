"""One round of expert iteration (issue 32, scripts/expert_round.py): the commands it runs, the errors that name what
a previous run lacks, and the training overrides it gives (a warm start from the previous run)."""

from __future__ import annotations

import importlib.util
import shlex
import shutil
from pathlib import Path

import pytest
import torch
from conftest import run_tiny
from pretrained import tiny_bert
from test_summarize import tokenizer_texts

from data_prep.search_targets import main as targets_main
from seq2seq2seq.search_targets import read_targets

ROOT = Path(__file__).resolve().parent.parent


def _round_module():
    spec = importlib.util.spec_from_file_location("expert_round", ROOT / "scripts" / "expert_round.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("encoder"), tokenizer_texts(200))


def test_the_round_prints_its_commands(tiny_run, tmp_path, capsys):
    expert_round = _round_module()
    best = "best" if (tiny_run / "best" / "summarizer").is_dir() else "final"
    g = str(tiny_run / best / "summarizer")
    out = tmp_path / "next"
    assert expert_round.main(["--previous", str(tiny_run), "--out", str(out), "--max_documents", "32", "--steps",
                              "2", "--dry-run", "--", "--adversarial.steps", "0"]) == 0
    targets, benchmark = [shlex.split(line) for line in capsys.readouterr().out.splitlines()]
    flag = lambda cmd, name: cmd[cmd.index(name) + 1]  # noqa: E731
    assert targets[1:3] == ["-m", "data_prep.search_targets"] and flag(targets, "--model") == g
    assert flag(targets, "--out") == str(out / "targets") and flag(targets, "--max_documents") == "32"
    assert flag(targets, "--reconstruction_model") == str(tiny_run) == flag(targets, "--discriminator_model")
    assert benchmark[1].endswith("scripts/benchmark.py") and flag(benchmark, "--run_dir") == str(out)
    assert flag(benchmark, "--config") == str(tiny_run / "config.yaml")
    assert flag(benchmark, "--model.summarizer_init") == g and flag(benchmark, "--pretrain.task") == "search"
    assert flag(benchmark, "--pretrain.search_targets") == str(out / "targets")
    assert flag(benchmark, "--model.reconstructor_init") == str(tiny_run / "final" / "reconstructor")
    assert flag(benchmark, "--pretrain.steps") == "2" and benchmark[-2:] == ["--adversarial.steps", "0"]
    assert not out.exists()  # a dry run makes nothing
    assert "--pretrain.search_documents" not in benchmark  # every document up to --max_documents
    assert expert_round.main(["--previous", str(tiny_run), "--out", str(out), "--max_documents", "64",
                              "--first_document", "32", "--dry-run"]) == 0
    targets, benchmark = [shlex.split(line) for line in capsys.readouterr().out.splitlines()]
    assert flag(targets, "--first_document") == "32" and flag(benchmark, "--pretrain.search_documents") == "covered"
    # refused before the search: no documents above K, or an anchor that would read the earlier documents' targets
    assert expert_round.main(["--previous", str(tiny_run), "--out", str(out), "--max_documents", "16",
                              "--first_document", "32", "--dry-run"]) == 2
    assert "needs --max_documents above it" in capsys.readouterr().err
    assert expert_round.main(["--previous", str(tiny_run), "--out", str(out), "--max_documents", "64",
                              "--first_document", "32", "--dry-run", "--", "--adversarial.steps", "5",
                              "--adversarial.pretrain_weight", "1"]) == 2
    assert "-- --adversarial.steps 0" in capsys.readouterr().err


def test_warm_start_g_starts_r_and_d_afresh_and_needs_no_r_or_d_that_does_not_judge(tiny_run, tmp_path, capsys):
    expert_round = _round_module()
    previous = tmp_path / "g_only"
    (previous / "final").mkdir(parents=True)
    shutil.copy(tiny_run / "config.yaml", previous / "config.yaml")
    best = "best" if (tiny_run / "best" / "summarizer").is_dir() else "final"
    shutil.copytree(tiny_run / best / "summarizer", previous / "final" / "summarizer")  # no R, no D exported
    args = ["--previous", str(previous), "--out", str(tmp_path / "o"), "--dry-run", "--warm_start", "g"]
    assert expert_round.main(args + ["--reconstruction_weight", "0", "--discriminator_weight", "0"]) == 0
    targets, benchmark = [shlex.split(line) for line in capsys.readouterr().out.splitlines()]
    assert "--reconstruction_model" not in targets and "--discriminator_model" not in targets
    assert "--model.summarizer_init" in benchmark
    assert "--model.reconstructor_init" not in benchmark and "--discriminator.init" not in benchmark
    assert expert_round.main(args + ["--discriminator_weight", "0"]) == 2  # R judges by default: its export is needed
    assert "has no reconstructor export" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        expert_round.main(args[:-2] + ["--warm_start", "r,d"])
    assert "G always starts from it" in capsys.readouterr().err


def test_the_round_names_what_is_missing(tiny_run, tmp_path, capsys):
    expert_round = _round_module()
    assert expert_round.main(["--previous", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert expert_round.main(["--previous", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "holds no training run" in capsys.readouterr().err
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    shutil.copy(tiny_run / "config.yaml", unfinished / "config.yaml")
    assert expert_round.main(["--previous", str(unfinished), "--out", str(tmp_path / "o"), "--dry-run"]) == 2
    assert "has no summarizer, reconstructor, discriminator export" in capsys.readouterr().err


def test_the_rounds_training_overrides_warm_start_from_the_previous_run(tiny_corpus, tiny_run, encoder_dir,
                                                                        tmp_path, capsys):
    """The targets command, then the benchmark's training overrides as a tiny training run: they are valid keys
    and the new G starts from the previous one."""
    expert_round = _round_module()
    assert expert_round.main(["--previous", str(tiny_run), "--out", str(tmp_path / "next"), "--max_documents", "32",
                              "--dry-run", "--samples", "2", "--similarity_model", str(encoder_dir)]) == 0
    targets, benchmark = [shlex.split(line) for line in capsys.readouterr().out.splitlines()]
    assert targets_main(targets[3:]) == 0
    manifest = read_targets(tmp_path / "next" / "targets")
    assert set(manifest.kinds) <= {"rule", "variant", "greedy", "sample", "drop", "insert"}
    overrides = benchmark[benchmark.index("--run_dir") + 2:]
    assert run_tiny(tiny_corpus, tmp_path / "next" / "train", *overrides, "--pretrain.steps", "0",
                    "--pretrain_d.steps", "0", "--adversarial.steps", "0") == 0
    from safetensors.torch import load_file

    g = benchmark[benchmark.index("--model.summarizer_init") + 1]
    before, after = load_file(f"{g}/model.safetensors"), load_file(str(tmp_path / "next/train/final/summarizer/"
                                                                       "model.safetensors"))
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
