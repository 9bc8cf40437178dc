"""What this machine can do: the float32 matrix-multiply peak that every timing in the project is reported beside
(machines of the same kind differ by up to 1.3x, so a time alone compares nothing)."""

from __future__ import annotations

import time

import torch


def matmul_peak_flops(size: int = 1024, seconds: float = 3.0, device: str | None = None) -> float:
    """FLOP/s of a float32 square matrix multiply here, with torch's current threads (on the GPU when there is one
    and ``device`` is not given)."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    for _ in range(3):
        a @ b
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        a @ b
        count += 1
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return 2 * size**3 * count / (time.perf_counter() - started)
