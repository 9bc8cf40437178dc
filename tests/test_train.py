"""The training loop on tiny random models: export, learning signals, resume and 2-process equivalence."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY_CONFIG, assert_same_weights, run_tiny

from seq2seq2seq.config import load_config
from seq2seq2seq.data import decoder_targets, load_corpus
from seq2seq2seq.decoding.sampling import summary_logits, summary_token_mask
from seq2seq2seq.losses import reinforce_loss, token_logprobs
from seq2seq2seq.models.build import load_seq2seq
from seq2seq2seq.rl.rollout import collect
from seq2seq2seq.train import stages
from seq2seq2seq.train.cli import main
from seq2seq2seq.train.trainer import Trainer
from seq2seq2seq.types import Summaries

ROOT = Path(__file__).resolve().parent.parent


def _trainer(corpus: Path, out: Path, **overrides) -> Trainer:
    from seq2seq2seq.config import merge_overrides

    cfg = load_config(TINY_CONFIG, merge_overrides({"data_dir": str(corpus), "output_dir": str(out)}, overrides))
    return Trainer(cfg, load_corpus(cfg.data_dir))


def test_tiny_run_exports_all_models(tiny_run: Path) -> None:
    final = tiny_run / "final"
    for part in ("summarizer", "reconstructor", "discriminator", "tokenizer"):
        assert (final / part).is_dir(), part
    results = json.loads((final / "results.json").read_text())
    # every stage ran and its throughput was measured
    assert set(results["throughput"]) == {"pretrain", "pretrain_d", "adversarial"}
    assert all(t["examples_per_second"] > 0 for t in results["throughput"].values())
    # model FLOPs were counted (once per stage) and turned into an achieved rate
    assert all(t["flops_per_step"] > 0 and t["flops_per_second"] > 0 for t in results["throughput"].values())
    # G as pre-training left it, for the benchmark's ablation row
    assert (tiny_run / "pretrained" / "summarizer" / "model.safetensors").is_file()
    assert results["history"] and "dev/rougeL" in results["history"][-1]
    assert (tiny_run / "best" / "summarizer" / "model.safetensors").is_file()
    model = load_seq2seq(final / "summarizer")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(final / "summarizer"))
    batch = tokenizer(["the government said on friday it would cut taxes ."], return_tensors="pt")
    out = model.generate(**batch)  # generation defaults come from the export's generation_config
    assert out.shape[1] <= model.generation_config.max_new_tokens + 1


def test_every_parameter_changes_after_one_adversarial_step(tiny_corpus: Path, tmp_path: Path) -> None:
    trainer = _trainer(tiny_corpus, tmp_path)
    for opt in (trainer.opt_g, trainer.opt_r, trainer.opt_d):
        for group in opt.param_groups:
            # without weight decay, Adam moves a weight on the first step iff it received a non-zero gradient
            group["weight_decay"] = 0.0
    models = {"g": trainer.g, "r": trainer.r, "d": trainer.d}
    before = {f"{m}.{n}": p.detach().clone() for m, model in models.items() for n, p in model.named_parameters()}
    stats = stages.adversarial_step(trainer, 0)
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    unchanged = [f"{m}.{n}" for m, model in models.items() for n, p in model.named_parameters()
                 if torch.equal(p.detach(), before[f"{m}.{n}"])]
    assert unchanged == []


def test_reinforce_makes_higher_reward_summary_more_likely(tiny_corpus: Path, tmp_path: Path) -> None:
    trainer = _trainer(tiny_corpus, tmp_path)
    g = trainer.accelerator.unwrap_model(trainer.g)
    docs = trainer.batches.documents([trainer.corpus.documents[0]] * 2)
    # two hand-built summaries of the same document: the first gets reward +1, the second -1
    ids = torch.tensor([[10, 11, 12, 1], [13, 14, 15, 1]])
    summaries = Summaries(ids, summary_token_mask(ids, eos_id=1))

    def logps() -> torch.Tensor:
        logits = summary_logits(g, docs.input_ids, docs.attention_mask, summaries, trainer.cfg.decoding)
        return (token_logprobs(logits, ids) * summaries.summary_mask).sum(1)

    start = logps().detach()
    optimizer = torch.optim.SGD(g.parameters(), lr=0.05)
    reinforce_loss(token_logprobs(summary_logits(g, docs.input_ids, docs.attention_mask, summaries,
                                                 trainer.cfg.decoding), ids),
                   summaries.summary_mask, torch.tensor([1.0, -1.0])).backward()
    optimizer.step()
    end = logps().detach()
    assert end[0] > start[0]  # rewarded summary became more likely
    assert end[1] < start[1]  # penalised one less likely


def test_pretraining_anchor_pulls_g_towards_pseudo_summaries(tiny_corpus: Path, tmp_path: Path) -> None:
    def imitation_loss_after_step(weight: float) -> float:
        torch.manual_seed(0)
        trainer = _trainer(tiny_corpus, tmp_path / str(weight), adversarial={"pretrain_weight": weight})
        stats = stages.adversarial_step(trainer, 0)
        assert ("loss/anchor" in stats) == (weight > 0)
        # the pseudo-summaries the anchor saw in step 0 (the first micro-batch, index 0)
        texts = [trainer.corpus.documents[i] for i in trainer.batches.adv_stream.indices(0)]
        batch = trainer.batches.pseudo_batch(texts, trainer.engine.seed("adversarial_anchor", 0))
        trainer.g.eval()
        with torch.no_grad():
            return stages.g_imitation_loss(trainer, *batch)[0].item()

    # the same start and the same REINFORCE samples: only the anchor term differs, and it lowers G's loss on them
    assert imitation_loss_after_step(10.0) < imitation_loss_after_step(0.0)


def test_anchor_only_ablation_trains_g_on_the_anchor_alone(tiny_corpus: Path, tmp_path: Path) -> None:
    # every reward off, the anchor on: REINFORCE has nothing to say (zero advantages), G still moves by the anchor
    off = {"reconstruction_weight": 0.0, "discriminator_weight": 0.0, "similarity_weight": 0.0,
           "fluency_weight": 0.0, "length_weight": 0.0}
    trainer = _trainer(tiny_corpus, tmp_path, adversarial={**off, "pretrain_weight": 1.0})
    rollout = collect(trainer, 0)
    assert torch.equal(rollout.advantages, torch.zeros_like(rollout.advantages))
    assert rollout.stats["reward/total/mean"] == 0.0
    g_before = [p.detach().clone() for p in trainer.g.parameters()]
    stats = stages.adversarial_step(trainer, 1)
    assert stats["loss/anchor"] > 0 and stats["loss/g"] == 0.0
    assert any(not torch.equal(p.detach(), b) for p, b in zip(trainer.g.parameters(), g_before))


def test_anchor_with_headline_task_works_without_a_pretraining_stage(tiny_corpus: Path, tmp_path: Path) -> None:
    # the anchor replays the headline task, whose word statistics must exist even when pretrain.steps is 0
    trainer = _trainer(tiny_corpus, tmp_path, pretrain={"task": "headline", "steps": 0},
                       adversarial={"pretrain_weight": 1.0})
    stats = stages.adversarial_step(trainer, 0)
    assert stats["loss/anchor"] > 0


def test_interrupted_and_resumed_run_matches_uninterrupted(tiny_corpus: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert run_tiny(tiny_corpus, straight, "--save_every", "1") == 0

    from seq2seq2seq.train import loop

    original = loop.STEP_FUNCTIONS["adversarial"]

    def crash_at_step_1(trainer, step):
        if step == 1:
            raise KeyboardInterrupt("simulated kill in the middle of the adversarial stage")
        return original(trainer, step)

    monkeypatch.setitem(loop.STEP_FUNCTIONS, "adversarial", crash_at_step_1)
    assert run_tiny(tiny_corpus, resumed, "--save_every", "1") == 130  # Ctrl-C: a message, not a traceback
    monkeypatch.setitem(loop.STEP_FUNCTIONS, "adversarial", original)
    state = json.loads(sorted((resumed / "checkpoints").glob("step-*"))[-1].joinpath("training_state.json").read_text())
    assert (state["stage"], state["step"]) == ("adversarial", 1)
    assert run_tiny(tiny_corpus, resumed, "--save_every", "1", "--resume") == 0
    assert_same_weights(straight, resumed)


def test_existing_run_needs_resume_flag(tiny_run: Path, tiny_corpus: Path, capsys) -> None:
    assert run_tiny(tiny_corpus, tiny_run) == 2
    assert "--resume" in capsys.readouterr().err


def test_corrupt_checkpoint_gives_clear_error(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, "--adversarial.steps", "1") == 0
    newest = sorted((out / "checkpoints").glob("step-*"))[-1]
    (newest / "model.safetensors").write_bytes(b"not a safetensors file")
    assert run_tiny(tiny_corpus, out, "--adversarial.steps", "2", "--resume") == 2
    err = capsys.readouterr().err
    assert "corrupt" in err and str(newest) in err


def test_missing_corpus_gives_clear_error(tmp_path: Path, capsys) -> None:
    code = main(["--config", str(TINY_CONFIG), "--data_dir", str(tmp_path / "nope"), "--output_dir",
                 str(tmp_path / "run")])
    assert code == 2
    assert "python -m data_prep" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun not installed")
@pytest.mark.parametrize("estimator", ["reinforce", "gumbel"])
def test_two_processes_match_one_process_with_double_accumulation(tiny_corpus: Path, tmp_path: Path,
                                                                  estimator: str) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    # the pre-training anchor is on: its gradient is accumulated locally and all-reduced with REINFORCE's (or with
    # the Gumbel estimator's, whose noise is drawn per micro-batch like the samples)
    anchor = ["--adversarial.pretrain_weight", "0.5", "--adversarial.estimator", estimator]
    assert run_tiny(tiny_corpus, one, "--gradient_accumulation_steps", "2", "--num_threads", "1", *anchor) == 0
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "--master_port", str(29533 + (estimator == "gumbel")), "-m",
         "seq2seq2seq.train",
         "--config", str(TINY_CONFIG), "--data_dir", str(tiny_corpus), "--output_dir", str(two),
         "--gradient_accumulation_steps", "1", "--num_threads", "1", *anchor],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((two / "final" / "results.json").read_text())["world_size"] == 2
    assert_same_weights(one, two)


def test_whole_word_decoding_trains_and_summarizes(tiny_corpus: Path, tmp_path: Path) -> None:
    from seq2seq2seq.inference.cli import main as summarize_main

    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, "--decoding.source_only", "true", "--decoding.whole_words", "true") == 0
    decoding = json.loads((out / "final" / "summarizer" / "seq2seq2seq_decoding.json").read_text())
    assert decoding["whole_words"] is True and decoding["source_only"] is True
    documents = ["the central bank raised interest rates on tuesday .", "rain fell across the north ."]
    (tmp_path / "in.txt").write_text("\n".join(documents) + "\n", encoding="utf-8")
    assert summarize_main(["--model", str(out / "final" / "summarizer"), "--input", str(tmp_path / "in.txt"),
                           "--output", str(tmp_path / "out.txt"), "--quiet"]) == 0
    summaries = (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()
    assert len(summaries) == 2
    for document, summary in zip(documents, summaries):
        # every summary word is built from the document's words (pieces are never glued across words), so with
        # a tiny vocabulary (mostly short pieces) each word is at least a substring of some document word
        assert all(any(word in source for source in document.split()) for word in summary.split()), summary


def test_constrained_pretraining_loss_is_finite_and_lower_than_unconstrained(tiny_corpus: Path, tmp_path: Path) -> None:
    overrides = {"decoding": {"source_only": True, "whole_words": True}}
    constrained = stages.pretrain_step(_trainer(tiny_corpus, tmp_path / "a", **overrides,
                                                pretrain={"constrained_loss": True}), 0)
    free = stages.pretrain_step(_trainer(tiny_corpus, tmp_path / "b", **overrides,
                                         pretrain={"constrained_loss": False}), 0)
    assert torch.isfinite(torch.tensor(constrained["loss/g"]))
    # same initial weights (same seed) and batch: choosing among the document's pieces is an easier problem than
    # choosing among the whole vocabulary, so its cross-entropy starts lower
    assert constrained["loss/g"] < free["loss/g"]


def test_pointer_model_with_headline_pretraining_trains_exports_and_serves(tiny_corpus: Path, tmp_path: Path) -> None:
    import transformers

    from seq2seq2seq.inference.cli import main as summarize_main
    from seq2seq2seq.inference.hf_pipeline import register
    from seq2seq2seq.models.pointer import PointerBartForConditionalGeneration

    register()  # the "seq2seq2seq-summarization" task
    out = tmp_path / "run"
    assert run_tiny(tiny_corpus, out, "--model.pointer", "true", "--pretrain.task", "headline",
                    "--decoding.source_only", "true", "--decoding.whole_words", "true") == 0
    for part in ("final/summarizer", "final/reconstructor", "pretrained/summarizer", "best/summarizer"):
        assert isinstance(load_seq2seq(out / part), PointerBartForConditionalGeneration), part
    documents = ["the central bank raised interest rates on tuesday .", "rain fell across the north ."]
    (tmp_path / "in.txt").write_text("\n".join(documents) + "\n", encoding="utf-8")
    assert summarize_main(["--model", str(out / "final" / "summarizer"), "--input", str(tmp_path / "in.txt"),
                           "--output", str(tmp_path / "out.txt"), "--quiet"]) == 0
    summaries = (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()
    pipe = transformers.pipeline("seq2seq2seq-summarization", model=str(out / "final" / "summarizer"))
    assert [row["summary_text"] for row in pipe(documents)] == summaries


def test_a_non_finite_g_loss_skips_the_update_and_is_logged(tiny_corpus: Path, tmp_path: Path, monkeypatch,
                                                             caplog) -> None:
    # one -inf log-prob used to make G's loss and then all of G's weights NaN for good
    import logging

    import seq2seq2seq.rl.objectives as train_module

    trainer = _trainer(tiny_corpus, tmp_path)
    before = {n: p.detach().clone() for n, p in trainer.g.named_parameters()}
    real = train_module.token_logprobs

    def poisoned(logits, labels):
        out = real(logits, labels)
        return torch.cat([out[:1] * float("inf") * -1, out[1:]]) if logits.requires_grad else out

    monkeypatch.setattr(train_module, "token_logprobs", poisoned)
    with caplog.at_level(logging.WARNING, logger="seq2seq2seq"):
        stats = stages.adversarial_step(trainer, 0)
    assert not math.isfinite(stats["loss/g"])
    assert all(torch.equal(p.detach(), before[n]) for n, p in trainer.g.named_parameters())  # G untouched
    assert trainer.state["skipped_steps"] == {"g": 1}
    assert any("skipped an update of G" in r.getMessage() for r in caplog.records)
    monkeypatch.setattr(train_module, "token_logprobs", real)
    stages.adversarial_step(trainer, 1)  # and training goes on with finite weights
    assert all(torch.isfinite(p).all() for p in trainer.g.parameters())
    assert any(not torch.equal(p.detach(), before[n]) for n, p in trainer.g.named_parameters())


def test_best_of_k_baseline_marks_one_sample_per_document_and_trains(tiny_corpus: Path, tmp_path: Path) -> None:
    trainer = _trainer(tiny_corpus, tmp_path, adversarial={"baseline": "best", "num_samples": 3})
    rollout = collect(trainer, 0)
    weights = rollout.advantages.view(len(rollout.texts), 3)
    assert torch.equal(weights.sum(1), torch.ones(len(rollout.texts)))  # exactly one imitated sample a document
    assert set(weights.unique().tolist()) == {0.0, 1.0}
    g_before = [p.detach().clone() for p in trainer.g.parameters()]
    stats = stages.adversarial_step(trainer, 1)
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    assert any(not torch.equal(p.detach(), b) for p, b in zip(trainer.g.parameters(), g_before))


def test_collect_keeps_no_graph_and_r_trains_on_the_samples_it_rewarded(tiny_corpus: Path, tmp_path: Path) -> None:
    # the reconstruction reward of each sample is R's length-normalised log-likelihood (eval mode), and R's update
    # is its teacher-forced loss on the same samples; collecting keeps no graph
    from seq2seq2seq.losses import sequence_mean_logprob
    from seq2seq2seq.models.build import seq2seq_logits

    trainer = _trainer(tiny_corpus, tmp_path)
    rollout = collect(trainer, 0)
    k = trainer.cfg.adversarial.num_samples
    assert rollout.samples.summary_ids.shape[0] == rollout.advantages.shape[0] == len(rollout.texts) * k
    assert not rollout.advantages.requires_grad and not rollout.samples.summary_ids.requires_grad
    r = trainer.accelerator.unwrap_model(trainer.r).eval()
    with torch.no_grad():
        logits = seq2seq_logits(r, rollout.samples.summary_ids, rollout.samples.summary_mask,
                                rollout.documents.input_ids, rollout.documents.attention_mask)
        reward = sequence_mean_logprob(logits, rollout.documents.input_ids, rollout.documents.attention_mask)
    assert rollout.stats["rewards/reconstruction/mean"] == pytest.approx(reward.mean().item(), abs=1e-5)
    before = [p.detach().clone() for p in trainer.r.parameters()]
    stages.update_r(trainer, rollout)
    trainer.engine.update("r", trainer.r, trainer.opt_r)
    assert any(not torch.equal(p.detach(), b) for p, b in zip(trainer.r.parameters(), before))


def test_idf_weighted_reconstruction_reward_trains(tiny_corpus: Path, tmp_path: Path) -> None:
    trainer = _trainer(tiny_corpus, tmp_path, adversarial={"reconstruction_tokens": "idf"})
    assert trainer.rewards["reconstruction"].token_weights is not None
    stats = stages.adversarial_step(trainer, 0)
    assert math.isfinite(stats["rewards/reconstruction/mean"]) and stats["rewards/reconstruction/mean"] < 0


@pytest.mark.parametrize("pointer", [True, False])
def test_gumbel_estimator_trains_g_through_frozen_r_and_d(tiny_corpus: Path, tmp_path: Path, pointer: bool) -> None:
    # estimator: gumbel, with no REINFORCE reward left (length and similarity off): G's whole gradient comes from
    # R's and D's rewards of the soft summary rows; R and D get none of it (they learn in their own updates)
    trainer = _trainer(tiny_corpus, tmp_path, model={"pointer": pointer},
                       adversarial={"estimator": "gumbel", "length_weight": 0.0, "discriminator_weight": 0.5})
    rollout = collect(trainer, 0)
    assert torch.equal(rollout.advantages, torch.zeros_like(rollout.advantages))  # nothing left for REINFORCE
    stats = stages.update_g(trainer, rollout, 0)
    # the soft forward is the hard one in value: R's soft reward is the reconstruction reward of the samples
    assert stats["soft/reconstruction"] == pytest.approx(rollout.stats["rewards/reconstruction/mean"], abs=1e-4)
    assert stats["soft/discriminator"] == pytest.approx(rollout.stats["rewards/discriminator/mean"], abs=1e-4)
    g_grads = [p.grad for p in trainer.g.parameters() if p.grad is not None]
    assert g_grads and sum(g.abs().sum() for g in g_grads) > 0
    assert all(p.grad is None for p in trainer.d.parameters())
    assert all(p.grad is None for p in trainer.r.parameters())  # R's own loss is backpropagated by update_r


def test_gumbel_run_trains_and_exports(tiny_corpus: Path, tmp_path: Path) -> None:
    assert run_tiny(tiny_corpus, tmp_path / "run", "--adversarial.estimator", "gumbel",
                    "--adversarial.gumbel_temperature", "0.5", "--adversarial.length_weight", "0.5") == 0
    results = json.loads((tmp_path / "run" / "final" / "results.json").read_text())
    assert results["throughput"]["adversarial"]["examples_per_second"] > 0
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    adversarial = [row for row in rows if row["stage"] == "adversarial"]
    assert adversarial and all(math.isfinite(row["soft/reconstruction"]) for row in adversarial)


def test_gumbel_with_a_d_of_its_own_tokenizer_is_refused_with_the_fix(tiny_corpus: Path, tmp_path: Path,
                                                                    capsys) -> None:
    from pretrained import tiny_bert

    bert = tiny_bert(tmp_path / "bert", load_corpus(tiny_corpus).sentences[:50])
    assert run_tiny(tiny_corpus, tmp_path / "run", "--adversarial.estimator", "gumbel",
                    "--discriminator.init", str(bert)) == 2
    err = capsys.readouterr().err
    assert "adversarial.estimator: reinforce" in err and "discriminator.init" in err and "Traceback" not in err


def test_anchor_candidates_imitate_the_rewards_top_rule_variant(tiny_corpus: Path, tmp_path: Path) -> None:
    # headline vocabulary alone ranks the candidates (no model): each chosen target must be its document's best
    from seq2seq2seq.data import pseudo_summary
    from seq2seq2seq.rewards.lexical import HeadlineVocabularyReward

    off = {"reconstruction_weight": 0.0, "discriminator_weight": 0.0, "similarity_weight": 0.0,
           "fluency_weight": 0.0, "length_weight": 0.0}
    trainer = _trainer(tiny_corpus, tmp_path, pretrain={"task": "headline"},
                       adversarial={**off, "headline_weight": 1.0, "pretrain_weight": 1.0,
                                    "anchor_candidates": 4, "anchor_temperature": 2.0})
    rollout = collect(trainer, 0)
    texts, n = rollout.texts, 4
    pool = trainer.batches.anchor_pool(texts, trainer.engine.seed("adversarial_anchor", 0))
    assert len(pool) == len(texts) * n and len(rollout.anchor_targets) == len(texts)
    # each document's first candidate is the pre-training task's own pseudo-summary, as the plain anchor draws it
    rng = trainer.engine.seed("adversarial_anchor", 0)
    plain = [pseudo_summary(t, trainer.cfg.pretrain, rng, trainer.word_stats)[1] for t in texts]
    assert [pool[i * n] for i in range(len(texts))] == plain
    headline = HeadlineVocabularyReward(trainer.word_stats, trainer.tokenizer, 1.0)
    ids, mask = decoder_targets(trainer.tokenizer, pool, trainer.cfg.decoding.max_summary_tokens)
    reward = headline(trainer.batches.documents(texts).repeat(n), Summaries(ids, mask)).view(-1, n)
    for i, target in enumerate(rollout.anchor_targets):
        assert target in pool[i * n:(i + 1) * n]
        assert reward[i, pool[i * n:(i + 1) * n].index(target)] == pytest.approx(reward[i].max().item())
    assert 0.0 <= rollout.stats["anchor/pseudo_summary_kept"] <= 1.0
    assert len(set(pool)) > len(texts)  # the variants differ from the pseudo-summary somewhere
    g_before = [p.detach().clone() for p in trainer.g.parameters()]
    stats = stages.adversarial_step(trainer, 1)
    assert stats["loss/anchor"] > 0
    assert any(not torch.equal(p.detach(), b) for p, b in zip(trainer.g.parameters(), g_before))


@pytest.mark.parametrize("overrides, message", [
    ({"adversarial": {"anchor_candidates": 1, "pretrain_weight": 1.0}}, "must be 0 (off) or >= 2"),
    ({"adversarial": {"anchor_candidates": 4}}, "needs adversarial.pretrain_weight > 0"),
    ({"adversarial": {"anchor_candidates": 4, "pretrain_weight": 1.0}, "pretrain": {"task": "deletion"}},
     "set pretrain.task: headline"),
    ({"adversarial": {"anchor_temperature": 0.0}}, "must be positive"),
])
def test_anchor_candidates_config_errors_name_the_fix(tiny_corpus: Path, tmp_path: Path, overrides: dict,
                                                      message: str) -> None:
    from seq2seq2seq.config import ConfigError, merge_overrides

    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(TINY_CONFIG, merge_overrides({"data_dir": str(tiny_corpus), "output_dir": str(tmp_path)}, overrides))


def test_reinforce_weight_zero_leaves_g_to_the_anchor(tiny_corpus: Path, tmp_path: Path) -> None:
    # the same start and samples: with the policy-gradient term off, G's step is the anchor's alone, so the
    # anchor-only run's G (every reward 0) and this one (rewards on, reinforce_weight 0) take the same step
    off = {"reconstruction_weight": 0.0, "discriminator_weight": 0.0, "similarity_weight": 0.0,
           "fluency_weight": 0.0, "length_weight": 0.0}

    def g_after_step(**adversarial) -> list[torch.Tensor]:
        torch.manual_seed(0)
        trainer = _trainer(tiny_corpus, tmp_path / str(len(adversarial)), adversarial={"pretrain_weight": 1.0,
                                                                                        **adversarial})
        stats = stages.adversarial_step(trainer, 0)
        assert stats["loss/anchor"] > 0
        return [p.detach().clone() for p in trainer.g.parameters()]

    anchor_only = g_after_step(**off)
    no_policy = g_after_step(reinforce_weight=0.0)
    with_policy = g_after_step(reinforce_weight=1.0, headline_weight=1.0)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(anchor_only, no_policy))
    assert any(not torch.allclose(a, b, atol=1e-6) for a, b in zip(anchor_only, with_policy))
    from seq2seq2seq.config import ConfigError, merge_overrides
    with pytest.raises(ConfigError, match="nothing else trains G"):
        load_config(TINY_CONFIG, merge_overrides({"data_dir": str(tiny_corpus), "output_dir": str(tmp_path)},
                                        {"adversarial": {"reinforce_weight": 0.0}}))
