#!/bin/bash
# the README's main job on a fresh clone (set-up done beforehand in /tmp/fresh/repo), after the length evals
while ! grep -q "chain done" /work/main/logs/chain.log; do sleep 15; done
cd /tmp/fresh/repo && git pull -q && start=$(date +%s)
bash scripts/run_main.sh > /tmp/fresh/main_job.log 2>&1; rc=$?
echo "main job rc $rc seconds $(( $(date +%s) - start ))" > /tmp/fresh/main_job.result
touch /work/main/logs/main_job.done
