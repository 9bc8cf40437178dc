"""scripts/setup.sh and scripts/env.sh, run for real against a stand-in Python that records what pip is asked."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A stand-in for .venv/bin/python: `-m pip config list` prints a long configuration (enough to fill a pipe, so a
# reader that stops early kills the writer by SIGPIPE); `-m pip install --no-index --no-deps torch==2.13.0` succeeds
# only when LOCAL_TORCH=1 (the wheel lies on disk); every call is appended to $CALLS.
STAND_IN = r"""#!/usr/bin/env bash
echo "$*" >> "$CALLS"
if [ "$1 $2 $3" = "-m pip config" ]; then
  echo ":env:.find-links='/opt/wheels'"
  for i in $(seq 1 20000); do echo "global.option$i='value $i'"; done
  exit 0
fi
if [ "$1 $2 $3" = "-m pip install" ] && [ "$4" = "--no-index" ]; then
  [ "${LOCAL_TORCH:-0}" = "1" ] && exit 0
  echo "ERROR: No matching distribution found for torch==2.13.0"; exit 1
fi
exit 0
"""


def _project_copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    for name in ("setup.sh", "env.sh"):
        shutil.copy(ROOT / "scripts" / name, project / "scripts" / name)
    bin_dir = project / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(STAND_IN)
    (bin_dir / "python").chmod(0o755)
    (bin_dir / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    return project


def _setup(project: Path, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    calls = project / "calls.txt"
    run_env = {**os.environ, "CALLS": str(calls), "WITH_TCMALLOC": "0", **env}
    run_env.pop("TORCH_SPEC", None)
    done = subprocess.run(["bash", "scripts/setup.sh"], cwd=project, env=run_env, capture_output=True, text=True,
                          timeout=60)
    return done, calls.read_text().splitlines() if calls.exists() else []


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="a GPU machine takes the CUDA branch")
def test_setup_takes_the_local_torch_wheel_whatever_pip_config_prints(tmp_path):
    # before: `pip config list | grep -q find-links` under pipefail; grep stopped at the first match, pip died of
    # SIGPIPE, and set-up asked download.pytorch.org (60 retries on a machine without internet)
    done, calls = _setup(_project_copy(tmp_path), LOCAL_TORCH="1")
    assert done.returncode == 0, done.stderr
    assert not any("download.pytorch.org" in call for call in calls), calls
    assert "-m pip install --no-index --no-deps torch==2.13.0" in calls
    assert "local CPU wheel" in done.stdout


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="a GPU machine takes the CUDA branch")
def test_setup_without_the_local_wheel_takes_the_cpu_index_and_prints_one_line_per_phase(tmp_path):
    done, calls = _setup(_project_copy(tmp_path), LOCAL_TORCH="0")
    assert done.returncode == 0, done.stderr
    assert any("download.pytorch.org/whl/cpu" in call for call in calls), calls
    # a person sees one line per phase; pip's own output (here the stand-in's ERROR line) goes to the log
    assert all(line.startswith(("set-up", "note:")) for line in done.stdout.splitlines()), done.stdout
    assert "No matching distribution" in (Path(tmp_path) / "project" / ".venv" / "setup.log").read_text()


def test_setup_failure_shows_pip_errors_and_the_log(tmp_path):
    project = _project_copy(tmp_path)
    # the last line of the stand-in answers every other pip call: make it fail as a broken build does
    failing = STAND_IN[: STAND_IN.rindex("exit 0")] + 'echo "ERROR: Could not build wheels for x"; exit 1\n'
    (project / ".venv" / "bin" / "python").write_text(failing)
    done, _ = _setup(project, LOCAL_TORCH="1")
    assert done.returncode != 0
    assert "error: set-up failed" in done.stderr and "Could not build wheels" in done.stderr


def _environment(**env: str) -> dict[str, str]:
    script = f'. "{ROOT / "scripts" / "env.sh"}" && env'
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GLIBC_TUNABLES", "LD_PRELOAD"))}
    out = subprocess.run(["bash", "-c", script], env={**base, **env}, capture_output=True, text=True, check=True)
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def test_env_tunes_glibc_malloc_when_tcmalloc_is_not_used():
    env = _environment(SEQ2SEQ2SEQ_MALLOC="glibc")
    assert "LD_PRELOAD" not in env
    tunables = dict(item.split("=") for item in env["GLIBC_TUNABLES"].split(":"))
    assert int(tunables["glibc.malloc.mmap_threshold"]) >= 32 * 2**20 and tunables["glibc.malloc.hugetlb"] == "1"
    assert env["HF_HUB_OFFLINE"] == "1"


def test_env_preloads_tcmalloc_when_installed():
    found = subprocess.run(["bash", str(ROOT / "scripts" / "env.sh"), "--tcmalloc-path"], capture_output=True,
                           text=True)
    env = _environment()
    if found.returncode == 0:
        assert env["LD_PRELOAD"] == found.stdout.strip() and Path(env["LD_PRELOAD"]).is_file()
    else:
        assert "LD_PRELOAD" not in env and "glibc.malloc" in env["GLIBC_TUNABLES"]
    system = _environment(SEQ2SEQ2SEQ_MALLOC="system")
    assert "LD_PRELOAD" not in system and "GLIBC_TUNABLES" not in system


def test_pyproject_license_is_an_spdx_string_and_transformers_is_bounded():
    # a license table made setuptools print a deprecation warning block at every install; an unbounded transformers
    # would take releases that remove the APIs the tests cover
    import tomllib
    import transformers
    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert isinstance(project["license"], str)
    requirement = next(Requirement(r) for r in project["dependencies"] if r.startswith("transformers"))
    assert any(spec.operator == "<" for spec in requirement.specifier)
    assert Version(transformers.__version__) in requirement.specifier
