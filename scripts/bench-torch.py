#!/usr/bin/python3
"""bench-torch.py: the PyTorch side of `ncsn bench`, on the same machine and sizes: the
notebook's network (sigma embedding 1 -> E -> E, backbone D + E -> H -> D, ReLU), its
training step (levels uniform over L = 100 geometric sigmas from 20 to 0.1, x' = x + sigma z,
loss the batch mean of 1/2 |sigma s(x', sigma) + z|^2, Adam lr 1e-3) and annealed Langevin
sampling (5000 chains, 4 levels of T = 11 steps), timed like `ncsn bench`: training
microseconds per step and network evaluations per second, best of three, for each thread
count. Needs Debian's python3-torch (not installed by scripts/install-deps.sh).

    /usr/bin/python3 scripts/bench-torch.py --dim 64 --hidden 512 [--threads 1,2] [--json]
"""
import argparse
import json
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    sys.exit("bench-torch.py: needs PyTorch (apt-get install python3-torch)")

E, BATCH, L, CHAINS, LEVELS, T = 16, 128, 100, 5000, 4, 11


class ScoreModel(nn.Module):
    """The notebook's network."""

    def __init__(self, d, e, h):
        super().__init__()
        self.sigma_emb = nn.Sequential(nn.Linear(1, e), nn.ReLU(), nn.Linear(e, e))
        self.backbone = nn.Sequential(nn.Linear(d + e, h), nn.ReLU(), nn.Linear(h, d))

    def forward(self, x, sigma):
        return self.backbone(torch.cat([x, self.sigma_emb(sigma)], dim=1))


def train_us(d, h, steps):
    model = ScoreModel(d, E, h)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sigmas = torch.logspace(torch.log10(torch.tensor(20.0)), torch.log10(torch.tensor(0.1)), L)
    data = torch.randn(4096, d) * 3
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for step in range(steps):
            x = data[(step * BATCH) % (4096 - BATCH):][:BATCH]
            sigma = sigmas[torch.randint(0, L, (BATCH,))].unsqueeze(1)
            z = torch.randn_like(x)
            s = model(x + sigma * z, sigma)
            loss = 0.5 * ((sigma * s + z) ** 2).sum(dim=1).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
        best = min(best, (time.perf_counter() - t0) / steps * 1e6)
    return best


@torch.no_grad()
def sample_evals(d, h):
    model = ScoreModel(d, E, h)
    sigmas = torch.logspace(torch.log10(torch.tensor(20.0)), torch.log10(torch.tensor(0.1)), L)
    levels = [sigmas[(L - 1) * i // (LEVELS - 1)].item() for i in range(LEVELS)]
    best = 0.0
    for _ in range(3):
        x = (torch.rand(CHAINS, d) - 0.5) * 16
        t0 = time.perf_counter()
        for sig in levels:
            alpha = 0.001 * sig * sig / (levels[-1] ** 2)
            sv = torch.full((CHAINS, 1), sig)
            for _ in range(T):
                x = x + 0.5 * alpha * model(x, sv) + alpha ** 0.5 * torch.randn_like(x)
        best = max(best, CHAINS * LEVELS * T / (time.perf_counter() - t0))
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dim", type=int, default=2, help="data dimension D (default 2)")
    ap.add_argument("--hidden", type=int, default=128, help="hidden width H (default 128)")
    ap.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    ap.add_argument("--steps", type=int, default=0, help="training steps per measurement")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    a = ap.parse_args()
    steps = a.steps or max(50, min(2000, int(2e9 / (10 * BATCH * a.dim * a.hidden))))
    rows = []
    for t in [int(v) for v in a.threads.split(",")]:
        torch.set_num_threads(t)
        rows.append({"threads": t, "train_us": train_us(a.dim, a.hidden, steps),
                     "sample_evals_per_s": sample_evals(a.dim, a.hidden)})
    out = {"torch": torch.__version__, "dim": a.dim, "hidden": a.hidden, "rows": rows}
    if a.json:
        print(json.dumps(out))
        return
    print(f"PyTorch {torch.__version__}: D {a.dim}, emb {E}, hidden {a.hidden}; batch {BATCH}, "
          f"{CHAINS} chains, {LEVELS} levels x T {T}")
    print("threads    train us   sample ev/s")
    for r in rows:
        print(f"{r['threads']:<7} {r['train_us']:11.1f} {r['sample_evals_per_s']:13.3g}")


if __name__ == "__main__":
    main()
