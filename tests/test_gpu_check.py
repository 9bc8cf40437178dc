"""scripts/gpu_check.sh (run when a GPU is lent) is checked here on CPU: --dry-run loads the gpu config with the
check's overrides and prints the commands, and the summary reads a finished tiny run."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("gpu_summary", ROOT / "scripts" / "gpu_summary.py")
gpu_summary = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_summary)


def test_dry_run_checks_the_config_and_prints_every_step(tmp_path: Path) -> None:
    env = {**os.environ, "OUT": str(tmp_path / "out"), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "scripts/gpu_check.sh", "--dry-run"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    if (ROOT / ".venv" / "bin" / "python").exists():
        assert "ok: scripts/configs/gpu.yaml loads" in out
    assert "--config scripts/configs/tiny.yaml" in out and "--config scripts/configs/gpu.yaml" in out
    assert "scripts/gpu_summary.py" in out and not (tmp_path / "out").exists()  # nothing was run
    bad = subprocess.run(["bash", "scripts/gpu_check.sh", "--wet"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown argument --wet" in bad.stderr


def test_the_summary_reports_each_stage_and_the_dev_rouge(tiny_run: Path, capsys) -> None:
    summary = gpu_summary.summarize_run(tiny_run)
    assert summary["finished"] and set(summary["stages"]) == {"pretrain", "pretrain_d", "adversarial"}
    assert all(stage["examples_per_second"] > 0 for stage in summary["stages"].values())
    assert summary["dev"]["stage"] == "adversarial" and "rouge1" in summary["dev"]
    assert gpu_summary.main([str(tiny_run), str(tiny_run / "nowhere")]) == 2
    printed = capsys.readouterr()
    assert "adversarial 2 steps" in printed.out and "no run folder" in printed.err
