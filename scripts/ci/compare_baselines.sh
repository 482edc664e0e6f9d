#!/usr/bin/env bash
# Regression check of deterministic outputs: regenerates every baseline of
# results/baselines/ into a temporary folder with the debug binary and runs
# `sparselab compare` on each against the committed file; fails on any change
# (compare exits 1) and on any error, such as a missing or malformed file (compare exits 2).
#
#   bash scripts/ci/compare_baselines.sh                     # check (CI)
#   SPARSELAB_BLESS=1 bash scripts/ci/compare_baselines.sh   # regenerate the committed baselines, on purpose
#   SPARSELAB_BASELINE_REL_TOL=1e-6 bash scripts/ci/compare_baselines.sh   # on a CPU whose SIMD path differs
#
# The commands below are the only definition of the baselines (results/baselines/README.md lists them).
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== baselines (sparselab compare against results/baselines/)"
baselines=results/baselines
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp
if [[ "${SPARSELAB_BLESS:-}" == 1 ]]; then
    out=$baselines
fi

# SPARSELAB_BIN: a binary already built from this tree (CI passes the one `cargo test` built, so
# nothing compiles twice); otherwise `cargo run` builds it.
sparselab() {
    if [[ -n "${SPARSELAB_BIN:-}" ]]; then
        "$SPARSELAB_BIN" "$@"
    else
        cargo run --locked --quiet -- "$@"
    fi
}

# Each command writes "$out/<name>.csv"; stdout (the tables) is not needed here.
sparselab recall --profile mixed --seq-len 256 --heads 2 --head-dim 32 --methods all --quiet \
    --out "$out/recall-mixed-256.csv" >/dev/null
sparselab recall --profile llama-like --seq-len 512 --heads 2 --kv-heads 1 --head-dim 64 \
    --methods dense,a-shape:sink=16,local=64,vertical-slash:v=30,s=64,block-topk:k=2,block=64,flexprefill,xattention,oracle-keys:k=64 \
    --quiet --out "$out/recall-llama-512-gqa.csv" >/dev/null
sparselab simulate --model bert-layer --batch 1 --seq 64 --nm 2:4,2:8 --out "$out/simulate-bert-layer.csv" >/dev/null
sparselab roofline --hardware h100 --seq-len 16384,131072 --methods dense,a-shape,vertical-slash,block-topk \
    --out "$out/roofline-h100.csv" >/dev/null
sparselab sweep --hardware h100 --vary bandwidth=0.5,1,2 --vary flops=1,2 --seq-len 131072 \
    --methods dense,vertical-slash,block-topk --out "$out/sweep-h100.csv" --plot "$tmp/sweep-h100" >/dev/null

if [[ "$out" == "$baselines" ]]; then
    echo "regenerated the baselines in $baselines; review the diff before committing"
    exit 0
fi

tol=${SPARSELAB_BASELINE_REL_TOL:-0}
# `|| status=1` catches both of compare's failures: 1 (a changed value) and 2 (an error).
status=0
# The CPU's thread count is part of `device` in recall tables but changes no value: left out of the key.
sparselab compare "$baselines/recall-mixed-256.csv" "$out/recall-mixed-256.csv" --rel-tol "$tol" --ignore device || status=1
sparselab compare "$baselines/recall-llama-512-gqa.csv" "$out/recall-llama-512-gqa.csv" --rel-tol "$tol" --ignore device || status=1
sparselab compare "$baselines/simulate-bert-layer.csv" "$out/simulate-bert-layer.csv" --rel-tol "$tol" || status=1
# Predicted times (kernel_ms, predicted_ms) without samples: compared exactly, not as timings.
sparselab compare "$baselines/roofline-h100.csv" "$out/roofline-h100.csv" --rel-tol "$tol" --exact || status=1
sparselab compare "$baselines/sweep-h100.csv" "$out/sweep-h100.csv" --rel-tol "$tol" || status=1
exit $status
