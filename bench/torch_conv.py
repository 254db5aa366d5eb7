#!/usr/bin/python3
"""torch_conv.py: PyTorch's time for the shapes of bench_conv.c, to put ebmc's conv2d and batched matmul in
context. Run it with /usr/bin/python3 (Debian's python3-torch), once per thread count:

  conv fwd         torch.nn.functional.conv2d(x, w, stride, padding)          (oneDNN on this build)
  conv bwd         aten.convolution_backward for dx and dw given dy: the same work as ebmc's gradient
                   program (which the default passes reduce to dx and dw; no forward)
  bmm              torch.bmm, or torch.matmul with a 2-D right operand
  w3, w5           the issue's workloads: a conv energy and its gradients (autograd), a 1024^3 matmul

Each figure is the median of --runs timed runs after warm-up calls, a run being enough calls to last at
least 20 ms, as in bench_conv.c; the output has the same `RESULT name threads seconds GFLOP/s` lines.
With --ebmc FILE (bench_conv's output), it also prints a markdown table of both and the ratio
torch time / ebmc time (above 1: ebmc is faster), for this process's thread count.
"""
import argparse
import os
import statistics
import sys
import time

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads and the BLAS/OpenMP thread count")
p.add_argument("--runs", type=int, default=11, help="timed runs per median (default 11)")
p.add_argument("--only", default=None, help="only cases whose name contains this")
p.add_argument("--ebmc", default=None, help="bench_conv output to compare with")
p.add_argument("--system-malloc", action="store_true", help="keep glibc's default mmap and trim thresholds")
ARGS = p.parse_args()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_setup import prepare  # noqa: E402

prepare(ARGS.threads, ARGS.system_malloc)

import torch  # noqa: E402

torch.set_num_threads(ARGS.threads)
torch.set_grad_enabled(False)


def timed(fn):
    """Median seconds per call of fn (wall clock, and process CPU time) over ARGS.runs runs after warm-up,
    each run >= 20 ms."""
    fn(), fn()  # warm-up: oneDNN builds its primitives on the first call, pages get touched
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    calls = 1 if once >= 0.02 else int(0.02 / max(once, 1e-6)) + 1
    times, cpu = [], []
    for _ in range(ARGS.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls)
        cpu.append((time.process_time() - c0) / calls)
    return statistics.median(times), statistics.median(cpu)


RESULTS = {}  # name: (seconds, GFLOP/s)


def report(name, fn, flops):
    if ARGS.only and ARGS.only not in name:
        return
    t, cpu = timed(fn)
    RESULTS[name] = (t, flops / t * 1e-9)
    if ARGS.threads == 1:  # one thread's CPU time: its time while scheduled (bench_conv prints the same)
        print(f"CPURESULT {name} 1 {cpu:.6f}", flush=True)
    print(f"{name}: {ARGS.threads} thread(s): median {1e3 * t:8.2f} ms, {flops / t * 1e-9:6.1f} GFLOP/s", file=sys.stderr)
    print(f"RESULT {name} {ARGS.threads} {t:.6f} {flops / t * 1e-9:.2f}", flush=True)


def data(*shape):
    return torch.rand(*shape) - 0.5


def conv(n, c, h, w, o, k, stride, pad):
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    flops = 2.0 * n * o * oh * ow * c * k * k
    tag = f"x{n}x{c}x{h}x{w}_w{o}x{c}x{k}x{k}_s{stride}_p{pad}"
    x, wt, dy = data(n, c, h, w), data(o, c, k, k), data(n, o, oh, ow)
    report(f"conv_fwd_{tag}", lambda: torch.nn.functional.conv2d(x, wt, stride=stride, padding=pad), flops)
    report(f"conv_bwd_{tag}", lambda: torch.ops.aten.convolution_backward(
        dy, x, wt, None, [stride, stride], [pad, pad], [1, 1], False, [0, 0], 1, [True, True, False]), 2 * flops)


def bmm(b, m, k, n, batched_b):
    a, bb = data(b, m, k), data(b, k, n) if batched_b else data(k, n)
    name = f"bmm_{b}x{m}x{k}_x_{f'{b}x' if batched_b else ''}{k}x{n}"
    report(name, (lambda: torch.bmm(a, bb)) if batched_b else (lambda: torch.matmul(a, bb)), 2.0 * b * m * k * n)


def w3():
    """W3 (bench_conv.c's bench_w3): the conv energy on [128, 1, 28, 28] and its gradients in x and every
    parameter, by autograd."""
    n = 128
    x = data(n, 1, 28, 28).requires_grad_()
    ps = [data(64, 1, 3, 3), data(64), data(128, 64, 3, 3), data(128), data(256, 128, 3, 3), data(256), data(256, 1)]
    for p_ in ps:
        p_.requires_grad_()
    F = torch.nn.functional

    def step():
        with torch.enable_grad():
            h = F.silu(F.conv2d(x, ps[0], ps[1], padding=1))
            h = F.silu(F.conv2d(h, ps[2], ps[3], stride=2, padding=1))
            h = F.silu(F.conv2d(h, ps[4], ps[5], stride=2, padding=1))
            e = (h.mean(dim=(2, 3)) @ ps[6]).sum()
            return torch.autograd.grad(e, [x] + ps)

    fwd = 2.0 * n * (64 * 28 * 28 * 9 + 128 * 14 * 14 * 64 * 9 + 256 * 7 * 7 * 128 * 9 + 256)
    report("w3_energy_grad_x128x1x28x28", step, 3 * fwd)


def w5():
    a, b = data(1024, 1024), data(1024, 1024)
    report("w5_matmul_1024x1024x1024", lambda: torch.matmul(a, b), 2.0 * 1024**3)


def ebmc_results(path):
    """{name: (seconds, GFLOP/s)} from the RESULT lines of bench_conv's output for this thread count."""
    found = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) == 5 and w[0] == "RESULT" and int(w[2]) == ARGS.threads:
                found[w[1]] = (float(w[3]), float(w[4]))
    return found


# The shapes of bench_conv.c, in its order.
conv(64, 64, 32, 32, 64, 3, 1, 1)
conv(64, 3, 32, 32, 64, 3, 1, 1)
conv(64, 64, 32, 32, 128, 3, 2, 1)
conv(64, 64, 8, 8, 64, 3, 2, 1)
bmm(8, 128, 128, 128, True)
bmm(32, 256, 64, 256, True)
bmm(8, 128, 128, 128, False)
w3()
w5()

if ARGS.ebmc:
    theirs = ebmc_results(ARGS.ebmc)
    print(f"\n| case | threads | ebmc ms | ebmc GFLOP/s | torch ms | torch GFLOP/s | torch / ebmc time |")
    print("|---|---|---|---|---|---|---|")
    for name, (t, gf) in RESULTS.items():
        if name in theirs:
            et, egf = theirs[name]
            print(f"| {name} | {ARGS.threads} | {1e3 * et:.2f} | {egf:.1f} | {1e3 * t:.2f} | {gf:.1f} | {t / et:.2f} |")
