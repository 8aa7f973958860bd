#!/usr/bin/env python
"""Writes zuko_maf_trace.json, the fixture of crates/train/tests/zuko_equivalence.rs.

A zuko 1.6 MAF (2 features, 3 transforms, hidden (16, 16), ReLU, feature order reversed between
transforms) whose affine step is given nflow's parametrisation (data -> base:
z = (x - mu) exp(-alpha), alpha = 3 tanh(raw / 3)), trained with torch.optim.Adam for a few steps
on fixed batches. The file holds, in nflow's paths and layouts: the initial parameters, every
batch, every step's loss, the first step's gradients and the final parameters.

Layout mapping (zuko -> nflow): zuko transform t is nflow chain layer 2 (T - 1 - t) (reverse
permutations sit between), because nflow's chain meets data at its last layer. Odd zuko transforms
see the features reversed. zuko's output rows are feature-major (shift_0, raw_0, shift_1, raw_1);
nflow's are parameter-major (shift_0, shift_1, raw_0, raw_1). burn stores a linear weight as
[inputs, outputs], torch as [outputs, inputs].

Run: ~/.cache/nflow-peer-venv/bin/python crates/train/tests/data/zuko_maf_trace.py
"""
import json
import os
import sys

import numpy as np
import torch
import zuko

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../../../examples/maf_density/peer"))
from nflow_affine import NflowAffine  # noqa: E402

TRANSFORMS, HIDDEN, BATCH, STEPS, LR, BOUND = 3, 16, 64, 8, 1e-2, 3.0


def nflow_params(flow, get):
    """{nflow path: {shape, values}} from zuko's linear layers (get(lin) -> (weight, bias))."""
    out = {}
    for t, transform in enumerate(flow.transform.transforms):
        lins = [m for m in transform.hyper if isinstance(m, torch.nn.Linear)]
        perm = [0, 1] if t % 2 == 0 else [1, 0]  # nflow input i is zuko input perm[i]
        for l, lin in enumerate(lins):
            w, b = (v.detach().double().numpy() for v in get(lin))
            if l == 0:
                w = w[:, perm]
            if l == len(lins) - 1:
                rows = [2 * perm[i] + p for p in range(2) for i in range(2)]
                w, b = w[rows], b[rows]
            name = "input_layer" if l == 0 else "output_layer" if l == len(lins) - 1 else f"hidden_layers.{l - 1}"
            prefix = f"flow.transform.layers.{2 * (TRANSFORMS - 1 - t)}.Maf.transform.made.{name}"
            out[prefix + ".weight"] = dict(shape=list(w.T.shape), values=w.T.ravel().tolist())
            out[prefix + ".bias"] = dict(shape=list(b.shape), values=b.tolist())
    return out


def main():
    NflowAffine.bound = BOUND
    torch.manual_seed(7)
    flow = zuko.flows.MAF(2, transforms=TRANSFORMS, hidden_features=(HIDDEN, HIDDEN), univariate=NflowAffine)
    masked = lambda lin: (lin.weight * lin.mask, lin.bias)
    initial = nflow_params(flow, masked)
    rng = np.random.default_rng(7)
    batches = [(rng.standard_normal((BATCH, 2)) * [2.0, 0.7] + [0.5, -1.0]).astype(np.float32) for _ in range(STEPS)]
    opt = torch.optim.Adam(flow.parameters(), lr=LR)
    losses, grads = [], None
    for step, batch in enumerate(batches):
        loss = -flow().log_prob(torch.from_numpy(batch)).mean()
        opt.zero_grad()
        loss.backward()
        if step == 0:
            grads = nflow_params(flow, lambda lin: (lin.weight.grad, lin.bias.grad))
        opt.step()
        losses.append(loss.item())
    trace = dict(
        about=__doc__.strip().splitlines()[0],
        versions=f"torch {torch.__version__}, zuko {zuko.__version__}",
        transforms=TRANSFORMS, hidden=HIDDEN, log_scale_bound=BOUND, learning_rate=LR,
        initial=initial,
        batches=[b.astype(np.float64).ravel().tolist() for b in batches],
        losses=losses,
        first_gradients=grads,
        final=nflow_params(flow, masked),
    )
    path = os.path.join(HERE, "zuko_maf_trace.json")
    with open(path, "w") as f:
        json.dump(trace, f, separators=(",", ":"))
    print(f"wrote {path}: losses {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
