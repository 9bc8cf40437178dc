"""scripts/research/fault_probe.py (issue 30's fault probes): its fast probes pass, and a failing probe says FAIL."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("fault_probe", ROOT / "scripts" / "research" / "fault_probe.py")
fault_probe = importlib.util.module_from_spec(_spec)
sys.modules["fault_probe"] = fault_probe  # its dataclasses look their module up there
_spec.loader.exec_module(fault_probe)

FAST = ["rouge_cr_lines", "rouge_chinese_warning", "ctrl_c_startup"]  # no corpus, no training: seconds


def _lines(out: str) -> dict[str, str]:
    """The report lines by probe name."""
    return {line.split("  ")[1]: line for line in out.splitlines() if line.startswith(("PASS  ", "FAIL  "))}


def test_fast_probes_pass_and_leave_no_files(tmp_path, capsys):
    assert fault_probe.main(["--only", *FAST, "--workdir", str(tmp_path)]) == 0
    lines = _lines(capsys.readouterr().out)
    assert sorted(lines) == sorted(FAST)
    for name, line in lines.items():
        assert line.startswith(f"PASS  {name}  rc="), line
    assert list(tmp_path.iterdir()) == []  # the temporary folder is removed without --keep


def test_a_probe_that_fails_is_reported_as_fail(tmp_path, capsys):
    # a checkout without scripts/evaluate_rouge.py: python cannot open it (rc 2, no "3 examples")
    empty = tmp_path / "not_a_checkout"
    empty.mkdir()
    code = fault_probe.main(["--repo", str(empty), "--only", "rouge_cr_lines", "--workdir", str(tmp_path / "work"),
                             "--keep"])
    assert code == 1
    out = capsys.readouterr().out
    line = _lines(out)["rouge_cr_lines"]
    assert line.startswith("FAIL  rouge_cr_lines  rc=2,2  ") and "rc 2, not 0" in line
    assert "0/1 probes passed" in out
    assert len(list((tmp_path / "work").iterdir())) == 1  # --keep kept it


def test_list_names_every_probe_and_runs_nothing(tmp_path, capsys):
    assert fault_probe.main(["--list", "--workdir", str(tmp_path)]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == [p.name for p in fault_probe.PROBES] and len(listed) == 12
    assert list(tmp_path.iterdir()) == []
