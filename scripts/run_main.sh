#!/usr/bin/env bash
# The main job on a fresh machine: set-up, data preparation (reused if present), training with the quickstart
# config, summaries of the dev slice and the Gigaword test set, and the ROUGE table beside the Lead baselines.
#   bash scripts/run_main.sh                                   # quickstart (about 20 minutes on 2 cores)
#   bash scripts/run_main.sh --config scripts/configs/cpu.yaml # the 2-hour CPU configuration
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
if [ -z "${LD_PRELOAD:-}" ] && [ -f "$tcmalloc" ]; then export LD_PRELOAD=$tcmalloc; fi
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
exec python scripts/benchmark.py "$@"
