"""Times PyTorch SDPA (flash and cuDNN backends) on the shapes `sparselab bench`
uses: bf16, B=1, H heads, D head dim, random inputs (never zeros), CUDA events,
warm-up then the median / p10 / p90 of N launches. Writes a CSV whose columns match
sparselab bench's. Run on the GPU machine:

    python3 scripts/peers/sdpa_bench.py --seq-len 4096,16384 --out peers.csv
"""
import argparse
import csv
import subprocess

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
import torch.nn.functional as F


def time_ms(fn, warmup, iters):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq-len", default="4096,16384")
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--causal", default="full,causal", help="comma-separated: full, causal")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--out", default="peers.csv")
    args = ap.parse_args()
    dev = torch.cuda.get_device_name(0)
    driver = subprocess.run(
        ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True
    ).stdout.strip()
    rows = []
    g = torch.Generator(device="cuda").manual_seed(0)
    for L in [int(x) for x in args.seq_len.split(",")]:
        shape = (1, args.heads, L, args.head_dim)
        q, k, v = (torch.rand(shape, device="cuda", dtype=torch.bfloat16, generator=g) * 4 - 2 for _ in range(3))
        for causal in [c == "causal" for c in args.causal.split(",")]:
            for name, backend in (("sdpa-flash", SDPBackend.FLASH_ATTENTION), ("sdpa-cudnn", SDPBackend.CUDNN_ATTENTION)):
                try:
                    with sdpa_kernel([backend]):
                        fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                        med, p10, p90, samples = time_ms(fn, args.warmup, args.iters)
                except Exception as e:  # a backend that refuses the shape is reported, not fatal
                    print(f"{name} L={L} causal={causal}: {e}")
                    continue
                flops = 4 * args.heads * L * L * args.head_dim * (0.5 if causal else 1.0)
                tf = flops / (med * 1e-3) / 1e12
                print(f"{name:<11} L={L:<6} causal={causal!s:<5} median {med:.3f} ms (p10 {p10:.3f}, p90 {p90:.3f}) {tf:.1f} TFLOP/s")
                rows.append(dict(method=name, params="", seq_len=L, heads=args.heads, kv_heads=args.heads,
                                 head_dim=args.head_dim, causal=str(causal).lower(), density=1.0, index_ms=0.0,
                                 kernel_ms=med, p10_ms=p10, p90_ms=p90, tflops_actual=tf, tflops_dense_equiv=tf,
                                 git_commit=args.commit, device=dev, driver=driver,
                                 cuda=f"torch {torch.__version__} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()})",
                                 sms=torch.cuda.get_device_properties(0).multi_processor_count,
                                 samples_ms=";".join(f"{x:.5f}" for x in samples)))
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
