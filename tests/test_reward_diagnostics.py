"""scripts/research/reward_diagnostics.py: per-reward correlation with ROUGE across G's samples, on a tiny finished
run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from conftest import TINY_CONFIG

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("reward_diagnostics",
                                               ROOT / "scripts" / "research" / "reward_diagnostics.py")
diagnostics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(diagnostics)


def test_pearson_by_hand() -> None:
    assert diagnostics.pearson([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == pytest.approx(1.0)
    assert diagnostics.pearson([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    # x = (0, 1, 2), y = (0, 2, 1): cov = 1, var x = var y = 2 -> 0.5
    assert diagnostics.pearson([0.0, 1.0, 2.0], [0.0, 2.0, 1.0]) == pytest.approx(0.5)
    assert diagnostics.pearson([1.0, 1.0, 1.0], [0.0, 2.0, 1.0]) is None


def test_reports_every_reward_within_the_sample_range(tiny_corpus: Path, tiny_run: Path, tmp_path: Path,
                                                      capsys) -> None:
    checkpoint = sorted((tiny_run / "checkpoints").iterdir())[-1]
    out = tmp_path / "diag.json"
    code = diagnostics.main(["--config", str(TINY_CONFIG), "--data_dir", str(tiny_corpus), "--checkpoint",
                             str(checkpoint), "--documents", "5", "--samples", "3", "--batch", "2",
                             "--json", str(out), "--zscore", "reconstruction:1,contiguity:0.5"])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["documents"] == 5 and result["samples"] == 3
    rouge = result["rouge"]
    assert 0.0 <= rouge["mean_sample"] <= rouge["oracle"] <= 100.0
    for name in ("reconstruction", "discriminator", "length", "headline", "contiguity", "total",
                 "z: reconstruction:1,contiguity:0.5"):
        row = result["rewards"][name]
        assert -1.0 <= row["corr"] <= 1.0
        assert row["pick"] <= rouge["oracle"] + 1e-9  # the top sample by any reward is one of the samples
    assert "| total |" in capsys.readouterr().out
    code = diagnostics.main(["--config", str(TINY_CONFIG), "--data_dir", str(tiny_corpus), "--checkpoint",
                             str(checkpoint), "--documents", "2", "--zscore", "nosuch:1"])
    assert code == 2 and "--zscore names nosuch" in capsys.readouterr().err


def test_missing_checkpoint_is_a_clear_error(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    code = diagnostics.main(["--config", str(TINY_CONFIG), "--data_dir", str(tiny_corpus), "--checkpoint",
                             str(tmp_path / "nowhere")])
    assert code == 2
    assert "nowhere" in capsys.readouterr().err


def test_parse_combination_and_its_errors(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    assert diagnostics.parse_combination("similarity:1,fluency:0.5") == {"similarity": 1.0, "fluency": 0.5}
    for bad in ("similarity", "similarity:x", ":1"):
        with pytest.raises(ValueError, match="is not NAME:WEIGHT"):
            diagnostics.parse_combination(bad)
    with pytest.raises(SystemExit):
        diagnostics.main(["--config", str(TINY_CONFIG), "--checkpoint", str(tmp_path), "--zscore", "similarity"])
    assert "is not NAME:WEIGHT" in capsys.readouterr().err


def test_candidates_put_each_documents_rule_samples_after_its_g_samples() -> None:
    import torch

    from seq2seq2seq.types import Summaries
    # 2 documents; G: 2 samples each, width 2; rule: 1 sample each, width 3; pad id 0
    g = Summaries(torch.tensor([[1, 2], [3, 2], [4, 2], [5, 2]]), torch.ones(4, 2, dtype=torch.long))
    rule = Summaries(torch.tensor([[7, 8, 2], [9, 2, 0]]), torch.tensor([[1, 1, 1], [1, 1, 0]]))
    both = diagnostics.candidates(g, rule, b=2, pad=0)
    assert both.summary_ids.tolist() == [[1, 2, 0], [3, 2, 0], [7, 8, 2], [4, 2, 0], [5, 2, 0], [9, 2, 0]]
    assert both.summary_mask.tolist() == [[1, 1, 0], [1, 1, 0], [1, 1, 1], [1, 1, 0], [1, 1, 0], [1, 1, 0]]
    assert diagnostics.candidates(None, rule, b=2, pad=0) is rule


def test_the_rules_samples_as_candidates(tiny_corpus: Path, tiny_run: Path, tmp_path: Path, capsys) -> None:
    checkpoint = sorted((tiny_run / "checkpoints").iterdir())[-1]
    base = ["--config", str(TINY_CONFIG), "--data_dir", str(tiny_corpus), "--checkpoint", str(checkpoint),
            "--documents", "4", "--batch", "2", "--rule_samples", "3", "--rule_temperature", "1.0"]
    out = tmp_path / "rule.json"
    assert diagnostics.main(base + ["--samples", "0", "--json", str(out)]) == 0
    alone = json.loads(out.read_text())
    assert alone["samples"] == 3 and alone["g_samples"] == 0
    # the deterministic rule is one of the summaries a low-temperature sample can be; its score is a real ROUGE
    assert 0.0 <= alone["rouge"]["rule"] <= 100.0
    assert all(row["rule_picked"] == 1.0 for row in alone["rewards"].values())  # nothing else to pick
    assert diagnostics.main(base + ["--samples", "2", "--json", str(out)]) == 0
    mixed = json.loads(out.read_text())
    assert mixed["samples"] == 5
    assert all(0.0 <= row["rule_picked"] <= 1.0 for row in mixed["rewards"].values())
    assert "rule's sample on top" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        diagnostics.main(base[:-4] + ["--samples", "1", "--rule_samples", "0"])
    assert "must be >= 2" in capsys.readouterr().err


def test_the_script_replays_the_runs_batches_through_public_functions(tiny_corpus: Path, tmp_path: Path) -> None:
    # the diagnostics seed and tokenize a batch with data.seed_batch and data.tokenize_documents, not a Trainer's
    # private methods: both must do what the training loop does
    import torch

    from seq2seq2seq.config import load_config, merge_overrides
    from seq2seq2seq.data import SEED_STREAMS, load_corpus, seed_batch, tokenize_documents
    from seq2seq2seq.train import trainer as trainer_module

    # the batch seed by hand: (seed * 7919 + stream * 1_000_003 + index) mod 2^31, stream "adversarial" = 2
    assert SEED_STREAMS["adversarial"] == 2
    seed_batch(3, "adversarial", 5)
    drawn = torch.rand(2)
    torch.manual_seed((3 * 7919 + 2 * 1_000_003 + 5) % 2**31)
    assert torch.equal(torch.rand(2), drawn)
    cfg = load_config(TINY_CONFIG, merge_overrides({"data_dir": str(tiny_corpus), "output_dir": str(tmp_path)},
                                          {"seed": 3}))
    trainer = trainer_module.Trainer(cfg, load_corpus(cfg.data_dir))
    for stream, index in (("adversarial", 0), ("adversarial_anchor", 7), ("pretrain", 123456)):
        mine = seed_batch(cfg.seed, stream, index)
        drawn = torch.rand(3)
        theirs = trainer.engine.seed(stream, index)
        assert torch.equal(torch.rand(3), drawn) and mine.random() == theirs.random()
        assert not torch.equal(torch.rand(3), drawn)  # the draws above did not just repeat one seed
    texts = trainer.corpus.documents[:3]
    ours = tokenize_documents(trainer.tokenizer, trainer.r_tokenizer, texts, cfg.model.max_document_tokens)
    run = trainer.batches.documents(texts)
    assert torch.equal(ours.input_ids, run.input_ids) and torch.equal(ours.attention_mask, run.attention_mask)
    assert (ours.target_ids is None) == (run.target_ids is None)
    source = (ROOT / "scripts" / "research" / "reward_diagnostics.py").read_text()
    assert "Trainer" not in source and "trainer._" not in source
