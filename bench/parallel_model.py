#!/usr/bin/env python3
"""parallel_model.py: steps/s of a data-parallel ebmc job at N ranks, projected from one rank's measured
compute time and a network model (docs/parallel.md). A step at global batch B on N ranks costs

    t(N) = a + c B / N + T_ar(N),    T_ar(N) = 2 (N - 1) / N * S / bw + 2 (N - 1) * alpha

(ring all-reduce of S gradient bytes), where a + c b is one rank's compute time at b rows (measured at two
batch sizes). Scaling stops paying where adding ranks no longer shortens the step: with T_ar ~ 2 N alpha
that is N* = sqrt(c B / (2 alpha)); equivalently, a rank needs at least b* = T_ar(N) / c rows for its
compute to outweigh the all-reduce.

    python3 bench/parallel_model.py --name MLP --bytes 134148 --c-ms 0.197 --a-ms 0 --batch 1024

prints, for each rank count, the all-reduce time and steps/s at that global batch (strong scaling) and with
that many rows on every rank (weak scaling: the global batch grows with the ranks).
"""
import argparse
import math

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--name", default="model")
p.add_argument("--bytes", type=float, required=True, help="gradient bytes all-reduced a step (S)")
p.add_argument("--c-ms", type=float, required=True, help="compute per sample of the global batch, ms (c)")
p.add_argument("--a-ms", type=float, default=0.0, help="compute per step independent of the batch, ms (a)")
p.add_argument("--batch", type=int, required=True, help="global batch B")
p.add_argument("--bw", type=float, default=12.5e9, help="bytes/s per link direction (default 100 Gb/s)")
p.add_argument("--alpha-us", type=float, default=2.0, help="latency of one message, us (default 2)")
p.add_argument("--ranks", default="1,8,64,512")
o = p.parse_args()

alpha, c, a = o.alpha_us * 1e-6, o.c_ms * 1e-3, o.a_ms * 1e-3


def rate(x):
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def allreduce(n):
    return 0.0 if n == 1 else 2 * (n - 1) / n * o.bytes / o.bw + 2 * (n - 1) * alpha


print(f"{o.name}: S = {o.bytes / 1024:.1f} KiB, c = {o.c_ms:g} ms/sample, a = {o.a_ms:g} ms, "
      f"bw = {o.bw / 1e9:g} GB/s, latency {o.alpha_us:g} us")
print(f"| ranks | all-reduce ms | steps/s at global batch {o.batch} | steps/s at {o.batch} rows a rank "
      f"| fewest rows a rank for all-reduce <= compute |")
print("|---:|---:|---:|---:|---:|")
for n in (int(x) for x in o.ranks.split(",")):
    tar = allreduce(n)
    strong = rate(1 / (a + c * o.batch / n + tar)) if n <= o.batch else "(batch < ranks)"
    weak = 1 / (a + c * o.batch + tar)
    need = max(0.0, (tar - a) / c) if n > 1 else 0
    print(f"| {n} | {1e3 * tar:.3f} | {strong} | {rate(weak)} | {math.ceil(need)} |")
best = math.sqrt(c * o.batch / (2 * alpha))
print(f"at global batch {o.batch}, adding ranks stops paying at about N* = sqrt(c B / (2 alpha)) = {best:.0f} ranks"
      + (f" ({o.batch / best:.0f} rows each)" if best <= o.batch else " (more ranks than rows: never, before the batch runs out)"))
