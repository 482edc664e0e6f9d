#!/usr/bin/env bash
# Regenerates the SCALE-Sim golden outputs under simulators/tests/golden/scalesim/.
#
# Needs SCALE-Sim v3 importable by $PYTHON (default python3):
#   python3 -m venv /tmp/scalesim-venv
#   /tmp/scalesim-venv/bin/pip install scalesim==3.0.0 'numpy<2.4'
#   PYTHON=/tmp/scalesim-venv/bin/python scripts/scalesim/regenerate.sh
# (scalesim 3.0.0 crashes under numpy >= 2.4 in `int(max(ofmap_serviced_cycles))`; pin numpy below it.)
#
# For every array configuration (rows x cols, dataflow) it writes a SCALE-Sim config into
# golden/configs/, runs SCALE-Sim in GEMM mode on golden/gemm_shapes.csv in CALC (stall-free
# bandwidth estimation) mode and copies COMPUTE_REPORT.csv and DETAILED_ACCESS_REPORT.csv into
# golden/<run_name>/. The Rust test simulators/tests/scalesim_golden.rs diffs the model against them.
# CI never runs this script; rerun it only on purpose and commit the diff.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
GOLDEN="$ROOT/simulators/tests/golden/scalesim"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" -c 'import scalesim' || { echo "error: scalesim is not importable by $PYTHON (see the header of $0)" >&2; exit 1; }

# run_name rows cols dataflow
CONFIGS=(
  "os_8x8 8 8 os"
  "ws_8x8 8 8 ws"
  "os_16x8 16 8 os"
  "ws_16x8 16 8 ws"
  "os_32x32 32 32 os"
  "ws_32x32 32 32 ws"
)

mkdir -p "$GOLDEN/configs"
printf 'Layer,\n' > "$GOLDEN/configs/layout.csv"

for entry in "${CONFIGS[@]}"; do
  read -r name rows cols df <<< "$entry"
  cfg="$GOLDEN/configs/$name.cfg"
  cat > "$cfg" <<CFG
[general]
run_name = $name

[architecture_presets]
ArrayHeight = $rows
ArrayWidth = $cols
IfmapSramSzkB = 1024
FilterSramSzkB = 1024
OfmapSramSzkB = 1024
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Dataflow = $df
Bandwidth = 10
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False
CFG
  echo "== $name: $PYTHON -m scalesim.scale -c configs/$name.cfg -t gemm_shapes.csv -l configs/layout.csv -p <tmp> -i gemm"
  (cd "$WORK" && "$PYTHON" -m scalesim.scale -c "$cfg" -t "$GOLDEN/gemm_shapes.csv" \
      -l "$GOLDEN/configs/layout.csv" -p "$WORK/out" -i gemm > "$WORK/$name.log" 2>&1) \
    || { tail -20 "$WORK/$name.log" >&2; exit 1; }
  mkdir -p "$GOLDEN/$name"
  cp "$WORK/out/$name/COMPUTE_REPORT.csv" "$WORK/out/$name/DETAILED_ACCESS_REPORT.csv" "$GOLDEN/$name/"
done
"$PYTHON" -c 'import importlib.metadata as m; print("scalesim", m.version("scalesim"), "numpy", m.version("numpy"))' \
  > "$GOLDEN/VERSIONS.txt"
echo "golden files written to $GOLDEN"
