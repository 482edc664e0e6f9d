#!/usr/bin/env bash
# Times SCALE-Sim and the accelerator model on the same GEMMs in one run and prints the ratio of
# simulated cycles per wall second.
#
# SCALE-Sim side: scripts/scalesim/time_scalesim.py on the 60 golden cases (needs SCALE-Sim v3
# importable by $PYTHON, see regenerate.sh). Model side: the criterion bench
# `accelerator/scalesim_golden` (simulators/benches/gemm.rs) on the same cases.
#   PYTHON=/tmp/scalesim-venv/bin/python scripts/scalesim/time_scalesim.sh
set -euo pipefail

PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
GOLDEN="$ROOT/simulators/tests/golden/scalesim"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== SCALE-Sim ($("$PYTHON" -c 'import importlib.metadata as m; print(m.version("scalesim"))'))"
"$PYTHON" "$ROOT/scripts/scalesim/time_scalesim.py" "$GOLDEN" | tee "$WORK/scalesim.json"

echo "== accelerator model (criterion)"
(cd "$ROOT" && cargo bench -p sparselab-simulators --bench gemm -- accelerator/scalesim_golden)

python3 - "$WORK/scalesim.json" "$TARGET/criterion/accelerator/scalesim_golden/new" <<'PY'
import json, os, sys
scalesim = json.load(open(sys.argv[1]))
est = json.load(open(os.path.join(sys.argv[2], "estimates.json")))
bench = json.load(open(os.path.join(sys.argv[2], "benchmark.json")))
cycles = bench["throughput"]["Elements"]
seconds = est["mean"]["point_estimate"] / 1e9
ours = cycles / seconds
print(f"SCALE-Sim: {scalesim['cycles']} cycles in {scalesim['seconds']:.2f} s = {scalesim['cycles_per_second']:.4g} cycles/s")
print(f"model:     {cycles} cycles in {seconds * 1e3:.4g} ms (criterion mean) = {ours:.4g} cycles/s")
print(f"ratio:     {ours / scalesim['cycles_per_second']:.4g}x")
if scalesim["cycles"] != cycles:
    print(f"warning: cycle totals differ ({scalesim['cycles']} vs {cycles})", file=sys.stderr)
PY
