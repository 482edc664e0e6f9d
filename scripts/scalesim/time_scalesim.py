"""Times SCALE-Sim on the golden GEMMs: simulated cycles per wall second.

Usage: python time_scalesim.py <golden dir>   (the dir with gemm_shapes.csv and configs/)
Prints one JSON object: per config and in total, cycles (SCALE-Sim's Total Cycles + 1 per
layer, i.e. the cycle count), wall seconds of `run_scale` (compute and memory simulation, no
trace files written), and cycles per second. Needs `pip install scalesim==3.0.0 'numpy<2.4'`.
"""

import csv
import json
import os
import sys
import tempfile
import time

from scalesim.scale_sim import scalesim

RUNS = ["os_8x8", "ws_8x8", "os_16x8", "ws_16x8", "os_32x32", "ws_32x32"]


def main(golden):
    topology = os.path.join(golden, "gemm_shapes.csv")
    layout = os.path.join(golden, "configs", "layout.csv")
    result = {"runs": {}, "cycles": 0, "seconds": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for run in RUNS:
            config = os.path.join(golden, "configs", run + ".cfg")
            sim = scalesim(save_disk_space=True, verbose=False, config=config, topology=topology,
                           layout=layout, input_type_gemm=True)
            start = time.perf_counter()
            sim.run_scale(top_path=tmp)
            seconds = time.perf_counter() - start
            with open(os.path.join(tmp, run, "COMPUTE_REPORT.csv")) as f:
                rows = list(csv.reader(f))[1:]
            cycles = sum(int(r[2]) + 1 for r in rows if r)
            result["runs"][run] = {"cycles": cycles, "seconds": seconds}
            result["cycles"] += cycles
            result["seconds"] += seconds
    result["cycles_per_second"] = result["cycles"] / result["seconds"]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
