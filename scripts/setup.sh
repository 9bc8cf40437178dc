#!/usr/bin/env bash
# Set up a fresh machine: a virtual environment in .venv with the project and its dependencies.
#   bash scripts/setup.sh            # CPU machine: installs torch==2.13.0 (CPU wheel) first, so no CUDA wheels
#   TORCH_SPEC="torch" bash scripts/setup.sh   # a GPU machine: let pip pick the CUDA build
# Re-running it is cheap: pip skips what is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
. .venv/bin/activate
# torch first: the project's own range (torch>=2.2,<3) is then already satisfied and pulls nothing more
if [ -n "${TORCH_SPEC:-}" ]; then
  python -m pip install --quiet "$TORCH_SPEC"
elif command -v nvidia-smi >/dev/null 2>&1; then
  python -m pip install --quiet "torch>=2.2,<3"
elif python -m pip config list 2>/dev/null | grep -q "find-links"; then
  # a machine with local wheels (as on the project's CI): torch==2.13.0's CPU build is among them
  python -m pip install --quiet "torch==2.13.0"
else
  # elsewhere a plain `pip install torch` on Linux pulls the CUDA build; take the CPU-only one
  python -m pip install --quiet "torch>=2.2,<3" --index-url https://download.pytorch.org/whl/cpu
fi
python -m pip install --quiet -e ".[test,tensorboard]"
# optional: official perl ROUGE-1.5.5 for `scripts/evaluate_rouge.py --backend perl`
if [ "${WITH_PERL_ROUGE:-0}" = "1" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    apt-get update -qq && apt-get install -y -qq perl libxml-parser-perl >/dev/null
  fi
  python -m pip install --quiet -e ".[perl-rouge]"
fi
# tcmalloc makes CPU training steps faster and steadier; used by scripts/*.sh when present
if [ "${WITH_TCMALLOC:-0}" = "1" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  apt-get install -y -qq libtcmalloc-minimal4 >/dev/null || echo "note: tcmalloc not installed" >&2
fi
echo "set-up done: . .venv/bin/activate"
