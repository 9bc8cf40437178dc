#!/usr/bin/env bash
# The check to run when a GPU is lent (about one task in ten, 15 minutes in all): set-up, a smoke run of the tiny
# config, then a few minutes of the `gpu` config in bf16, and a short summary on STDOUT (examples/s per stage, dev
# ROUGE, peak GPU memory), so the figures survive even if the outputs folder is lost.
#
#   bash scripts/gpu_check.sh              # on the GPU machine (about 8 minutes: set-up, data, smoke, ~4 min of gpu)
#   bash scripts/gpu_check.sh --dry-run    # anywhere: check the inputs and print the commands it would run
#   GPU_MINUTES=3 bash scripts/gpu_check.sh
#
# Outputs go to ${OUT:-runs/gpu_check} (the device tool's $OUT when set). Every figure is also printed.
set -euo pipefail
cd "$(dirname "$0")/.."

DRY=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $arg (use --dry-run or nothing)" >&2; exit 2 ;;
  esac
done
MINUTES=${GPU_MINUTES:-4}
OUTDIR=${OUT:-runs/gpu_check}
CORPUS=${GPU_CORPUS:-runs/corpus}
# a few minutes of the gpu config: its model and batch sizes, each stage shortened so all three run in the budget
GPU_STEPS=(--pretrain.steps 600 --pretrain_d.steps 60 --adversarial.steps 120 --warmup_steps 100
           --eval_every 300 --eval_size 500 --save_every 300 --log_every 20 --sample_every 0 --report_to none)

run() {  # print a command, and run it unless --dry-run
  echo "+ $*"
  if [ "$DRY" = "0" ]; then "$@"; fi
}

for needed in scripts/configs/gpu.yaml scripts/configs/tiny.yaml scripts/setup.sh scripts/gpu_summary.py; do
  [ -f "$needed" ] || { echo "error: $needed is missing: run from a checkout of the project" >&2; exit 2; }
done

if [ "$DRY" = "1" ]; then
  echo "dry run: the commands below are checked, not run"
  if [ -x .venv/bin/python ]; then
    # the configs must load with these overrides (a wrong key fails here, not on the GPU)
    .venv/bin/python -m seq2seq2seq.train --config scripts/configs/gpu.yaml --output_dir "$OUTDIR/gpu" \
      "${GPU_STEPS[@]}" --print_config >/dev/null
    echo "ok: scripts/configs/gpu.yaml loads with the check's overrides"
  fi
else
  bash scripts/setup.sh
  . .venv/bin/activate
  . scripts/env.sh
  python -c "import torch; assert torch.cuda.is_available(), 'no GPU visible to torch'; \
print('gpu:', torch.cuda.get_device_name(0), torch.__version__)"
fi
run mkdir -p "$OUTDIR"
[ -d "$CORPUS" ] || run python -m data_prep --out "$CORPUS"
started=$(date +%s)
run python -m seq2seq2seq.train --config scripts/configs/tiny.yaml --data_dir "$CORPUS" \
  --output_dir "$OUTDIR/smoke" --overwrite
# the gpu config, cut off after MINUTES at the latest (what ran is in its metrics.jsonl and train.log)
run timeout --signal=INT "${MINUTES}m" python -m seq2seq2seq.train --config scripts/configs/gpu.yaml \
  --data_dir "$CORPUS" --output_dir "$OUTDIR/gpu" --overwrite "${GPU_STEPS[@]}" || true
run python scripts/gpu_summary.py "$OUTDIR/smoke" "$OUTDIR/gpu"
echo "gpu_check: $(( $(date +%s) - started )) s after set-up"
