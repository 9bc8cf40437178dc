"""Fault probes of issue 30: replay, against a tiny run, each refusal that issue 30 fixed, through the public CLIs.

    . .venv/bin/activate && . scripts/env.sh && export OMP_NUM_THREADS=1
    python scripts/research/fault_probe.py                      # every probe (about a minute on 2 CPU cores)
    python scripts/research/fault_probe.py --list               # the probes and what each checks
    python scripts/research/fault_probe.py --only rouge_cr_lines ctrl_c_startup --keep

What it is for: issue 30 made refused commands change nothing (a resume that would mix up a run, two runs in one
folder, non-finite learning rates, a NaN export, an output that is its own input, a corpus folder holding the user's
files) and fixed a few quiet miscounts (CR-only files, Chinese scored as English, the pipeline's document limit,
Ctrl-C while a CLI starts). Each probe runs the command a user would type (``python -m seq2seq2seq.train ...``,
``python -m seq2seq2seq.summarize ...``, ``python -m data_prep ...``, ``python scripts/evaluate_rouge.py ...``) in a
subprocess and checks both its exit code and its side effects (files unchanged by bytes and mtime, the wording of
the message). It imports nothing of the package, so it keeps working while the package is restructured, and it can
probe another checkout (``--repo``). The next probe round starts from it: add a probe to PROBES.

Prints one line per probe, ``PASS|FAIL  name  rc=N[,N...]  expected / what happened`` (rc: each command's exit code
in order), then a summary line; exit code 0 only if every probe selected passed, 1 otherwise.

Everything is written under a fresh temporary folder (inside ``--workdir`` when given), removed at the end unless
``--keep``: a tiny corpus built by data_prep from synthetic text, one finished tiny run (scripts/configs/tiny.yaml,
adversarial.steps 1) that the probes copy before they touch it, and each probe's own files.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

DEFAULT_REPO = Path(__file__).resolve().parents[2]
TAIL = 160  # characters of a command's message quoted in a line


# --------------------------------------------------------------------------------------------------------------------
# running the commands


@dataclass
class Ran:
    """One finished command: its exit code and output."""

    argv: list[str]
    rc: int
    out: str
    err: str

    def said(self) -> str:
        """The command's last message lines (stderr, else stdout), on one line: what a FAIL line quotes."""
        text = self.err.strip() or self.out.strip()
        lines = [line for line in text.splitlines() if line.strip() and "it/s" not in line and "s/it" not in line]
        said = " | ".join(lines[-2:])
        return said if len(said) <= TAIL else said[:TAIL] + "..."


class Context:
    """The work folder, the checkout probed, and the shared inputs each probe asks for (built once, on demand)."""

    def __init__(self, repo: Path, work: Path, timeout: float) -> None:
        self.repo, self.work, self.timeout = repo, work, timeout
        self.env = dict(os.environ)
        for key, value in (("OMP_NUM_THREADS", "1"), ("TOKENIZERS_PARALLELISM", "false"), ("HF_HUB_OFFLINE", "1"),
                           ("HF_DATASETS_OFFLINE", "1"), ("PYTHONUNBUFFERED", "1")):
            self.env.setdefault(key, value)
        self._corpus: Path | None = None
        self._run: Path | None = None

    # -- commands

    def python(self, *args: str) -> list[str]:
        return [sys.executable, *args]

    def run(self, argv: list[str], stdin: Path | None = None) -> Ran:
        """Run a command in the checkout, stdin from a file (else nothing), and wait for it."""
        with (open(stdin, "rb") if stdin is not None else open(os.devnull, "rb")) as source:
            done = subprocess.run(argv, cwd=self.repo, env=self.env, stdin=source, capture_output=True,
                                  timeout=self.timeout)
        return Ran(argv, done.returncode, done.stdout.decode("utf-8", "replace"),
                   done.stderr.decode("utf-8", "replace"))

    def start(self, argv: list[str]) -> subprocess.Popen:
        """Start a command without waiting; SIGINT as a terminal would deliver it (not ignored, even when this
        script runs as a background job)."""
        return subprocess.Popen(argv, cwd=self.repo, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                                          signal.SIG_DFL))

    def finish(self, proc: subprocess.Popen) -> Ran:
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise
        return Ran(list(map(str, proc.args)), proc.returncode, out.decode("utf-8", "replace"),
                   err.decode("utf-8", "replace"))

    def train(self, out: Path, *extra: str, data_dir: Path | None = None) -> list[str]:
        return self.python("-m", "seq2seq2seq.train", "--config", str(self.repo / "scripts" / "configs" / "tiny.yaml"),
                           "--data_dir", str(data_dir or self.corpus()), "--output_dir", str(out), *extra)

    def summarize(self, *extra: str) -> list[str]:
        return self.python("-m", "seq2seq2seq.summarize", *extra)

    def rouge(self, *extra: str) -> list[str]:
        return self.python(str(self.repo / "scripts" / "evaluate_rouge.py"), *extra)

    # -- shared inputs

    def inputs(self) -> Path:
        """Synthetic text for data_prep: documents, headline-like sentences, dev pairs (deterministic)."""
        folder = self.work / "inputs"
        if not folder.is_dir():
            folder.mkdir(parents=True)
            rng = random.Random(0)
            words = [f"w{i}" for i in range(300)] + ["the", "a", "of", "in", "said", ","]

            def make(n: int) -> str:
                return " ".join(rng.choice(words) for _ in range(n))

            (folder / "documents.txt").write_text("".join(make(rng.randint(15, 30)) + " .\n" for _ in range(240)))
            (folder / "sentences.txt").write_text("".join(make(rng.randint(6, 10)) + "\n" for _ in range(120)))
            (folder / "dev.jsonl").write_text("".join(json.dumps({"document": make(20) + " .", "summary": make(8)})
                                                      + "\n" for _ in range(40)))
        return folder

    def data_prep(self, out: Path, *extra: str) -> list[str]:
        inputs = self.inputs()
        return self.python("-m", "data_prep", "--out", str(out), "--source", "none",
                           "--documents-file", str(inputs / "documents.txt"),
                           "--sentences-file", str(inputs / "sentences.txt"), "--dev-file", str(inputs / "dev.jsonl"),
                           "--vocab-size", "400", "--num-proc", "1", *extra)

    def corpus(self) -> Path:
        """The tiny corpus, built once by ``python -m data_prep --source none``."""
        if self._corpus is None:
            out = self.work / "corpus"
            ran = self.run(self.data_prep(out))
            if ran.rc != 0:
                raise SetupError(f"building the tiny corpus failed (rc={ran.rc}): {ran.said()}")
            self._corpus = out
        return self._corpus

    def finished_run(self) -> Path:
        """A finished tiny run (adversarial.steps 1, so that a resume may add adversarial steps); copy it first."""
        if self._run is None:
            out = self.work / "base_run"
            ran = self.run(self.train(out, "--adversarial.steps", "1"))
            if ran.rc != 0 or not (out / "final" / "summarizer").is_dir():
                raise SetupError(f"training the tiny run failed (rc={ran.rc}): {ran.said()}")
            self._run = out
        return self._run

    def copy_run(self, name: str) -> Path:
        target = self.work / name
        shutil.copytree(self.finished_run(), target)
        return target

    def export(self) -> Path:
        return self.finished_run() / "final" / "summarizer"


class SetupError(RuntimeError):
    """A shared input (corpus, tiny run) could not be built: the probes that need it fail with this message."""


# --------------------------------------------------------------------------------------------------------------------
# checks


@dataclass
class Outcome:
    """What a probe saw: each command's exit code, the problems found (none: PASS) and a short note of what
    happened (quoted in a PASS line)."""

    rcs: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def ran(self, ran: Ran, note: bool = False) -> Ran:
        self.rcs.append(ran.rc)
        if note:
            self.notes.append(ran.said())
        return ran

    def expect(self, condition: bool, problem: str) -> bool:
        if not condition:
            self.problems.append(problem)
        return condition

    def rc(self, ran: Ran, *wanted: int) -> bool:
        return self.expect(ran.rc in wanted, f"rc {ran.rc}, not {' or '.join(map(str, wanted))} "
                                             f"({command_name(ran.argv)}: {ran.said()})")

    def says(self, ran: Ran, *pieces: str, stream: str = "err") -> bool:
        text = ran.err if stream == "err" else ran.out
        missing = [p for p in pieces if p not in text]
        return self.expect(not missing, f"std{stream} lacks {', '.join(map(repr, missing))} (it says: {ran.said()})")

    def unchanged(self, before: dict[str, tuple[int, bytes]], folder: Path, what: str) -> bool:
        after = snapshot(folder)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        return self.expect(not changed, f"{what} changed: {', '.join(changed[:5])}"
                                        f"{' ...' if len(changed) > 5 else ''}")


def command_name(argv: list[str]) -> str:
    """A command's short name for messages: ``-m seq2seq2seq.train``, ``evaluate_rouge.py``, ``-c snippet``."""
    if len(argv) > 2 and argv[1] in ("-m", "-c"):
        return f"{argv[1]} {argv[2] if argv[1] == '-m' else 'snippet'}"
    return Path(argv[1]).name if len(argv) > 1 else argv[0]


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``folder`` (or the file itself) with its mtime (ns) and bytes."""
    folder = Path(folder)
    if folder.is_file():
        return {folder.name: (folder.stat().st_mtime_ns, folder.read_bytes())}
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def read_yaml(path: Path) -> dict:
    import yaml  # PyYAML, a dependency of the project; imported late so that --list needs nothing

    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------------------------------
# the probes


def probe_resume_deleted_checkpoints(ctx: Context, o: Outcome) -> None:
    run = ctx.copy_run("resume_deleted_checkpoints")
    shutil.rmtree(run / "checkpoints")  # the natural way to free a finished run's disk
    before = snapshot(run)
    ran = o.ran(ctx.run(ctx.train(run, "--resume", "--pretrain.steps", "40", "--pretrain.lr", "0.5")), note=True)
    o.rc(ran, 2)
    o.says(ran, "--overwrite", "holds no checkpoint")
    o.expect("start without --resume" not in ran.err, "the hint says 'start without --resume', which would replace "
                                                      "the finished run")
    o.unchanged(before, run, "the run folder (config.yaml included)")


def probe_resume_finished_run(ctx: Context, o: Outcome) -> None:
    run = ctx.copy_run("resume_finished_run")
    same_steps = ("--adversarial.steps", "1")  # what the run was trained with: every stage finished
    before = snapshot(run)
    # a plain resume may not change a learning rate: refused, naming the key
    ran = o.ran(ctx.run(ctx.train(run, *same_steps, "--resume", "--adversarial.lr_g", "0.01")), note=True)
    o.rc(ran, 2)
    o.says(ran, "adversarial.lr_g", "--resume-with-changes")
    o.unchanged(before, run, "the run folder after the refused resume")
    # asked for, the change still trains nothing on a finished run: nothing to train, nothing written
    ran = o.ran(ctx.run(ctx.train(run, *same_steps, "--resume", "--resume-with-changes", "--adversarial.lr_g", "0.01")))
    o.rc(ran, 0, 2)
    o.expect(ran.rc == 2 or "nothing to train" in ran.out, f"rc 0 without 'nothing to train' (it says: {ran.said()})")
    o.notes.append(ran.out.strip().splitlines()[-1][:TAIL] if ran.out.strip() else ran.said())
    o.unchanged(before, run, "the run folder (config.yaml claims lr_g 0.01?)")


def probe_resume_changes(ctx: Context, o: Outcome) -> None:
    run = ctx.copy_run("resume_changes")  # finished at adversarial step 1 of 1: adversarial steps may be added
    before = snapshot(run)
    ran = o.ran(ctx.run(ctx.train(run, "--resume", "--adversarial.steps", "3", "--adversarial.lr_g", "0.5")))
    o.rc(ran, 2)
    o.says(ran, "adversarial.lr_g 0.001 -> 0.5", "--adversarial.lr_g 0.001", "--resume-with-changes")
    o.unchanged(before, run, "the run folder after the refused lr change")
    ran = o.ran(ctx.run(ctx.train(run, "--resume", "--adversarial.steps", "2")))  # steps only: allowed
    if o.rc(ran, 0):
        config = read_yaml(run / "config.yaml")
        o.expect(config["adversarial"]["steps"] == 2 and not config.get("resume_changes"),
                 f"after the plain resume config.yaml has adversarial.steps {config['adversarial']['steps']}, "
                 f"resume_changes {config.get('resume_changes')!r}")
    ran = o.ran(ctx.run(ctx.train(run, "--resume", "--adversarial.steps", "3", "--adversarial.lr_g", "0.5",
                                  "--resume-with-changes")))
    if o.rc(ran, 0):
        config = read_yaml(run / "config.yaml")
        wanted = {"stage": "adversarial", "step": 2, "key": "adversarial.lr_g", "old": 0.001, "new": 0.5}
        got = [{k: c.get(k) for k in wanted} for c in config.get("resume_changes") or []]
        o.expect(got == [wanted], f"config.yaml resume_changes {got!r}, not [{wanted!r}]")
        o.expect(config["adversarial"]["lr_g"] == 0.5, f"config.yaml adversarial.lr_g {config['adversarial']['lr_g']}")
        o.notes.append(f"resume_changes: {got}")
        log = (run / "train.log").read_text(encoding="utf-8") if (run / "train.log").is_file() else ""
        o.expect("adversarial.lr_g changes from 0.001 to 0.5" in log, "train.log does not record the lr change")


def probe_two_runs_one_folder(ctx: Context, o: Outcome) -> None:
    run = ctx.work / "two_runs_one_folder"
    steps = 40  # long enough that the first run still holds the folder when the second one gets there
    argv = ctx.train(run, "--pretrain.steps", str(steps))
    first = ctx.start(argv)
    time.sleep(0.1)
    second = ctx.start(argv)
    runs = [ctx.finish(first), ctx.finish(second)]
    pids = [first.pid, second.pid]
    for ran in runs:
        o.ran(ran)
    codes = sorted(r.rc for r in runs)
    if o.expect(codes == [0, 2], f"exit codes {[r.rc for r in runs]}, not one 0 and one 2 "
                                 f"(they say: {' || '.join(r.said() for r in runs)})"):
        loser = next(i for i, r in enumerate(runs) if r.rc == 2)
        o.says(runs[loser], f"process {pids[1 - loser]}", "in use")
        o.notes.append(f"{'second' if loser else 'first'} refused: {runs[loser].said()}")
    metrics = run / "metrics.jsonl"
    rows = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines()] if metrics.is_file() else []
    keys = [(r.get("stage"), r.get("step")) for r in rows]
    duplicates = sorted({k for k in keys if keys.count(k) > 1}, key=str)
    o.expect(rows and not duplicates, f"metrics.jsonl has {len(rows)} rows, duplicated: {duplicates[:5]}")
    pretrain = sorted(r["step"] for r in rows if r.get("stage") == "pretrain")
    o.expect(pretrain == list(range(1, steps + 1)), f"metrics.jsonl pretrain steps {pretrain[:3]}...{pretrain[-3:]}, "
                                                    f"not 1..{steps} once each")


def probe_non_finite_lr(ctx: Context, o: Outcome) -> None:
    for key, value in (("adversarial.lr_g", "inf"), ("pretrain.lr", "inf"), ("pretrain.lr", "0")):
        run = ctx.work / f"non_finite_lr_{key}_{value}"
        ran = o.ran(ctx.run(ctx.train(run, f"--{key}", value)))
        o.rc(ran, 2)
        o.expect(ran.err.startswith("error: ") and key in ran.err and ("finite" in ran.err or "positive" in ran.err),
                 f"--{key} {value}: no config error naming {key} (it says: {ran.said()})")
        o.expect(not run.exists(), f"--{key} {value}: the run folder {run.name} was created")
        o.expect("Traceback" not in ran.err, f"--{key} {value}: a traceback")
    o.notes.append(ran.said())


_NAN_SNIPPET = r"""
import sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file
path = sys.argv[1]
with safe_open(path, "np") as f:
    metadata = f.metadata()
    tensors = {k: f.get_tensor(k) for k in f.keys()}
name = sorted(k for k, v in tensors.items() if v.dtype.kind == "f" and v.ndim == 2 and k.endswith(".weight"))[0]
tensors[name] = tensors[name].copy()
tensors[name].flat[0] = np.nan
save_file(tensors, path, metadata=metadata)
print(name)
"""


def probe_nan_export(ctx: Context, o: Outcome) -> None:
    export = ctx.work / "nan_export" / "summarizer"
    shutil.copytree(ctx.export(), export)
    poke = ctx.run(ctx.python("-c", _NAN_SNIPPET, str(export / "model.safetensors")))
    if poke.rc != 0:
        raise SetupError(f"writing a NaN into the export failed: {poke.said()}")
    tensor = poke.out.strip()
    documents = ctx.work / "nan_export" / "documents.txt"
    documents.write_text("the council met on monday and voted on the plan .\n", encoding="utf-8")
    output = ctx.work / "nan_export" / "summaries.txt"
    ran = o.ran(ctx.run(ctx.summarize("--model", str(export), "--input", str(documents), "--output", str(output))),
                note=True)
    o.rc(ran, 2)
    o.says(ran, tensor, "NaN")
    o.expect(not output.exists(), "an output file was written")


def probe_summarize_output_is_input(ctx: Context, o: Outcome) -> None:
    folder = ctx.work / "output_is_input"
    folder.mkdir()
    x = folder / "X.txt"
    x.write_text("the council met on monday and voted on the plan .\nstocks rose in tokyo on friday .\n",
                 encoding="utf-8")
    before = snapshot(folder)
    ran = o.ran(ctx.run(ctx.summarize("--model", str(ctx.export()), "--input", "-", "--output", str(x)), stdin=x),
                note=True)
    o.rc(ran, 2)
    o.says(ran, "standard input", "--output")
    o.unchanged(before, folder, "X (or its folder)")


def probe_data_prep_overwrite_user_file(ctx: Context, o: Outcome) -> None:
    corpus = ctx.work / "data_prep_overwrite"
    shutil.copytree(ctx.corpus(), corpus)  # a corpus data_prep wrote (manifest.json lists its files)
    notes = corpus / "NOTES.md"
    notes.write_text("my notes on this corpus\n", encoding="utf-8")
    before = snapshot(corpus)
    ran = o.ran(ctx.run(ctx.data_prep(corpus, "--overwrite")), note=True)
    o.rc(ran, 2)
    o.says(ran, "NOTES.md", "did not write")
    o.unchanged(before, corpus, "the corpus folder (NOTES.md included)")
    # the refusal is about NOTES.md alone: moved out, --overwrite replaces the corpus
    shutil.move(str(notes), str(ctx.work / "NOTES.md"))
    ran = o.ran(ctx.run(ctx.data_prep(corpus, "--overwrite")))
    o.rc(ran, 0)


def probe_rouge_cr_lines(ctx: Context, o: Outcome) -> None:
    folder = ctx.work / "rouge_cr_lines"
    folder.mkdir()
    lines = (["police arrest three men", "stocks rise in tokyo", "council votes on plan"],
             ["police arrest men", "stocks rise", "council votes"])
    (folder / "refs.txt").write_bytes("\n".join(lines[0]).encode() + b"\n")
    (folder / "refs_cr.txt").write_bytes("\r".join(lines[0]).encode() + b"\r")
    (folder / "preds.txt").write_bytes("\r".join(lines[1]).encode() + b"\r")  # an old Mac file: CR only
    for refs in ("refs.txt", "refs_cr.txt"):
        ran = o.ran(ctx.run(ctx.rouge("--references", str(folder / refs), "--predictions", str(folder / "preds.txt"))))
        if o.rc(ran, 0):
            o.expect(ran.out.startswith("3 examples"), f"{refs}: {ran.out.splitlines()[0] if ran.out else ''!r}, "
                                                       f"not '3 examples'")
    o.notes.append(ran.out.splitlines()[0] if ran.out else ran.said())


def probe_rouge_chinese_warning(ctx: Context, o: Outcome) -> None:
    folder = ctx.work / "rouge_chinese_warning"
    folder.mkdir()
    (folder / "refs.txt").write_text("警方周一逮捕了三名嫌疑人\n东京股市大幅上涨\n市议会就计划投票\n", encoding="utf-8")
    (folder / "preds.txt").write_text("警方逮捕三名嫌疑人\n东京股市上涨\n议会投票\n", encoding="utf-8")
    ran = o.ran(ctx.run(ctx.rouge("--references", str(folder / "refs.txt"),
                                  "--predictions", str(folder / "preds.txt"))), note=True)
    o.rc(ran, 0)
    o.says(ran, "warning:", "--language zh")


_PIPELINE_SNIPPET = r"""
import importlib, json, pathlib, sys
export = sys.argv[1]
# the layout of the checkout probed (the working folder), by its files: an editable install of another checkout
# could otherwise answer an import that this one cannot
root = pathlib.Path.cwd().resolve()
found = [n for n in ("seq2seq2seq.inference.hf_pipeline", "seq2seq2seq.inference.api", "seq2seq2seq.pipeline")
         if (root / (n.replace(".", "/") + ".py")).is_file()]
if not found:
    raise SystemExit(f"{root} has neither seq2seq2seq/inference/api.py nor seq2seq2seq/pipeline.py")
name = found[0]
module = importlib.import_module(name)
if not pathlib.Path(module.__file__).resolve().is_relative_to(root):
    raise SystemExit(f"{name} was imported from {module.__file__}, not from the checkout {root}")
factory = getattr(module, "summarization_pipeline", None)
if factory is not None:
    pipe = factory(export)
else:
    import transformers
    pipe = transformers.pipeline("seq2seq2seq-summarization", model=export)
report = {"module": name, "limits": {}}
for value in (0, -5, 5000):
    try:
        result = pipe("the council met on monday and voted on the plan .", max_document_tokens=value)
        report["limits"][str(value)] = {"raised": None, "message": repr(result)[:200]}
    except Exception as err:
        report["limits"][str(value)] = {"raised": type(err).__name__, "value_error": isinstance(err, ValueError),
                                        "message": str(err)}
empty = pipe([])
report["empty"] = repr(empty)
report["empty_ok"] = empty == []
print(json.dumps(report))
"""


def probe_pipeline_document_limit(ctx: Context, o: Outcome) -> None:
    ran = o.ran(ctx.run(ctx.python("-c", _PIPELINE_SNIPPET, str(ctx.export()))))
    if not o.rc(ran, 0):
        return
    report = json.loads(ran.out.strip().splitlines()[-1])
    for value, seen in report["limits"].items():
        message = seen["message"]
        o.expect(seen.get("value_error") is True, f"max_document_tokens={value}: raised {seen['raised']}, not a "
                                                  f"ValueError ({message[:TAIL]})")
        o.expect("max_document_tokens" in message and re.search(r"\b1\.\.\d+", message) is not None,
                 f"max_document_tokens={value}: the message names no range 1..N ({message[:TAIL]})")
    o.expect(report["empty_ok"], f"summarizer([]) gave {report['empty']}, not []")
    o.notes.append(f"{report['module']}: {report['limits']['5000']['message'][:TAIL]}")


def probe_ctrl_c_startup(ctx: Context, o: Outcome) -> None:
    for module in ("seq2seq2seq.summarize", "seq2seq2seq.train"):
        proc = ctx.start(ctx.python("-m", module, "--help"))
        time.sleep(0.3)  # the CLI is importing torch
        proc.send_signal(signal.SIGINT)
        ran = o.ran(ctx.finish(proc))
        o.expect(ran.rc == 130, f"{module} --help: rc {ran.rc}, not 130 (it says: {ran.said()})")
        o.expect("Traceback" not in ran.err, f"{module} --help: a traceback on Ctrl-C ({ran.said()})")
    o.notes.append(ran.said())


@dataclass
class Probe:
    name: str
    run: Callable[[Context, Outcome], None]
    expected: str


PROBES = [
    Probe("resume_deleted_checkpoints", probe_resume_deleted_checkpoints,
          "finished run, checkpoints/ deleted, --resume --pretrain.steps 40 --pretrain.lr 0.5: rc 2, hint names "
          "--overwrite, run folder (config.yaml) unchanged"),
    Probe("resume_finished_run", probe_resume_finished_run,
          "finished run with checkpoints, --resume --adversarial.lr_g 0.01: rc 2 naming the key; with "
          "--resume-with-changes: nothing to train; run folder (config.yaml) unchanged"),
    Probe("resume_changes", probe_resume_changes,
          "resume --adversarial.steps 3 --adversarial.lr_g 0.5: rc 2, unchanged; steps alone: rc 0; with "
          "--resume-with-changes: rc 0, lr change in config.yaml resume_changes and train.log"),
    Probe("two_runs_one_folder", probe_two_runs_one_folder,
          "two runs into one folder 0.1 s apart: one rc 0, one rc 2 naming the other's pid; metrics.jsonl without "
          "duplicate rows"),
    Probe("non_finite_lr", probe_non_finite_lr,
          "--adversarial.lr_g inf, --pretrain.lr inf, --pretrain.lr 0: rc 2, a config error naming the key, no run "
          "folder"),
    Probe("nan_export", probe_nan_export,
          "summarize an export with a NaN written into one tensor: rc 2 naming the tensor, no output"),
    Probe("summarize_output_is_input", probe_summarize_output_is_input,
          "summarize --input - --output X < X: rc 2, X unchanged"),
    Probe("data_prep_overwrite_user_file", probe_data_prep_overwrite_user_file,
          "data_prep --overwrite of its corpus holding NOTES.md: rc 2 naming it, folder unchanged; NOTES.md moved "
          "out: rc 0"),
    Probe("rouge_cr_lines", probe_rouge_cr_lines,
          "evaluate_rouge with CR-only predictions (and references): rc 0, '3 examples'"),
    Probe("rouge_chinese_warning", probe_rouge_chinese_warning,
          "evaluate_rouge on Chinese with the default language: rc 0, a warning naming --language zh"),
    Probe("pipeline_document_limit", probe_pipeline_document_limit,
          "pipeline max_document_tokens 0/-5/5000: ValueError naming the range 1..N; summarizer([]) == []"),
    Probe("ctrl_c_startup", probe_ctrl_c_startup,
          "SIGINT 0.3 s into summarize/train --help: rc 130, no Traceback"),
]


def run_probe(probe: Probe, ctx: Context) -> tuple[bool, str]:
    """Run one probe; its report line (a probe that raises, or whose setup fails, is a FAIL)."""
    outcome = Outcome()
    try:
        probe.run(ctx, outcome)
    except SetupError as err:
        outcome.problems.append(f"setup: {err}")
    except subprocess.TimeoutExpired as err:
        outcome.problems.append(f"a command ran over {err.timeout:.0f} s: {' '.join(map(str, err.cmd))[:TAIL]}")
    except Exception as err:  # noqa: BLE001 - a probe's own bug or a surprise from the product: report, go on
        outcome.problems.append(f"raised {type(err).__name__}: {err}")
    ok = not outcome.problems
    happened = "; ".join(outcome.problems) if not ok else ("ok: " + " || ".join(n for n in outcome.notes if n)
                                                          if outcome.notes else "ok")
    rc = ",".join(map(str, outcome.rcs)) or "-"
    return ok, f"{'PASS' if ok else 'FAIL'}  {probe.name}  rc={rc}  {probe.expected} / {happened}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    names = [p.name for p in PROBES]
    parser = argparse.ArgumentParser(
        prog="python scripts/research/fault_probe.py",
        description="Replay the refusals issue 30 fixed against a tiny run, through the public CLIs; one PASS/FAIL "
                    "line per probe, exit code 0 only if all pass.")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=names, help="run only these probes (--list)")
    parser.add_argument("--list", action="store_true", help="list the probes and what each expects, and exit")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the probe's temporary folder (default: the system's temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    parser.add_argument("--repo", type=Path, default=DEFAULT_REPO,
                        help="the checkout whose CLIs are probed (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one command may run (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for probe in PROBES:
            print(f"{probe.name:32s} {probe.expected}")
        return 0
    selected = [p for p in PROBES if args.only is None or p.name in args.only]
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="fault_probe-", dir=args.workdir)).resolve()
    ctx = Context(args.repo.resolve(), work, args.timeout)
    start, failed = time.monotonic(), 0
    try:
        for probe in selected:
            ok, line = run_probe(probe, ctx)
            failed += not ok
            print(line, flush=True)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(selected) - failed}/{len(selected)} probes passed in {time.monotonic() - start:.0f} s "
          f"(checkout {ctx.repo})")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
