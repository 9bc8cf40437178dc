"""Golden losses: the tiny config's per-step losses and rewards, pinned, so a refactor that claims to preserve
behaviour is checked to the float.

Each variant trains the tiny config (all three stages) on the shared test corpus and compares every logged scalar of
RUN/metrics.jsonl, step by step, with tests/golden/losses.json. Timing columns are left out: they are measurements,
not results of the algorithm.

Re-record only after a change that is meant to move the numbers (and say so in the commit):
    SEQ2SEQ2SEQ_RECORD_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_CONFIG, real_data_available, run_tiny

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "losses.json"
RECORD = os.environ.get("SEQ2SEQ2SEQ_RECORD_GOLDEN") == "1"
# measurements, not outcomes of the algorithm
TIMING_KEYS = ("examples_per_second", "flops", "seconds", "time", "peak_memory")
# same torch build on another CPU can round a matmul differently in the last bits; an algorithmic change moves
# these tiny runs' losses by far more than this
REL_TOL, ABS_TOL = 2e-4, 2e-5

# Each variant is a set of command-line overrides of the tiny config: the three stages, REINFORCE with the greedy,
# leave-one-out and best-of-k baselines, the Gumbel estimator, the pre-training anchor and its search over the rule's
# variants, the model-free rewards, idf reconstruction, the length prior, whole-word decoding with the pointer,
# dropout, gradient accumulation, several D updates a step, the semi-supervised pairs and the 2-process DDP path.
# Not pinned here: the similarity and fluency rewards (their models), warm starts, pretrain.task search.
VARIANTS: dict[str, list[str]] = {
    "reinforce": [],
    "gumbel": ["--adversarial.estimator", "gumbel", "--adversarial.pretrain_weight", "0.5"],
    "lexical_loo": [
        "--model.pointer", "true", "--decoding.source_only", "true", "--decoding.whole_words", "true",
        "--adversarial.baseline", "loo", "--adversarial.headline_weight", "0.5",
        "--adversarial.contiguity_weight", "0.5", "--adversarial.length_weight", "0.1",
        "--adversarial.target_words", "4", "--adversarial.entropy_weight", "0.01"],
    "anchor_search": [
        "--pretrain.task", "headline", "--adversarial.pretrain_weight", "0.5", "--adversarial.anchor_candidates", "3",
        "--adversarial.headline_weight", "1", "--adversarial.discriminator_weight", "0.1",
        "--adversarial.normalize_advantages", "true"],
}
TWO_PROCESS = ["--adversarial.pretrain_weight", "0.5", "--num_threads", "1"]
# dropout on (so a train/eval mode slip or a moved random draw shows), two micro-batches a step, two D updates a step,
# idf-weighted reconstruction, the best-of-3 baseline and the semi-supervised pairs in both stages
SEMI = ["--model.dropout", "0.1", "--discriminator.dropout", "0.1", "--gradient_accumulation_steps", "2",
        "--adversarial.d_steps", "2", "--adversarial.reconstruction_tokens", "idf", "--adversarial.baseline", "best",
        "--adversarial.num_samples", "3", "--supervised.pretrain_share", "0.5", "--mixed_precision", "no"]


def logged_values(run: Path) -> list[dict[str, float]]:
    """The scalars of RUN/metrics.jsonl, one dict per logged step, timing columns left out."""
    rows = []
    for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows.append({k: v for k, v in row.items() if not any(t in k for t in TIMING_KEYS)})
    return rows


def _compare(name: str, got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want), f"{name}: {len(got)} logged steps, golden has {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.keys() == w.keys(), f"{name} row {i}: keys {sorted(g.keys() ^ w.keys())} differ"
        for key, value in w.items():
            if isinstance(value, float) or isinstance(g[key], float):
                assert math.isclose(g[key], value, rel_tol=REL_TOL, abs_tol=ABS_TOL), (
                    f"{name} {w.get('stage')} step {w.get('step')}: {key} = {g[key]!r}, golden {value!r}")
            else:
                assert g[key] == value, f"{name} row {i}: {key} = {g[key]!r}, golden {value!r}"


def _check(name: str, run: Path) -> None:
    got = logged_values(run)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.is_file() else {}
    if RECORD:
        golden[name] = got
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return
    assert name in golden, f"no golden values for {name}: record them with SEQ2SEQ2SEQ_RECORD_GOLDEN=1"
    _compare(name, got, golden[name])


pytestmark = pytest.mark.skipif(
    not real_data_available(), reason="the golden values were recorded on the shared Gigaword rows (../shared/data)")


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_golden_losses(name: str, tiny_corpus: Path, tmp_path: Path) -> None:
    assert run_tiny(tiny_corpus, tmp_path / name, *VARIANTS[name], "--mixed_precision", "no") == 0
    _check(name, tmp_path / name)


def test_golden_losses_with_dropout_accumulation_and_pairs(tiny_corpus: Path, tmp_path: Path) -> None:
    from test_supervised import pair_rows, write_pairs

    pairs = write_pairs(tmp_path / "pairs.jsonl", pair_rows(12))
    assert run_tiny(tiny_corpus, tmp_path / "semi", *SEMI, "--supervised.pairs", str(pairs)) == 0
    _check("dropout_accumulation_pairs", tmp_path / "semi")


@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun not installed")
def test_golden_losses_two_processes(tiny_corpus: Path, tmp_path: Path) -> None:
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "--master_port", "29541", "-m", "seq2seq2seq.train",
         "--config", str(TINY_CONFIG), "--data_dir", str(tiny_corpus), "--output_dir", str(tmp_path / "two"),
         *TWO_PROCESS, "--mixed_precision", "no"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check("two_processes", tmp_path / "two")
