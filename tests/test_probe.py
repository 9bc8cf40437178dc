"""scripts/research/probe.py on a finished tiny run: continue its pretrain_d-end checkpoint with other settings."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("probe_script", ROOT / "scripts" / "research" / "probe.py")
probe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(probe)


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def _start_checkpoint(run: Path) -> Path:
    # the checkpoint at the start of the adversarial stage (end of pretrain_d)
    for folder in sorted((run / "checkpoints").glob("step-*")):
        state = json.loads((folder / "training_state.json").read_text())
        if state["stage"] == "pretrain_d":
            return folder
    raise AssertionError("the tiny run kept no checkpoint at the end of pretrain_d")


def test_probe_continues_a_checkpoint_with_overrides_and_leaves_the_source_alone(tiny_run: Path, tmp_path: Path,
                                                                                capsys) -> None:
    before = _tree_digest(tiny_run)
    out = tmp_path / "probe"
    code = probe.main(["--checkpoint", str(_start_checkpoint(tiny_run)), "--out", str(out), "--steps", "2",
                       "--eval_every", "1", "--", "--adversarial.estimator", "gumbel"])
    assert code == 0
    assert _tree_digest(tiny_run) == before  # the source run is only read
    report = json.loads((out / "probe.json").read_text())
    assert [row["step"] for row in report["probe"]] == [1, 2]
    assert report["start"]["stage"] == "pretrain"  # the last dev entry before the checkpoint
    # the source run went on from the same checkpoint to adversarial step 2: its dev entry is there to compare
    assert [row["step"] for row in report["source_run_same_steps"]] == [2]
    assert report["overrides"] == ["--adversarial.estimator", "gumbel"]
    assert "soft/reconstruction" in (out / "metrics.jsonl").read_text()  # it trained with the override
    printed = capsys.readouterr().out
    assert "probe, adversarial step 2" in printed and "source run, adversarial step 2" in printed


def test_probe_refuses_a_folder_that_is_not_a_checkpoint_and_a_used_out(tiny_run: Path, tmp_path: Path,
                                                                       capsys) -> None:
    assert probe.main(["--checkpoint", str(tiny_run), "--out", str(tmp_path / "p")]) == 2
    assert "is not a checkpoint" in capsys.readouterr().err
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("keep me")
    assert probe.main(["--checkpoint", str(_start_checkpoint(tiny_run)), "--out", str(used)]) == 2
    assert "not empty" in capsys.readouterr().err and (used / "x").read_text() == "keep me"
