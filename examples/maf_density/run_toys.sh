#!/usr/bin/env bash
# Runs examples/maf_density with default settings on every toy density for training seeds 0 and 1,
# then prints a markdown table of nflow's figures (from each run's report.json); docs/toys.md
# puts them beside zuko's.
# Usage: bash examples/maf_density/run_toys.sh [OUT_DIR] [extra maf_density flags...]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-out/toys}
shift || true
cargo build --release -q -p maf_density
for dataset in 8gaussians moons checkerboard pinwheel rings 2spirals; do
  for seed in 0 1; do
    ./target/release/maf_density --dataset "$dataset" --seed "$seed" --quiet \
      --out-dir "$OUT/seed$seed" "$@" | grep -E "test NLL"
  done
done
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def both(reports, fmt):
    return " / ".join(fmt(r) for r in reports)
print("| dataset | reference NLL | nflow test NLL ± 2se (seed 0 / 1) | gap ± 2se (seed 0 / 1) | steps (best) | train time s |")
print("|---|---|---|---|---|---|")
for ds in ["8gaussians", "moons", "checkerboard", "pinwheel", "rings", "2spirals"]:
    r = [json.load(open(f"{out}/seed{s}/{ds}-maf/report.json")) for s in (0, 1)]
    nll = both(r, lambda x: "%.3f ± %.3f" % (x["test_nll"], x["test_nll_two_se"]))
    gap = both(r, lambda x: "%.3f ± %.3f" % (x["gap"], x["gap_two_se"]))
    steps = both(r, lambda x: "%d (%d)" % (x["training"]["steps"], x["training"]["best_step"]))
    secs = both(r, lambda x: "%.0f" % x["training"]["seconds"])
    print(f"| {ds} | {r[0]['reference_nll']:.3f} ({r[0]['reference_kind']}) | {nll} | {gap} | {steps} | {secs} |")
PY
