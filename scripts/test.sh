#!/usr/bin/env bash
# Set up (if needed) and run the test suite: fast, offline tests on tiny random models (a few minutes on 2 cores).
#   bash scripts/test.sh            # the default run (slow tests excluded)
#   bash scripts/test.sh -m slow    # only the slow ones (e.g. perl ROUGE agreement on the full test set)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
. scripts/env.sh   # tcmalloc (or glibc malloc tunables) and offline settings
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec python -m pytest "$@"
