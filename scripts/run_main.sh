#!/usr/bin/env bash
# The main job on a fresh machine: set-up, data preparation (reused if present), training with the quickstart
# config, summaries of the dev slice and the Gigaword test set, and the ROUGE table beside the Lead baselines.
#   bash scripts/run_main.sh                                   # quickstart (about 14 minutes on 2 cores)
#   bash scripts/run_main.sh --config scripts/configs/cpu.yaml # the 2-hour CPU configuration
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
. scripts/env.sh   # tcmalloc (or glibc malloc tunables) and offline settings
exec python scripts/benchmark.py "$@"
