#!/usr/bin/env bash
# Builds what scripts/peers/device_run.sh needs on the GPU machine into target/gpu/ (stripped, to
# stay under the device tool's 64 MiB carry limit): the release `sparselab` binary and the GPU test
# binaries, plus MInference's two Triton kernel files from a fetched copy into target/peers/minference
# (never committed; pass the path of a MInference checkout or git dir as $1 to refresh them).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked
mkdir -p target/gpu
cp target/release/sparselab target/gpu/sparselab
for t in cuda_attention cuda_index cuda_compile; do
    exe=$(cargo test --release --locked -p sparselab-kernels --test "$t" --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][-1])')
    cp "$exe" "target/gpu/$t"
done
strip target/gpu/sparselab target/gpu/cuda_attention target/gpu/cuda_index target/gpu/cuda_compile
if [ $# -ge 1 ]; then
    mkdir -p target/peers/minference
    for f in pit_sparse_flash_attention_v2 block_sparse_flash_attention; do
        git --git-dir "$1" show "HEAD:minference/ops/$f.py" > "target/peers/minference/$f.py"
    done
fi
du -sh target/gpu target/peers/minference 2>/dev/null
