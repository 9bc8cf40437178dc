"""The slow-allocator note: printed for a CPU job on glibc's untuned malloc, silent with tcmalloc, tuned glibc, a GPU
or the opt-out."""

from __future__ import annotations

from seq2seq2seq.allocator import allocator_note

GLIBC_ONLY = "7f00-7f10 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
TCMALLOC = GLIBC_ONLY + "7f20-7f30 r-xp 0 08:01 2 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4\n"


def test_a_cpu_job_on_untuned_glibc_is_told_the_fix():
    note = allocator_note(GLIBC_ONLY, {}, cuda=False)
    assert note is not None and "source scripts/env.sh" in note and "2.6x" in note


def test_no_note_with_tcmalloc_tuned_glibc_a_gpu_the_opt_out_or_another_system():
    assert allocator_note(TCMALLOC, {}, cuda=False) is None
    tuned = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432"}
    assert allocator_note(GLIBC_ONLY, tuned, cuda=False) is None
    assert allocator_note(GLIBC_ONLY, {"GLIBC_TUNABLES": "glibc.cpu.x86_ibt=off"}, cuda=False) is not None
    assert allocator_note(GLIBC_ONLY, {}, cuda=True) is None
    assert allocator_note(GLIBC_ONLY, {"SEQ2SEQ2SEQ_MALLOC": "system"}, cuda=False) is None
    assert allocator_note(GLIBC_ONLY, {}, cuda=False, platform="darwin") is None
