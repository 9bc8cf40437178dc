"""Ctrl-C while a command-line tool starts up (imports torch): one line and exit code 130, never a traceback; once
the tool's main runs, its own Ctrl-C handling as before; importing the modules from Python changes nothing."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TINY_CONFIG = ROOT / "scripts" / "configs" / "tiny.yaml"
# scripts/research/fault_probe.py imports only the standard library (it runs the tools in child processes): no
# start-up to interrupt
ENTRY_POINTS = [ROOT / "seq2seq2seq" / "train" / "__main__.py", ROOT / "seq2seq2seq" / "summarize.py",
                ROOT / "data_prep" / "__main__.py", *sorted((ROOT / "scripts").glob("*.py")),
                *sorted(p for p in (ROOT / "scripts" / "research").glob("*.py") if p.name != "fault_probe.py")]
HEAVY = ("torch", "transformers", "accelerate", "pyarrow", "numpy", "datasets")
STARTING_UP = "interrupted while starting up; nothing was done"


def _default_sigint() -> None:
    # a test runner started in the background may ignore SIGINT, and children inherit that: a terminal's Ctrl-C
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(args: list[str], preexec_fn=_default_sigint) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=preexec_fn)


def _is_main_guard(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) == "__name__ == '__main__'"


@pytest.mark.parametrize("path", ENTRY_POINTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cli_quiets_ctrl_c_before_its_first_heavy_import(path: Path) -> None:
    """The handler goes in before anything outside the standard library is imported, and only when run."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    install = next((i for i, node in enumerate(body) if _is_main_guard(node) and "quiet_until_main()" in
                    ast.unparse(node)), None)
    assert install is not None, f"{path.name}: no `if __name__ == '__main__': quiet_until_main()` at the top"
    for node in body[:install]:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or "."]
            assert all(n.split(".")[0] in sys.stdlib_module_names | {"__future__"} for n in names), ast.unparse(node)
        else:  # only the docstring and stdlib imports come before it
            assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant), ast.unparse(node)


def test_the_packages_import_nothing_heavy_before_the_handler() -> None:
    """`python -m data_prep` and `python -m seq2seq2seq.x` run the package's __init__ before the module."""
    code = f"import sys, seq2seq2seq, data_prep; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    proc = start(["-c", code])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.strip() == "[]", err


def test_importing_the_modules_leaves_sigint_alone() -> None:
    """Only a program run as a tool gets the handler: importing a CLI module from Python changes nothing."""
    code = ("import importlib.util, signal, seq2seq2seq.train.cli, seq2seq2seq.inference.cli, data_prep.__main__\n"
            "spec = importlib.util.spec_from_file_location('evaluate_rouge', 'scripts/evaluate_rouge.py')\n"
            "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
            "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)")
    proc = start(["-c", code])
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out.strip() == "True", err


MECHANISM = """
import os, signal, sys, time
from seq2seq2seq.quiet_interrupt import quiet_until_main
quiet_until_main()
print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN, flush=True)
def main():
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)  # (the signal comes at once; ignored, it never does)
    except KeyboardInterrupt:
        print("main handled it", file=sys.stderr)
        return 130
    return 0
if sys.argv[1] == "main":
    sys.exit(main())
os.kill(os.getpid(), signal.SIGINT)  # as in the middle of `import torch`
time.sleep(5)
print("not reached")
"""


def test_ctrl_c_before_main_quits_quietly_and_inside_main_is_main_s_own() -> None:
    proc = start(["-c", MECHANISM, "imports"])
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out, err) == (130, "False\n", STARTING_UP + "\n")
    proc = start(["-c", MECHANISM, "main"])
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out, err) == (130, "False\n", "main handled it\n")
    # started with Ctrl-C ignored (nohup, a script's background job): it stays ignored
    proc = start(["-c", MECHANISM, "main"], preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (0, "True\n"), err


CLIS = {
    "train": ["-m", "seq2seq2seq.train", "--help"],
    "summarize": ["-m", "seq2seq2seq.summarize", "--model", "no-such-model"],  # then waits on stdin, in main
    "data_prep": ["-m", "data_prep", "--help"],
    "script": ["scripts/benchmark_train.py", "--help"],
}


@pytest.mark.parametrize("delay", [0.3, 1.5])
@pytest.mark.parametrize("cli", list(CLIS))
def test_ctrl_c_while_a_cli_starts_prints_one_line(cli: str, delay: float) -> None:
    proc = start(CLIS[cli])
    time.sleep(delay)
    if proc.poll() is not None:  # a machine fast enough to be done: there was no start-up left to interrupt
        proc.communicate()
        pytest.skip(f"{cli} was done within {delay} s")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == -signal.SIGINT:
        # the tool had finished (`--help`) and the interpreter was shutting down, which puts SIGINT's default action
        # back: killed by the signal, which a shell reports as 130 too; nothing may have been printed about it
        assert "Traceback" not in err and STARTING_UP not in err, err
        return
    assert proc.returncode == 130 and "Traceback" not in err, err
    # during the imports, the start-up line; in summarize's main (reading stdin), its own
    assert err.strip() in (STARTING_UP, "interrupted; no output written"), err


def test_ctrl_c_during_training_still_says_where_to_resume(tiny_corpus: Path, tmp_path: Path) -> None:
    proc = start(["-m", "seq2seq2seq.train", "--config", str(TINY_CONFIG), "--data_dir", str(tiny_corpus),
                  "--output_dir", str(tmp_path / "run")])
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if " INFO " in line:  # the run's log: main and the trainer are running
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert started.wait(timeout=120), "".join(lines)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    reader.join(timeout=10)
    err = "".join(lines)
    assert proc.returncode == 130 and "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted; ") and ("no checkpoint was saved" in last or "--resume" in last), err
    assert STARTING_UP not in err
