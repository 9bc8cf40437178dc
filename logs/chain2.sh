#!/bin/bash
# after logs/chain.sh: D for the selector ablation, the ablation on dev, the speed of the length export
cd /work/main
source .venv/bin/activate; source scripts/env.sh
while [ ! -f logs/main_job.done ]; do sleep 20; done
echo "chain2 start $(date)"
python -m seq2seq2seq.train --config scripts/configs/cpu.yaml --output_dir runs/d300 --max_documents 38912 \
  --model.summarizer_init runs/cpu_search_s0/train/best/summarizer \
  --model.reconstructor_init runs/cpu_search_s0/train/final/reconstructor \
  --pretrain.steps 0 --pretrain_d.steps 300 --adversarial.steps 0 > logs/d300.log 2>&1
echo "d300 rc $? $(date)"
python scripts/research/selector_ablation.py --limit 500 --out runs/selector_ablation_dev.json -- --data_dir runs/corpus \
  --model runs/cpu_search_s0/train/best/summarizer --samples 8 --edits 4 --fluency_model runs/fluency_lm \
  --reconstruction_model runs/cpu_search_s0/train --reconstruction_weight 0.5 \
  --discriminator_model runs/d300 --discriminator_weight 0.5 > logs/ablation_dev.log 2>&1
echo "ablation rc $? $(date)"
for w in 10 13; do python scripts/benchmark_summarize.py --threads 2 --modes greedy --repeats 3 --model runs/cpu_len_s0/train/best/summarizer --words $w > logs/speed_len_w$w.log 2>&1; done
python scripts/benchmark_summarize.py --threads 2 --modes greedy --repeats 3 --model runs/cpu_search_s0/train/best/summarizer > logs/speed_s0.log 2>&1
echo "chain2 done $(date)"
