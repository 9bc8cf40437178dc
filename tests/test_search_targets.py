"""Search targets (issue 32): computed once per corpus by `python -m data_prep.search_targets`, resumable by chunk,
refused for another corpus, and read by `pretrain.task: search` (G then learns exactly the stored targets)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_tiny
from pretrained import tiny_bert
from test_summarize import tokenizer_texts

from data_prep.search_targets import main as targets_main
from seq2seq2seq.data import headline_rule, headline_rule_samples, load_corpus, load_headline_word_stats
from seq2seq2seq.search_targets import SearchTargetsError, check_targets, read_targets

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory) -> Path:
    return tiny_bert(tmp_path_factory.mktemp("encoder"), tokenizer_texts(200))


def _targets(corpus: Path, out: Path, encoder: Path, *extra: str) -> int:
    return targets_main(["--data_dir", str(corpus), "--out", str(out), "--similarity_model", str(encoder),
                         "--candidates", "3", "--chunk_size", "16", "--max_documents", "40", *extra])


def test_each_target_is_one_of_the_documents_candidates_and_the_folder_resumes(tiny_corpus, encoder_dir, tmp_path):
    out = tmp_path / "targets"
    assert _targets(tiny_corpus, out, encoder_dir) == 0
    targets = read_targets(out)
    assert len(targets) == 40 and sorted(p.name for p in out.glob("chunk-*.arrow")) == [
        "chunk-000000.arrow", "chunk-000001.arrow", "chunk-000002.arrow"]  # 16 + 16 + 8 documents
    corpus, stats = load_corpus(tiny_corpus, 40), load_headline_word_stats(tiny_corpus)
    for i in (0, 17, 39):
        document = corpus.documents[i]
        pool = [headline_rule(document, stats), *headline_rule_samples(document, stats, 3, 0.5)]
        assert targets[i] == pool[targets.choices[i]]  # the stored choice, among this document's candidates
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and 0.0 <= manifest["rule_kept"] <= 1.0
    # an interrupted run resumes: a missing chunk is computed again, the others are kept as they are
    kept = (out / "chunk-000000.arrow").stat().st_mtime_ns
    (out / "chunk-000001.arrow").unlink()
    assert _targets(tiny_corpus, out, encoder_dir) == 0
    assert (out / "chunk-000000.arrow").stat().st_mtime_ns == kept and read_targets(out).by_index == targets.by_index


def test_more_documents_extend_the_folder_as_a_run_for_all_of_them_computes_it(tiny_corpus, encoder_dir, tmp_path,
                                                                               capsys):
    out, fresh = tmp_path / "targets", tmp_path / "fresh"
    assert _targets(tiny_corpus, out, encoder_dir) == 0  # 40 documents: chunks of 16, 16 and 8
    kept = [(out / f"chunk-00000{c}.arrow").stat().st_mtime_ns for c in (0, 1)]
    assert _targets(tiny_corpus, out, encoder_dir, "--max_documents", "56") == 0
    assert [(out / f"chunk-00000{c}.arrow").stat().st_mtime_ns for c in (0, 1)] == kept  # full chunks kept
    assert _targets(tiny_corpus, fresh, encoder_dir, "--max_documents", "56") == 0
    extended = read_targets(out)
    assert len(extended) == 56 and extended.by_index == read_targets(fresh).by_index  # the short chunk was redone
    assert json.loads((out / "settings.json").read_text())["documents"] == 56
    check_targets(extended, tiny_corpus, 56)
    assert _targets(tiny_corpus, out, encoder_dir, "--max_documents", "20") == 2
    assert "the targets of documents 0 to 55, more than the 20 asked for; train on them as they are" in \
        capsys.readouterr().err


def test_targets_of_other_settings_or_documents_are_refused(tiny_corpus, encoder_dir, tmp_path, capsys):
    out = tmp_path / "targets"
    assert _targets(tiny_corpus, out, encoder_dir) == 0
    assert _targets(tiny_corpus, out, encoder_dir, "--temperature", "0.9") == 2
    assert "other settings (temperature 0.5 -> 0.9)" in capsys.readouterr().err
    targets = read_targets(out)
    with pytest.raises(SearchTargetsError, match="cover 40 of the 60 training documents"):
        check_targets(targets, tiny_corpus, 60)
    targets.settings["documents_sha256"] = "0" * 64
    with pytest.raises(SearchTargetsError, match="computed for other documents"):
        check_targets(targets, tiny_corpus, 40)
    with pytest.raises(SearchTargetsError, match="no search targets in"):
        read_targets(tmp_path / "nowhere")


def test_pretraining_on_search_targets_learns_the_stored_targets(tiny_corpus, encoder_dir, tmp_path, capsys):
    from seq2seq2seq.config import load_config, merge_overrides
    from seq2seq2seq.train.trainer import Trainer

    out = tmp_path / "targets"
    assert _targets(tiny_corpus, out, encoder_dir) == 0
    cfg = load_config(Path(__file__).parent.parent / "scripts" / "configs" / "tiny.yaml", merge_overrides(
        {"data_dir": str(tiny_corpus), "output_dir": str(tmp_path / "run"), "max_documents": 40},
        {"pretrain": {"task": "search", "search_targets": str(out)}}))
    trainer = Trainer(cfg, load_corpus(cfg.data_dir, cfg.max_documents))
    indices = trainer.batches.pretrain_indices(0)
    texts = [trainer.corpus.documents[i] for i in indices]
    _, ids, mask = trainer.batches.pseudo_batch(texts, None, [], indices)
    want = trainer.batches.summaries([read_targets(out)[i] for i in indices])
    assert ids.equal(want.summary_ids) and mask.equal(want.summary_mask)
    # a run over more documents than the targets cover is refused at start, naming the fix
    assert run_tiny(tiny_corpus, tmp_path / "run2", "--pretrain.task", "search", "--pretrain.search_targets",
                    str(out)) == 2
    assert "cover 40 of the" in capsys.readouterr().err
    assert run_tiny(tiny_corpus, tmp_path / "run3", "--pretrain.task", "search", "--pretrain.search_targets",
                    str(out), "--max_documents", "40") == 0


def test_fresh_documents_only_from_first_document_and_training_reads_just_those(tiny_corpus, encoder_dir, tmp_path,
                                                                                capsys):
    """An expert round on fresh documents: targets for documents 24..55 only (search_targets --first_document 24),
    and pre-training with pretrain.search_documents: covered reads exactly those, each with its own target."""
    from seq2seq2seq.config import load_config, merge_overrides
    from seq2seq2seq.train.trainer import Trainer

    out, whole = tmp_path / "fresh", tmp_path / "whole"
    assert _targets(tiny_corpus, out, encoder_dir, "--max_documents", "44", "--first_document", "24") == 0
    assert sorted(read_targets(out).by_index) == list(range(24, 44))  # chunks of 16 and 4 documents
    assert _targets(tiny_corpus, out, encoder_dir, "--max_documents", "56", "--first_document", "24") == 0  # extended
    fresh = read_targets(out)
    assert sorted(fresh.by_index) == list(range(24, 56))
    assert json.loads((out / "manifest.json").read_text())["complete"]
    assert _targets(tiny_corpus, whole, encoder_dir, "--max_documents", "56") == 0
    assert fresh.by_index == {i: t for i, t in read_targets(whole).by_index.items() if i >= 24}  # same per document
    assert _targets(tiny_corpus, out, encoder_dir, "--max_documents", "30", "--first_document", "24") == 2
    assert "holds the targets of documents 24 to 55, more than the 6 asked for" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _targets(tiny_corpus, tmp_path / "none", encoder_dir, "--max_documents", "20", "--first_document", "24")
    assert "--first_document 24 leaves nothing to search below --max_documents 20" in capsys.readouterr().err
    cfg = load_config(ROOT / "scripts" / "configs" / "tiny.yaml", merge_overrides(
        {"data_dir": str(tiny_corpus), "output_dir": str(tmp_path / "run"), "max_documents": 56},
        {"pretrain": {"task": "search", "search_targets": str(out), "search_documents": "covered", "batch_size": 8},
         "adversarial": {"steps": 0}}))
    trainer = Trainer(cfg, load_corpus(cfg.data_dir, cfg.max_documents))
    drawn = [i for index in range(4) for i in trainer.batches.pretrain_indices(index)]  # one epoch of 32
    assert sorted(drawn) == list(range(24, 56))
    texts = [trainer.corpus.documents[i] for i in drawn[:8]]
    _, ids, _ = trainer.batches.pseudo_batch(texts, None, [], drawn[:8])
    assert ids.equal(trainer.batches.summaries([fresh[i] for i in drawn[:8]]).summary_ids)
    # 'all' (the default) still wants a target for every training document
    assert run_tiny(tiny_corpus, tmp_path / "run2", "--pretrain.task", "search", "--pretrain.search_targets",
                    str(out), "--max_documents", "56") == 2
    assert "pretrain.search_documents: covered" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun not installed")
def test_two_processes_share_the_chunks_and_give_the_same_targets(tiny_corpus, encoder_dir, tmp_path):
    assert _targets(tiny_corpus, tmp_path / "one", encoder_dir) == 0
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "--master_port", "29547", "-m", "data_prep.search_targets",
         "--data_dir", str(tiny_corpus), "--out", str(tmp_path / "two"), "--similarity_model", str(encoder_dir),
         "--candidates", "3", "--chunk_size", "16", "--max_documents", "40"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert manifest["processes"] == 2 and manifest["complete"]
    assert read_targets(tmp_path / "two").by_index == read_targets(tmp_path / "one").by_index


def test_a_judge_left_out_does_not_stop_a_resume_whatever_folder_it_names():
    from data_prep.search_targets import without_unused_judges

    recorded = {"reconstruction_model": "runs/a", "reconstruction_weight": 0.0,
                "discriminator_model": "runs/a", "discriminator_weight": 0.5}
    assert without_unused_judges(recorded) == {**recorded, "reconstruction_model": ""}  # D judges: its folder counts
