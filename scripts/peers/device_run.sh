#!/usr/bin/env bash
# One device call: GPU tests, the kernels' timings next to PyTorch SDPA flash and
# cuDNN, then compute-sanitizer memcheck and racecheck on the tests. Binaries come
# prebuilt in .devbin/ (sparselab, cuda_attention, cuda_compile; see the report).
# Everything lands in $OUT.
set -u
B=.devbin
export PATH=/usr/local/cuda/bin:$PATH
export PYTHONUNBUFFERED=1
COMMIT=${SPARSELAB_GIT_COMMIT:-unknown}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv | tee "$OUT/env.txt"
nvcc --version | tail -2 >> "$OUT/env.txt"
echo "== compile test"; $B/cuda_compile --nocapture 2>&1 | tail -4
echo "== GPU tests"; $B/cuda_attention --nocapture 2>&1 | tee "$OUT/tests.log" | grep -E "error|panicked|test result|FAILED" | head -20
echo "== sparselab bench"; $B/sparselab bench --seq-len 4096,16384 --iters 30 --out "$OUT/sparselab.csv" 2>&1 | tee "$OUT/bench.log"
echo "== peers"; python3 scripts/peers/sdpa_bench.py --seq-len 4096,16384 --iters 30 --commit "$COMMIT" --out "$OUT/peers.csv" 2>&1 | tee "$OUT/peers.log"
echo "== memcheck"; timeout 150 compute-sanitizer --tool memcheck $B/cuda_attention 2>&1 | tail -6 | tee "$OUT/memcheck.log"
echo "== racecheck"; timeout 120 compute-sanitizer --tool racecheck $B/cuda_attention dense 2>&1 | tail -6 | tee "$OUT/racecheck.log"
