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
echo "== ncu (w4m2 dense, L=4096, non-causal)"; timeout 150 ncu --clock-control none -k regex:attn_fwd_dense_d128_w4_m2_full -c 1 --section SpeedOfLight --section Occupancy --metrics smsp__inst_executed_pipe_tensor_op_hmma.avg.pct_of_peak_sustained_active,l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum,smsp__warp_issue_stalled_barrier_per_warp_active.pct,smsp__warp_issue_stalled_short_scoreboard_per_warp_active.pct,smsp__warp_issue_stalled_mio_throttle_per_warp_active.pct,smsp__warp_issue_stalled_long_scoreboard_per_warp_active.pct $B/sparselab bench --seq-len 4096 --tiles w4m2 --densities none --causal full --warmup 0 --iters 1 --out /tmp/ncu.csv 2>&1 | grep -vE "^==PROF==" | tail -90 | tee "$OUT/ncu.log"
