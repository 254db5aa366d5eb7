"""torch_setup.py: what the PyTorch benchmarks do before torch loads, so PyTorch runs at its best."""
import ctypes
import os


def prepare(threads, system_malloc=False):
    """Thread counts, and glibc's malloc kept from returning memory; call before `import torch`.

    Thread counts must be fixed before torch (its OpenMP runtime and OpenBLAS) loads: OpenBLAS's pthread
    build otherwise starts one worker per core whatever torch.set_num_threads says. glibc serves large
    blocks with mmap and hands them back on free, so every call that allocates its output (or oneDNN's
    scratch) page-faults it in again: on this VM that made a 3 ms conv take 100 ms in some processes and
    not others (the dynamic mmap threshold depends on the allocation history). Keep freed memory in the
    process, as a training loop's steady state would (ebmc's arena is allocated once)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    if not system_malloc:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: blocks below 1 GiB come from the heap
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: and freed heap memory stays mapped
