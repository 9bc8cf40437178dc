"""Which memory allocator this process runs on, and a one-line note when CPU training would be slow because of it.

glibc's default malloc hands freed tensor memory back to the kernel and takes it again with page faults at every step:
CPU training measured 2.6x slower than with tcmalloc (docs/lab/speed.md). ``scripts/env.sh`` preloads tcmalloc (or
tunes glibc); a command started from a shell that did not source it runs on the slow default without a word. Training
and the search targets print :func:`allocator_note` once at start, so the slowdown is seen, not silently measured.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

FAST_ALLOCATORS = ("tcmalloc", "jemalloc", "mimalloc")
FIX = "run `source scripts/env.sh` first (it preloads tcmalloc; `bash scripts/setup.sh` installs it)"


def allocator_note(maps: str, env: dict[str, str], cuda: bool, platform: str = "linux") -> str | None:
    """The warning for a CPU job on glibc's untuned malloc, else None.

    ``maps``: the text of /proc/self/maps (the libraries loaded); ``env``: the environment; ``cuda``: whether the
    job runs on a GPU (the allocator matters little there). ``SEQ2SEQ2SEQ_MALLOC=system`` (env.sh's own switch)
    silences it."""
    if cuda or not platform.startswith("linux") or env.get("SEQ2SEQ2SEQ_MALLOC") == "system":
        return None
    if any(name in maps for name in FAST_ALLOCATORS):
        return None
    if "glibc.malloc.mmap_threshold" in env.get("GLIBC_TUNABLES", ""):
        return None  # env.sh's tuned glibc (no tcmalloc installed): the best this machine has
    return (f"glibc's default malloc is in use: CPU training and search run up to 2.6x slower with it; {FIX} "
            f"(SEQ2SEQ2SEQ_MALLOC=system silences this)")


def warn_if_slow_allocator(cuda: bool) -> None:
    """Print :func:`allocator_note` for this process to stderr, if there is one."""
    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return  # not Linux, or no /proc: nothing to say
    note = allocator_note(maps, dict(os.environ), cuda, sys.platform)
    if note:
        print(f"warning: {note}", file=sys.stderr)
