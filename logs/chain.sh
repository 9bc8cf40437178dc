#!/bin/bash
# waits for the length targets, then: seed-0 G at 8/10/13 words, the length-conditioned run, its evals
cd /work/main
source .venv/bin/activate; source scripts/env.sh
while pgrep -f "data_prep.search_targets" >/dev/null; do sleep 20; done
echo "targets done $(date)"
S0="--config scripts/configs/cpu.yaml --run_dir runs/cpu_search_s0 --max_documents 38912 --pretrain.task search --pretrain.search_targets runs/targets39k --adversarial.steps 0 --pretrain_d.steps 0"
for w in 8 10 13; do python scripts/benchmark.py $S0 --words $w > logs/s0_words$w.log 2>&1; echo "s0 words $w rc $? $(date)"; done
LEN="--config scripts/configs/cpu.yaml --run_dir runs/cpu_len_s0 --max_documents 38912 --pretrain.task search --pretrain.search_targets runs/targets39k_w8,runs/targets39k,runs/targets39k_w13 --pretrain.length_words [8,10,13] --decoding.max_summary_tokens 28 --adversarial.steps 0 --pretrain_d.steps 0"
python scripts/benchmark.py $LEN > logs/len_train.log 2>&1; echo "len train rc $? $(date)"
SEARCH="--candidates 1 --candidates_with_rule --candidates_rule_samples 8 --candidates_rule_temperature 0.5 --candidates_fluency_model runs/fluency_lm --candidates_fluency_weight 0.5 --candidates_headline_weight 0.5"
for w in 10 8 13; do python scripts/benchmark.py $LEN --words $w $SEARCH > logs/len_words$w.log 2>&1; echo "len words $w rc $? $(date)"; done
echo "chain done $(date)"
