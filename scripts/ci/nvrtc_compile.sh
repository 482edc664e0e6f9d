#!/usr/bin/env bash
# Compiles every CUDA kernel (kernels/cuda/*.cu) for sm_90a with NVRTC installed from
# PyPI into a venv, and prints each kernel's registers and spills. Needs no GPU and no
# CUDA toolkit; a kernel that does not compile fails this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${SPARSELAB_NVRTC_VENV:-target/nvrtc-venv}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-runtime==13.0.88
# The wheels put libnvrtc.so.13 and libnvrtc-builtins (which NVRTC loads by name) in nvidia/cu13/lib.
LIB=$("$VENV/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))')
if [ ! -e "$LIB/libnvrtc.so.13" ]; then
    echo "libnvrtc.so.13 not found in $LIB (wheel layout changed?)" >&2
    exit 1
fi
LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" SPARSELAB_REQUIRE_NVRTC=1 \
    cargo test -p sparselab-kernels --locked --test cuda_compile -- --nocapture
