#!/usr/bin/env python
"""zuko's MAF under the toy_quality.py protocol, optionally with nflow's choices swapped in.

Trains zuko.flows.MAF(2, transforms=5, hidden_features=(64, 64)) on a toy of
../shared/peer/toy_quality.py exactly as its train_one does (same data, seeds, Adam at 1e-3,
batch 512, validation every 250 steps, patience 12, best weights restored) and prints the test
NLL and the gap to the exact reference. Options swap in one nflow choice at a time:

  --param nflow     nflow's affine step (data -> base): z = (x - mu) exp(-alpha),
                    alpha = B tanh(raw / B), B = --bound (zuko: z = x exp(s') + t, s' soft-clipped)
  --init-scale S    scale the last linear layer of every MADE by S at init (nflow: 0.01)
  --clip C          clip each parameter tensor's gradient to norm C (nflow's trainer: 50; it was 5)

Run from the repository root (the venv of ../shared/peer/README):
  ~/.cache/nflow-peer-venv/bin/python examples/maf_density/peer/zuko_variant.py \
      --dataset checkerboard --param nflow --init-scale 0.01 --seed 0
"""
import argparse
import copy
import json
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "../../../../shared/peer")))

import torch  # noqa: E402
import zuko  # noqa: E402

import toy_quality as tq  # noqa: E402
from nflow_affine import NflowAffine  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="checkerboard", choices=tq.DATASETS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--param", choices=["zuko", "nflow"], default="zuko")
    ap.add_argument("--bound", type=float, default=3.0)
    ap.add_argument("--init-scale", type=float, default=1.0)
    ap.add_argument("--clip", type=float, default=0.0)
    args = ap.parse_args()

    name = args.dataset
    xtr = torch.as_tensor(tq.make_split(name, "train", 50000), dtype=torch.float32)
    xva = torch.as_tensor(tq.make_split(name, "val", 10000), dtype=torch.float32)
    xte_np = tq.make_split(name, "test", 50000)
    xte = torch.as_tensor(xte_np, dtype=torch.float32)
    torch.manual_seed(1_000_003 * args.seed + 17 * 64 + tq.DATASETS.index(name))
    kw = {}
    if args.param == "nflow":
        NflowAffine.bound = args.bound
        kw["univariate"] = NflowAffine
    flow = zuko.flows.MAF(features=2, transforms=5, hidden_features=(64, 64), **kw)
    with torch.no_grad():
        for t in flow.transform.transforms:
            last = [m for m in t.hyper if isinstance(m, torch.nn.Linear)][-1]
            last.weight.mul_(args.init_scale)
            last.bias.mul_(args.init_scale)

    opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(args.seed)
    n, batch = len(xtr), 512
    best, since, step, stop = (math.inf, 0, None), 0, 0, False
    t0 = time.perf_counter()
    while step < args.steps and not stop:
        perm = torch.randperm(n, generator=gen)
        for b in range(n // batch):
            if step >= args.steps:
                break
            loss = -flow().log_prob(xtr[perm[b * batch:(b + 1) * batch]]).mean()
            opt.zero_grad()
            loss.backward()
            if args.clip > 0:
                for p in flow.parameters():
                    torch.nn.utils.clip_grad_norm_([p], args.clip)
            opt.step()
            step += 1
            if step % 250 == 0 or step == args.steps:
                with torch.no_grad():
                    v = float(-flow().log_prob(xva).mean())
                if v < best[0]:
                    best, since = (v, step, copy.deepcopy(flow.state_dict())), 0
                else:
                    since += 1
                if since >= 12:
                    stop = True
                    break
    flow.load_state_dict(best[2])
    with torch.no_grad():
        nll = -flow().log_prob(xte).double().numpy()
    gap = nll + tq.LOGP[name](xte_np)
    print(json.dumps(dict(
        dataset=name, seed=args.seed, param=args.param, bound=args.bound, init_scale=args.init_scale,
        clip=args.clip, steps=step, best_step=best[1], test_nll=round(float(nll.mean()), 4),
        gap=round(float(gap.mean()), 4), gap_2se=round(float(2 * gap.std() / math.sqrt(len(gap))), 4),
        seconds=round(time.perf_counter() - t0, 1))))


if __name__ == "__main__":
    main()
