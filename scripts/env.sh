#!/usr/bin/env bash
# The environment the project's CPU jobs run in; scripts/run_main.sh and scripts/test.sh source it, and so can you:
#   . .venv/bin/activate && . scripts/env.sh && python -m seq2seq2seq.train --config ...
# - memory allocator: glibc's default malloc returns freed tensor memory to the kernel and takes it back with page
#   faults at every step, which made CPU training 2.6x slower on a fresh machine (docs/lab/speed.md). tcmalloc is
#   preloaded when installed (scripts/setup.sh installs it where it can); otherwise glibc's malloc is tuned
#   (GLIBC_TUNABLES: huge pages, mmap threshold fixed high, no trimming), which recovers part of the difference.
# - offline: the hub is never asked at run time (set HF_HUB_OFFLINE=0 to allow it).
#   bash scripts/env.sh --tcmalloc-path   prints tcmalloc's path and exits 0 if it is installed, else exits 1
_s2s_tcmalloc() {
  local f
  for f in /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4 \
           /usr/lib64/libtcmalloc_minimal.so.4 /usr/local/lib/libtcmalloc_minimal.so.4 \
           /usr/lib/x86_64-linux-gnu/libtcmalloc.so.4 /usr/lib64/libtcmalloc.so.4; do
    if [ -f "$f" ]; then echo "$f"; return 0; fi
  done
  return 1
}
if [ "${1:-}" = "--tcmalloc-path" ]; then _s2s_tcmalloc; exit $?; fi
# SEQ2SEQ2SEQ_MALLOC: auto (tcmalloc if installed, else tuned glibc), glibc (tuned glibc), system (leave it alone)
_s2s_malloc=${SEQ2SEQ2SEQ_MALLOC:-auto}
if [ -z "${LD_PRELOAD:-}" ] && [ "$_s2s_malloc" = "auto" ] && _s2s_tcmalloc >/dev/null; then
  export LD_PRELOAD=$(_s2s_tcmalloc)
elif [ "$_s2s_malloc" != "system" ]; then
  # transparent huge pages for the heap, tensors up to 32 MiB from the heap (not a fresh mmap each time), and freed
  # memory kept: measured on the quickstart model, pretrain 20.2 -> 23.0 docs/s, adversarial 9.5 -> 12.1 (tcmalloc:
  # 30.2 and 15.4); glibc releases without a tunable ignore it
  export GLIBC_TUNABLES=${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296
fi
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} HF_DATASETS_OFFLINE=${HF_DATASETS_OFFLINE:-1}
unset -f _s2s_tcmalloc; unset _s2s_malloc
