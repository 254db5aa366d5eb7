#!/usr/bin/python3
"""torch_baseline.py: an independent PyTorch implementation of ebmc's 2-D training step, for timing.

It follows the objectives note (shared/docs/objectives.md), not ebmc's code:
  model      E(x) = MLP 2 -> 128 -> 128 -> 128 -> 1, SiLU, Xavier-uniform weights, zero biases
  data       8gaussians: 8 modes on the radius-2 circle, std 0.1, drawn fresh every step
  negatives  cd      k ULA steps on E started at the data batch
             sr-cd   k ULA steps on E started from uniform noise on [-4, 4]^2
             dcd-ve  y = x + sigma eps; M MALA steps on U_y(x) = E(x) + |y - x|^2 / (2 sigma^2) started at y
             ULA/MALA proposal: x' = x - eta/2 grad U(x) + sqrt(eta) xi
  loss       mean E(x) - mean E(sg(x~)) + alpha * mean(E(x)^2 + E(sg(x~))^2), one forward over [x; x~]
  update     Adam (beta1 0.9, beta2 0.999, eps 1e-8)

A timed step is everything ebmc's timed step does: draw the data batch, sample the negatives, the loss
forward and backward, and the Adam update. Steps run in chunks after --warmup untimed steps; steps/s is
the median over the chunks. Run it with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--objective", choices=["cd", "sr-cd", "dcd-ve"], default="dcd-ve")
    p.add_argument("--steps", type=int, default=200, help="timed training steps (default 200)")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps before timing (default 10)")
    p.add_argument("--chunks", type=int, default=5, help="timed chunks; steps/s is their median (default 5)")
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads and the BLAS/OpenMP thread count")
    p.add_argument("--k", type=int, default=5, help="Langevin steps: k for cd/sr-cd, M for dcd-ve (default 5)")
    p.add_argument("--eta", type=float, default=0.01, help="Langevin step size (default 0.01)")
    p.add_argument("--sampler", choices=["auto", "ula", "mala"], default="auto",
                   help="Langevin sampler; auto (default): ULA for cd and sr-cd, MALA for dcd-ve")
    p.add_argument("--sigma", type=float, default=0.3, help="DCD-VE kernel noise (default 0.3)")
    p.add_argument("--alpha", type=float, default=0.1, help="energy-magnitude penalty (default 0.1)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval", action="store_true",
                   help="after training, print the held-out NLL (nats) with exp(-E) normalized on a 128x128 "
                        "grid over [-4,4]^2: a check that this implementation trains (not timed)")
    p.add_argument("--json", action="store_true", help="print one JSON line instead of text")
    a = p.parse_args(argv)
    if a.steps < 1 or a.chunks < 1 or a.warmup < 0 or a.batch < 1 or a.threads < 1 or a.k < 0:
        p.error("--steps, --chunks, --batch, --threads must be >= 1; --warmup, --k >= 0")
    a.chunks = min(a.chunks, a.steps)
    a.mala = a.sampler == "mala" or (a.sampler == "auto" and a.objective == "dcd-ve")
    return a


ARGS = parse_args(sys.argv[1:])
# Thread counts must be fixed before torch (and its OpenMP runtime and OpenBLAS) load: OpenBLAS's pthread
# build otherwise starts one worker per core whatever torch.set_num_threads says.
# (For experiments, a BENCH_OPENBLAS_THREADS or OMP_WAIT_POLICY already in the environment is kept.)
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["OPENBLAS_NUM_THREADS"] = os.environ.get("BENCH_OPENBLAS_THREADS", str(ARGS.threads))

import torch  # noqa: E402

HALF_WIDTH = 4.0  # the data box [-4, 4]^2


def make_model():
    layers = []
    sizes = [2, 128, 128, 128, 1]
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i + 2 < len(sizes):
            layers.append(torch.nn.SiLU())
    return torch.nn.Sequential(*layers)


def sample_8gaussians(n, gen):
    mode = torch.randint(0, 8, (n,), generator=gen)
    angle = mode.to(torch.float32) * (math.pi / 4)
    centers = 2.0 * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return centers + 0.1 * torch.randn(n, 2, generator=gen)


def energy_and_grad(net, x):
    """E(x) per row and dE/dx, without building a graph to the parameters' gradients."""
    x = x.detach().requires_grad_(True)
    e = net(x).squeeze(1)
    (g,) = torch.autograd.grad(e.sum(), x)
    return e.detach(), g


def potential(net, x, y, sigma):
    """U(x) and grad U(x): U = E, or U_y = E + |y - x|^2 / (2 sigma^2) when y is given."""
    e, g = energy_and_grad(net, x)
    if y is not None:
        d = x - y
        e = e + (d * d).sum(1) / (2 * sigma * sigma)
        g = g + d / (sigma * sigma)
    return e, g


def langevin(net, x, steps, eta, gen, mala=False, y=None, sigma=1.0, stats=None):
    """steps ULA or MALA steps on U from x; returns the last state."""
    if steps == 0:
        return x
    sd = math.sqrt(eta)
    u, g = potential(net, x, y, sigma)
    for k in range(steps):
        x2 = x - 0.5 * eta * g + sd * torch.randn(x.shape, generator=gen)
        if not mala:
            x = x2
            if k + 1 < steps:
                u, g = potential(net, x, y, sigma)
            continue
        # MALA: accept with prob min(1, exp(U(x) - U(x') + log k(x|x') - log k(x'|x))),
        # k(b|a) = N(b; a - eta/2 grad U(a), eta I). The current point's U and gradient carry over.
        u2, g2 = potential(net, x2, y, sigma)
        fwd = x2 - (x - 0.5 * eta * g)   # x' given x
        bwd = x - (x2 - 0.5 * eta * g2)  # x given x'
        log_a = u - u2 - ((bwd * bwd).sum(1) - (fwd * fwd).sum(1)) / (2 * eta)
        accept = torch.log(torch.rand(u.shape, generator=gen)) < log_a
        if stats is not None:
            stats[0] += int(accept.sum())
            stats[1] += accept.numel()
        a = accept.unsqueeze(1)
        x = torch.where(a, x2, x)
        g = torch.where(a, g2, g)
        u = torch.where(accept, u2, u)
    return x


def negatives(net, x, a, gen, stats):
    mala = a.mala
    if a.objective == "cd":
        return langevin(net, x, a.k, a.eta, gen, mala=mala, stats=stats)
    if a.objective == "sr-cd":
        x0 = (2 * torch.rand(x.shape, generator=gen) - 1) * HALF_WIDTH
        return langevin(net, x0, a.k, a.eta, gen, mala=mala, stats=stats)
    y = x + a.sigma * torch.randn(x.shape, generator=gen)
    return langevin(net, y, a.k, a.eta, gen, mala=mala, y=y, sigma=a.sigma, stats=stats)


def train_step(net, opt, a, gen, stats):
    x = sample_8gaussians(a.batch, gen)
    xneg = negatives(net, x, a, gen, stats).detach()  # sg(x~)
    e = net(torch.cat([x, xneg], 0)).squeeze(1)
    e_pos, e_neg = e[: a.batch], e[a.batch:]
    loss = e_pos.mean() - e_neg.mean() + a.alpha * (e_pos.pow(2).mean() + e_neg.pow(2).mean())
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss)


@torch.no_grad()
def grid_nll(net, gen, grid=128, n_test=10000):
    """Held-out NLL with exp(-E) normalized numerically on a grid over the data box (cell area included)."""
    h = 2 * HALF_WIDTH / grid
    c = -HALF_WIDTH + h * (torch.arange(grid, dtype=torch.float32) + 0.5)
    pts = torch.stack(torch.meshgrid(c, c, indexing="ij"), -1).reshape(-1, 2)
    e = net(pts).squeeze(1).double()
    log_z = torch.logsumexp(-e, 0) + math.log(h * h)
    test = sample_8gaussians(n_test, gen)
    idx = ((test + HALF_WIDTH) / h).floor().long().clamp(0, grid - 1)
    e_test = e[idx[:, 0] * grid + idx[:, 1]]
    return float((e_test + log_z).mean())


def main(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    net = make_model()
    opt = torch.optim.Adam(net.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    stats = [0, 0]  # MALA accepted, proposed
    loss = float("nan")
    for _ in range(a.warmup):
        loss = train_step(net, opt, a, gen, stats)
    rates, done, wall, cpu = [], 0, 0.0, time.process_time()
    for c in range(a.chunks):
        n = a.steps * (c + 1) // a.chunks - done
        t0 = time.perf_counter()
        for _ in range(n):
            loss = train_step(net, opt, a, gen, stats)
        dt = time.perf_counter() - t0
        rates.append(n / dt)
        done, wall = done + n, wall + dt
    cpu = time.process_time() - cpu
    out = {
        "impl": "torch", "torch": torch.__version__, "objective": a.objective, "threads": a.threads,
        "batch": a.batch, "k": a.k, "sampler": "mala" if a.mala else "ula", "warmup": a.warmup, "steps": a.steps,
        "steps_per_sec": round(statistics.median(rates), 3),
        "chunk_steps_per_sec": [round(r, 3) for r in rates],
        # all timed steps over their wall time (ebmc's metrics.json definition), and over the CPU time of
        # all threads (at 1 thread, a rate that other load on the machine moves much less)
        "mean_steps_per_sec": round(a.steps / wall, 3),
        "cpu_steps_per_sec": round(a.steps / cpu, 3),
        "final_loss": loss,
    }
    if stats[1]:
        out["acceptance"] = round(stats[0] / stats[1], 4)
    if a.eval:
        out["nll"] = round(grid_nll(net, torch.Generator().manual_seed(a.seed + 1)), 4)
    if a.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:20s} {v}")


if __name__ == "__main__":
    main(ARGS)
