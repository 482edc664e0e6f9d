"""What the peer scripts share: CUDA-event timing and the device columns of a result row.
Imported by sdpa_bench.py, flex_masks.py and minference_bench.py (run from the repository root as
`python3 scripts/peers/<script>.py`, so this directory is on sys.path)."""
import json
import os
import subprocess

import torch


def time_ms(fn, warmup, iters):
    """Warm-up launches, then `iters` launches each between two CUDA events; returns the median,
    p10 and p90 in ms and every sample in launch order."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    s = sorted(times)
    pick = lambda p: s[round((len(s) - 1) * p)]
    return pick(0.5), pick(0.1), pick(0.9), times


def device_columns(commit, cuda_note=""):
    """Provenance columns of a row: commit, GPU name, driver, torch/CUDA versions, SMs."""
    driver = subprocess.run(
        ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True
    ).stdout.strip()
    cuda = f"torch {torch.__version__} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}){cuda_note}"
    return dict(git_commit=commit, device=torch.cuda.get_device_name(0), driver=driver, cuda=cuda,
                sms=torch.cuda.get_device_properties(0).multi_processor_count)


def samples_column(samples):
    """The `samples_ms` column: every sample, `;`-separated (read by `sparselab compare`)."""
    return ";".join(f"{x:.5f}" for x in samples)


def mask_dirs(root):
    """The mask folders `sparselab bench --mask-dir root` wrote, in name order: (name, folder, meta)
    for each one holding a meta.json (format in harness/src/commands/bench/masks.rs)."""
    for name in sorted(os.listdir(root)):
        folder = os.path.join(root, name)
        meta_path = os.path.join(folder, "meta.json")
        if not os.path.isfile(meta_path):
            continue
        with open(meta_path) as f:
            yield name, folder, json.load(f)
