#!/usr/bin/env python3
"""Writes an 8-D Gaussian-mixture dataset for the `nflow` command-line demo (standard library only).

Four components with means drawn from N(0, 3^2 I) and per-coordinate scales in [0.3, 1.0), equal
weights. Usage: python3 make_mixture.py OUT_DIR [--train N] [--test N] [--seed S]
Writes OUT_DIR/train.csv and OUT_DIR/test.csv with a header x0..x7, and prints two references for
the test set's mean log-likelihood: the true mixture density, and a single full-covariance
Gaussian fitted to the training rows by maximum likelihood.
"""
import argparse
import math
import os
import random


def log_normal_diag(x, mean, scale):
    return sum(-0.5 * ((xi - m) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)
               for xi, m, s in zip(x, mean, scale))


def gaussian_fit(rows):
    """Mean, Cholesky factor and log-determinant of the ML covariance."""
    d, n = len(rows[0]), len(rows)
    mean = [sum(r[j] for r in rows) / n for j in range(d)]
    cov = [[sum((r[i] - mean[i]) * (r[j] - mean[j]) for r in rows) / n for j in range(d)]
           for i in range(d)]
    chol = [[0.0] * d for _ in range(d)]
    for i in range(d):
        for j in range(i + 1):
            s = sum(chol[i][k] * chol[j][k] for k in range(j))
            chol[i][j] = math.sqrt(cov[i][i] - s) if i == j else (cov[i][j] - s) / chol[j][j]
    return mean, chol, sum(2 * math.log(chol[i][i]) for i in range(d))


def log_gaussian(x, mean, chol, log_det):
    d = len(x)
    z = []
    for i in range(d):
        z.append((x[i] - mean[i] - sum(chol[i][k] * z[k] for k in range(i))) / chol[i][i])
    return -0.5 * (d * math.log(2 * math.pi) + log_det + sum(v * v for v in z))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--train", type=int, default=20000)
    p.add_argument("--test", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = random.Random(a.seed)
    d, k = 8, 4
    means = [[rng.gauss(0, 3) for _ in range(d)] for _ in range(k)]
    scales = [[0.3 + 0.7 * rng.random() for _ in range(d)] for _ in range(k)]
    os.makedirs(a.out, exist_ok=True)
    parts = {}
    for name, n in (("train.csv", a.train), ("test.csv", a.test)):
        rows = []
        for _ in range(n):
            c = rng.randrange(k)
            rows.append([rng.gauss(means[c][j], scales[c][j]) for j in range(d)])
        with open(os.path.join(a.out, name), "w") as f:
            f.write(",".join(f"x{j}" for j in range(d)) + "\n")
            for r in rows:
                f.write(",".join(repr(v) for v in r) + "\n")
        parts[name] = rows
    test = parts["test.csv"]
    true_ll = sum(
        math.log(sum(math.exp(log_normal_diag(x, means[c], scales[c])) / k for c in range(k)))
        for x in test) / len(test)
    fit = gaussian_fit(parts["train.csv"])
    gauss_ll = sum(log_gaussian(x, *fit) for x in test) / len(test)
    print(f"test mean log-likelihood: true density {true_ll:.4f}, "
          f"full-covariance Gaussian {gauss_ll:.4f} (nats per row)")


if __name__ == "__main__":
    main()
