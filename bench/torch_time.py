#!/usr/bin/python3
"""torch_time.py: W4 of bench/results.sh, an independent PyTorch version of a time-DCD-VE training step of
models/cifar_time.ebm, for timing.

It follows the objectives note (shared/docs/objectives.md, "Time-dependent EBM") and the model file's text,
not ebmc's code:
  model      E(x, t), x [B, 3, 32, 32], t [B] in 0 .. L-1: t embedded at 8 frequencies exp(-0.576 k) (sin,
             cos), Linear 16 -> 64 + SiLU; three 3x3 stride-2 convolutions 3 -> 32 -> 64 -> 64 with SiLU, a
             per-channel projection of the embedding added before the first two SiLUs; E = Linear(flatten)
             + <sum-pool(h), embedding @ Wo>
  ladder     VE: sigma_0 = 0, sigma_1 .. sigma_L geometric from 0.05 to 1 (L = 6); a_t = 1,
             s_t^2 = sigma_{t+1}^2 - sigma_t^2; MALA step eta_t = level_step * s_t^2 (level_step 0.05)
  negatives  each row its own level t; x_t = x + sigma_t eps, y = x_t + s_t eps'; M MALA steps on
             U_y(x~) = E(x~, t) + |y - x~|^2 / (2 s_t^2) from y
  loss       mean E(x_t, t) - mean E(sg(x~), t) + alpha mean(E(x_t, t)^2 + E(x~, t)^2), alpha 1e-3; Adam, lr 2e-4
Data: uniform noise in [0, 1] (the step's cost does not depend on the pictures). Steps/s is the median
over --chunks chunks after --warmup untimed steps. Run it with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--steps", type=int, default=30, help="timed training steps (default 30)")
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--chunks", type=int, default=3)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--m", type=int, default=5, help="MALA steps per negative (default 5)")
p.add_argument("--json", action="store_true", help="print one JSON line")
ARGS = p.parse_args()
if ARGS.steps < 1 or ARGS.chunks < 1 or ARGS.threads < 1 or ARGS.batch < 1:
    p.error("--steps, --chunks, --threads, --batch must be >= 1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_setup import prepare  # noqa: E402

prepare(ARGS.threads)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

LEVELS, SIGMA_MIN, SIGMA_MAX, LEVEL_STEP, ALPHA, LR = 6, 0.05, 1.0, 0.05, 1e-3, 2e-4
SIGMA = [0.0] + [SIGMA_MIN * (SIGMA_MAX / SIGMA_MIN) ** (i / (LEVELS - 1)) for i in range(LEVELS)]


class Energy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.t1 = torch.nn.Linear(16, 64)
        self.c1, self.c2, self.c3 = (torch.nn.Conv2d(a, b, 3, 2, 1) for a, b in ((3, 32), (32, 64), (64, 64)))
        self.a1, self.a2 = torch.nn.Linear(64, 32, bias=False), torch.nn.Linear(64, 64, bias=False)
        self.out, self.wo = torch.nn.Linear(1024, 1), torch.nn.Linear(64, 64, bias=False)
        self.register_buffer("freq", torch.exp(-0.576 * torch.arange(8, dtype=torch.float32)))

    def forward(self, x, t):
        a = t[:, None] * self.freq
        e = F.silu(self.t1(torch.cat([torch.sin(a), torch.cos(a)], 1)))
        h = F.silu(self.c1(x) + self.a1(e)[:, :, None, None])
        h = F.silu(self.c2(h) + self.a2(e)[:, :, None, None])
        h = F.silu(self.c3(h))
        return self.out(h.flatten(1)).squeeze(1) + (h.sum((2, 3)) * self.wo(e)).sum(1)


def posterior(net, x, y, t, s2, eta, m):
    """m MALA steps on U_y from y, each row with its own kernel variance s2 and step eta ([B, 1, 1, 1])."""
    def u_and_grad(z):
        z = z.detach().requires_grad_(True)
        u = net(z, t) + ((y - z) ** 2).sum((1, 2, 3)) / (2 * s2.flatten())
        (g,) = torch.autograd.grad(u.sum(), z)
        return u.detach(), g

    def log_k(to, frm, g):  # log N(to; frm - eta/2 g, eta I), up to a constant shared by both directions
        return -((to - frm + 0.5 * eta * g) ** 2).sum((1, 2, 3)) / (2 * eta.flatten())

    u, g = u_and_grad(x)
    for _ in range(m):
        x2 = x - 0.5 * eta * g + eta.sqrt() * torch.randn_like(x)
        u2, g2 = u_and_grad(x2)
        accept = (torch.log(torch.rand_like(u)) < u - u2 + log_k(x, x2, g2) - log_k(x2, x, g))[:, None, None, None]
        x, g, u = torch.where(accept, x2, x), torch.where(accept, g2, g), torch.where(accept.flatten(), u2, u)
    return x


def train_step(net, opt, b, m):
    level = torch.randint(0, LEVELS, (b,))
    sig = torch.tensor(SIGMA)
    s2 = (sig[level + 1] ** 2 - sig[level] ** 2)[:, None, None, None]
    x = torch.rand(b, 3, 32, 32) + sig[level][:, None, None, None] * torch.randn(b, 3, 32, 32)
    y = x + s2.sqrt() * torch.randn_like(x)
    t = level.to(torch.float32)
    xneg = posterior(net, y, y, t, s2, LEVEL_STEP * s2, m).detach()
    e = net(torch.cat([x, xneg]), torch.cat([t, t]))
    loss = e[:b].mean() - e[b:].mean() + ALPHA * (e[:b].pow(2).mean() + e[b:].pow(2).mean())
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def main(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = Energy()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    for _ in range(a.warmup):
        train_step(net, opt, a.batch, a.m)
    rates, done, cpu = [], 0, time.process_time()
    for c in range(a.chunks):
        n = a.steps * (c + 1) // a.chunks - done
        t0 = time.perf_counter()
        for _ in range(n):
            train_step(net, opt, a.batch, a.m)
        rates.append(n / (time.perf_counter() - t0))
        done += n
    out = {"impl": "torch", "torch": torch.__version__, "threads": a.threads, "batch": a.batch, "m": a.m,
           "steps": a.steps, "steps_per_sec": round(statistics.median(rates), 3),
           "cpu_steps_per_sec": round(a.steps / (time.process_time() - cpu), 3)}
    print(json.dumps(out) if a.json else "W4 time-DCD-VE step: %.2f steps/s (%d threads)" % (out["steps_per_sec"], a.threads))


if __name__ == "__main__":
    main(ARGS)
