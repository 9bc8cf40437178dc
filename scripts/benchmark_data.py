"""data_prep and training start-up at scale: build time and peak memory, start-up time and memory after it.

    python scripts/benchmark_data.py --documents 2000000 --json docs/results/data_scale.json   # docs/data.md
    python scripts/benchmark_data.py --documents 20000 --out runs/bench_data_small              # a quick check

1. builds the default corpus (``python -m data_prep --out OUT/default``) and measures it;
2. writes ``--documents`` documents and ``--sentences`` sentences (default: the default corpus's ratio, 1 to 14)
   as plain text: the default corpus's documents and sentences (the shared CNN/DailyMail and Gigaword text),
   repeated, each with a word of letters appended that spells its row number, so that deduplication keeps every
   row (digits would not do: the normaliser masks them as #);
3. builds a corpus from them (``python -m data_prep --source none --documents-file ... --sentences-file ...``);
4. starts a training process on each corpus (``--config``, default the quickstart config): loads the corpus and
   builds the Trainer (models, tokenizer, word statistics, batch streams), then reports its seconds since launch
   and its memory (RSS, and of it the anonymous part, which is the process's own, and the file-backed part, which
   includes the memory-mapped corpus shared through the page cache).

Each build runs in its own process tree, sampled every 0.2 s for its peak RSS: of the largest process, and of the
sum over the processes (an upper bound: forked workers share pages). Prints a Markdown table.
"""

from __future__ import annotations

if __name__ == "__main__":  # a Ctrl-C while torch loads: one line, no traceback (seq2seq2seq/quiet_interrupt.py)
    from seq2seq2seq.quiet_interrupt import quiet_until_main

    quiet_until_main()

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SENTENCES_PER_DOCUMENT = 15_081 / 206_149  # the default corpus's ratio
MIB = 1024 * 1024


# --- the scaled input --------------------------------------------------------------------------------------------


def row_word(n: int) -> str:
    """A word of letters that spells ``n`` (base 26, with a leading ``r``): distinct for distinct ``n``, and left
    alone by the normaliser."""
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters = chr(ord("a") + digit) + letters
        if n == 0:
            return "r" + letters


def scaled_rows(texts: list[str], count: int, first: int = 0) -> Iterator[str]:
    """``count`` rows cycling through ``texts``, row i with :func:`row_word` (first + i) appended."""
    for i in range(count):
        yield f"{texts[i % len(texts)]} {row_word(first + i)}"


def write_lines(path: Path, rows: Iterable[str]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(row + "\n")
            count += 1
    return count


def write_scaled_input(corpus: Path, documents: int, sentences: int, out: Path) -> tuple[Path, Path]:
    """OUT/documents_N.txt and OUT/sentences_M.txt from the texts of ``corpus`` (written once, then reused)."""
    from seq2seq2seq.corpus_files import iter_texts

    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    max_words = manifest["recipe"]["max_document_words"], manifest["recipe"]["max_sentence_words"]
    paths = out / f"documents_{documents}.txt", out / f"sentences_{sentences}.txt"
    for kind, count, path, limit, first in zip(("documents", "sentences"), (documents, sentences), paths, max_words,
                                               (0, documents)):
        if path.is_file():
            continue
        # the appended word must not push a text over the length filter
        texts = [t for t in iter_texts(corpus, kind) if len(t.split()) < limit]
        tmp = path.with_suffix(".tmp")
        write_lines(tmp, scaled_rows(texts, count, first))
        tmp.replace(path)
    return paths


# --- measuring ---------------------------------------------------------------------------------------------------


def run_measured(command: list[str], log: Path) -> dict[str, float]:
    """Run ``command`` (output to ``log``); its wall-clock seconds and peak RSS (MiB) of its process tree."""
    import psutil

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        root, largest, total = psutil.Process(proc.pid), 0, 0
        while proc.poll() is None:
            try:
                rss = [p.memory_info().rss for p in [root, *root.children(recursive=True)]]
            except psutil.Error:  # a process ended while it was read
                rss = []
            largest, total = max(largest, *rss, 0), max(total, sum(rss))
            time.sleep(0.2)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed (exit {proc.returncode}); see {log}")
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(largest / MIB), "peak_rss_sum_mib": round(total / MIB)}


def build(out: Path, args: list[str], log: Path) -> dict[str, float]:
    result = run_measured([sys.executable, "-m", "data_prep", "--out", str(out), "--overwrite", *args], log)
    counts = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["counts"]
    return {**result, "documents": counts["documents"], "sentences": counts["sentences"]}


def memory_status() -> dict[str, int]:
    """This process's RssAnon, RssFile and VmRSS from /proc/self/status, in MiB (Linux)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            fields[name] = round(int(value.split()[0]) / 1024)
    return fields


def probe(data_dir: str, config: str, launched: float) -> dict[str, float]:
    """In a fresh process: load the corpus and build the Trainer as training does; seconds since ``launched`` (the
    parent's clock when it started this process) and memory after it."""
    import torch

    torch.set_num_threads(1)
    import tempfile

    from seq2seq2seq.config import load_config
    from seq2seq2seq.data import load_corpus
    from seq2seq2seq.train.trainer import Trainer

    with tempfile.TemporaryDirectory() as out:
        cfg = load_config(config, {"data_dir": data_dir, "output_dir": out, "report_to": "none", "num_threads": 1})
        trainer = Trainer(cfg, load_corpus(cfg.data_dir, cfg.max_documents))
        ready = time.time()
        memory = memory_status()
        documents = len(trainer.corpus.documents)
    return {"startup_seconds": round(ready - launched, 1), "documents": documents,
            **{f"startup_{k}_mib": v for k, v in memory.items()}}


def run_probe(data_dir: Path, config: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    launched = time.time()
    proc = subprocess.run([sys.executable, __file__, "--probe", str(data_dir), "--config", config, "--launched",
                           repr(launched)], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the start-up probe failed on {data_dir}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the report --------------------------------------------------------------------------------------------------


def table(rows: list[dict]) -> str:
    header = ("| corpus | documents | sentences | build s | build peak RSS MiB (largest process / all) | "
              "start-up s | RSS after start-up MiB (anon + file) |")
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['corpus']} | {r['documents']:,} | {r['sentences']:,} | {r['seconds']} | "
            f"{r['peak_rss_mib']:,} / {r['peak_rss_sum_mib']:,} | {r['startup_seconds']} | "
            f"{r['startup_VmRSS_mib']:,} ({r['startup_RssAnon_mib']:,} + {r['startup_RssFile_mib']:,}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=2_000_000, help="documents of the scaled corpus")
    parser.add_argument("--sentences", type=int, default=None,
                        help="sentences of the scaled corpus (default: documents x 15,081 / 206,149)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench_data", help="work folder")
    parser.add_argument("--config", default="scripts/configs/quickstart.yaml", help="the training config to start")
    parser.add_argument("--num-proc", type=int, default=None, help="data_prep --num-proc (default: its own)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # internal: the start-up probe in its own process
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.config, args.launched)))
        return 0
    if args.documents < 1:
        parser.error("--documents must be at least 1")
    sentences = args.sentences if args.sentences is not None else max(1, round(args.documents * SENTENCES_PER_DOCUMENT))
    args.out.mkdir(parents=True, exist_ok=True)
    extra = ["--num-proc", str(args.num_proc)] if args.num_proc else []

    rows = []
    default = args.out / "default"
    print(f"building the default corpus into {default} ...", file=sys.stderr)
    rows.append({"corpus": "default (shared data)", **build(default, extra, args.out / "default.log")})
    docs, sents = write_scaled_input(default, args.documents, sentences, args.out)
    scaled = args.out / f"corpus_{args.documents}"
    print(f"building the {args.documents:,}-document corpus into {scaled} ...", file=sys.stderr)
    rows.append({"corpus": f"{args.documents:,} documents", **build(
        scaled, ["--source", "none", "--documents-file", str(docs), "--sentences-file", str(sents), *extra],
        args.out / f"corpus_{args.documents}.log")})
    for row, corpus in zip(rows, (default, scaled)):
        print(f"starting a training process on {corpus} ...", file=sys.stderr)
        row.update({k: v for k, v in run_probe(corpus, args.config).items() if k != "documents"})
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "config": args.config, "cpus": os.cpu_count()}, indent=2) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
