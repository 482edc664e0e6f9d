#!/usr/bin/env bash
# One device call for the whole GPU suite: correctness (GPU tests, compute-sanitizer), calibration,
# our kernels by method at 4k-128k with their masks written out, the peers on the very same masks
# (PyTorch SDPA flash/cuDNN, FlexAttention, MInference's own Triton kernels), the roofline against
# the measurement, the measured reproduction of SeerAttention's speedup, and the main job.
# Binaries come prebuilt in target/gpu/ (scripts/peers/build_device_bins.sh) and MInference's
# kernel files in target/peers/minference/ (fetched, never committed). The device tool returns few
# files per call, so everything is packed into $OUT/results.tar.gz; the console shows a summary.
# Usage (device tool): carry target/gpu and target/peers/minference, run
#   SPARSELAB_GIT_COMMIT=<commit> bash scripts/peers/device_run.sh
# SPARSELAB_DEVICE_ONLY=<regex> runs only the steps whose names match (e.g. to split the suite over
# two calls: the steps that read masks must run in the call whose bench wrote them).
set -u
B=target/gpu
R=$OUT/r
M=/tmp/sparselab-masks
mkdir -p "$R" "$M/causal" "$M/full"
export PATH=/usr/local/cuda/bin:$PATH PYTHONUNBUFFERED=1
COMMIT=${SPARSELAB_GIT_COMMIT:-unknown}
# Each step starts only while the call has time left (the device tool stops a call at 600 s), so the
# pack at the end always runs and what was measured comes back.
DEADLINE=${SPARSELAB_DEVICE_DEADLINE_S:-500}
ONLY=${SPARSELAB_DEVICE_ONLY:-.}
step() {
    if ! [[ "$1" =~ $ONLY ]]; then
        return 1
    fi
    if [ "$SECONDS" -gt "$DEADLINE" ]; then
        echo "== $1: skipped, ${SECONDS}s used of ${DEADLINE}s"
        return 1
    fi
    echo "== $1 ($(date +%T), ${SECONDS}s)"
}
summary() { grep -E "$2" "$1" | tail -"${3:-4}"; }

if step env; then
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit --format=csv | tee "$R/env.txt"
fi

if step "GPU tests"; then
    timeout 200 $B/cuda_attention --nocapture > "$R/tests-attention.log" 2>&1; summary "$R/tests-attention.log" "test result|FAILED|panicked"
    timeout 60 $B/cuda_index --nocapture > "$R/tests-index.log" 2>&1; summary "$R/tests-index.log" "test result|FAILED|panicked"
fi

if step "compute-sanitizer"; then
    timeout 100 compute-sanitizer --tool memcheck $B/cuda_attention vertical_slash > "$R/memcheck.log" 2>&1; summary "$R/memcheck.log" "ERROR SUMMARY|test result" 2
    timeout 90 compute-sanitizer --tool racecheck $B/cuda_attention streaming > "$R/racecheck.log" 2>&1; summary "$R/racecheck.log" "HAZARD|RACECHECK SUMMARY|test result" 2
    timeout 60 compute-sanitizer --tool racecheck $B/cuda_attention block_sparse > "$R/racecheck-bsr.log" 2>&1; summary "$R/racecheck-bsr.log" "HAZARD|RACECHECK SUMMARY|test result" 2
    timeout 120 compute-sanitizer --tool memcheck $B/cuda_attention fp16 > "$R/memcheck-fp16.log" 2>&1; summary "$R/memcheck-fp16.log" "ERROR SUMMARY|test result" 2
fi

if step calibrate; then
    $B/sparselab calibrate --out "$R/h100-calibrated.toml" > "$R/calibrate.log" 2>&1; tail -6 "$R/calibrate.log"
    $B/sparselab calibrate --short-seq-len 0 --out "$R/h100-calibrated-no-short.toml" > "$R/calibrate-no-short.log" 2>&1; tail -2 "$R/calibrate-no-short.log"
fi

if step "bench: causal 4k-128k by method"; then
    $B/sparselab bench --seq-len 4096,16384,65536,131072 --causal causal \
        --methods dense,block-sparse,vertical-slash-local,vertical-slash,a-shape,block-topk \
        --tiles w4m2,w2m2,g2,g2k,g2w --densities 0.2,0.05 --warmup 3 --iters 20 --mask-dir "$M/causal" \
        --out "$R/ours-causal.csv" > "$R/bench-causal.log" 2>&1; tail -3 "$R/bench-causal.log"
fi
if step "roofline against the measurement"; then
    $B/sparselab roofline --hardware "$R/h100-calibrated.toml" --against "$R/ours-causal.csv" \
        --out "$R/against.csv" > "$R/against.log" 2>&1; tail -2 "$R/against.log"
    $B/sparselab roofline --hardware "$R/h100-calibrated-no-short.toml" --against "$R/ours-causal.csv" \
        --out "$R/against-no-short.csv" > "$R/against-no-short.log" 2>&1; tail -2 "$R/against-no-short.log"
fi
if step "bench: non-causal 16k and 32k (SeerAttention's shape)"; then
    $B/sparselab bench --seq-len 16384,32768 --causal full --methods dense,block-sparse --tiles w4m2,g1,g2,g2k,g2w \
        --densities 0.5,0.2,0.1,0.05 --iters 20 --mask-dir "$M/full" \
        --out "$R/ours-full.csv" > "$R/bench-full.log" 2>&1; tail -2 "$R/bench-full.log"
    $B/sparselab bench --seq-len 32768 --causal causal --methods dense,block-sparse --tiles w4m2,g2,g2k,g2w --densities 0.1 \
        --iters 20 --out "$R/ours-32k-causal.csv" > "$R/bench-32k.log" 2>&1; tail -2 "$R/bench-32k.log"
fi
if step "bench: non-causal 16k and 32k, sustained load"; then
    # The same kernels after 300 ms of each back to back: every one at the clocks it holds at the
    # power limit (the dense run above throttles within its own samples, the short sparse ones do not).
    $B/sparselab bench --seq-len 16384,32768 --causal full --methods dense,block-sparse --tiles g2w \
        --densities 0.5,0.2,0.1,0.05 --iters 20 --warmup-ms 300 \
        --out "$R/ours-full-sustained.csv" > "$R/bench-full-sustained.log" 2>&1; tail -2 "$R/bench-full-sustained.log"
fi

if step "bench: fp16 beside bf16, dense and block-sparse"; then
    $B/sparselab bench --seq-len 16384,65536 --causal both --methods dense,block-sparse --tiles w4m2,g2,g2k,g2w \
        --densities 0.1 --dtypes bf16,fp16 --iters 20 --out "$R/ours-fp16.csv" > "$R/bench-fp16.log" 2>&1; tail -2 "$R/bench-fp16.log"
    python3 scripts/peers/sdpa_bench.py --seq-len 16384,65536 --causal full,causal --dtypes bf16,fp16 --iters 20 \
        --commit "$COMMIT" --out "$R/peers-sdpa-fp16.csv" > "$R/peers-sdpa-fp16.log" 2>&1; tail -4 "$R/peers-sdpa-fp16.log"
fi

if step "peers: SDPA"; then
    python3 scripts/peers/sdpa_bench.py --seq-len 16384,32768,65536,131072 --causal causal --iters 20 \
        --commit "$COMMIT" --out "$R/peers-sdpa-causal.csv" > "$R/peers-sdpa.log" 2>&1
    python3 scripts/peers/sdpa_bench.py --seq-len 16384,32768 --causal full --iters 20 \
        --commit "$COMMIT" --out "$R/peers-sdpa-full.csv" >> "$R/peers-sdpa.log" 2>&1; tail -4 "$R/peers-sdpa.log"
fi
if step "peers: MInference's Triton kernels on our masks"; then
    timeout 150 python3 scripts/peers/minference_bench.py --mask-dir "$M/causal" --minference-dir target/peers/minference \
        --iters 20 --commit "$COMMIT" --out "$R/peers-minference.csv" > "$R/peers-minference.log" 2>&1; tail -8 "$R/peers-minference.log"
fi
if step "peers: FlexAttention on our causal masks"; then
    timeout 150 python3 scripts/peers/flex_masks.py --mask-dir "$M/causal" --iters 20 --commit "$COMMIT" \
        --out "$R/peers-flex-causal.csv" > "$R/peers-flex.log" 2>&1; tail -4 "$R/peers-flex.log"
fi
if step "peers: FlexAttention on our non-causal masks"; then
    timeout 90 python3 scripts/peers/flex_masks.py --mask-dir "$M/full" --iters 20 --commit "$COMMIT" \
        --out "$R/peers-flex-full.csv" > "$R/peers-flex-full.log" 2>&1; tail -4 "$R/peers-flex-full.log"
fi

if step "reproduce seerattention (measured)"; then
    $B/sparselab reproduce seerattention --measured "$R/ours-full.csv,$R/ours-32k-causal.csv,$R/peers-sdpa-causal.csv,$R/peers-sdpa-full.csv" \
        --out "$R/reproduce-seerattention.csv" > "$R/reproduce-seerattention.log" 2>&1; head -8 "$R/reproduce-seerattention.log"
fi
if step "the main job with a GPU"; then
    timeout 120 $B/sparselab run --out-dir "$R/run" > "$R/run.log" 2>&1; tail -5 "$R/run.log"
fi

echo "== pack (${SECONDS}s)"
tar czf "$OUT/results.tar.gz" -C "$R" . && ls -la "$OUT/results.tar.gz"
