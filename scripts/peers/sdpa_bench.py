"""Times PyTorch SDPA (flash and cuDNN backends) on the shapes `sparselab bench`
uses: bf16 or fp16 (--dtypes), B=1, H heads, D head dim, random inputs (never zeros), CUDA events,
warm-up then the median / p10 / p90 of N launches. Writes a CSV whose columns match
sparselab bench's. Run on the GPU machine:

    python3 scripts/peers/sdpa_bench.py --seq-len 4096,16384 --out peers.csv
"""
import argparse
import csv

import torch

from peer_common import device_columns, samples_column, time_ms
from torch.nn.attention import SDPBackend, sdpa_kernel
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq-len", default="4096,16384")
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--causal", default="full,causal", help="comma-separated: full, causal")
    ap.add_argument("--dtypes", default="bf16", help="comma-separated: bf16, fp16")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--out", default="peers.csv")
    args = ap.parse_args()
    dev = device_columns(args.commit, "")
    rows = []
    g = torch.Generator(device="cuda").manual_seed(0)
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16}
    for dtype_name in args.dtypes.split(","):
        if dtype_name not in dtypes:
            raise SystemExit(f"--dtypes {dtype_name}: expected bf16 or fp16")
    runs = [(int(x), d) for x in args.seq_len.split(",") for d in args.dtypes.split(",")]
    for L, dtype_name in runs:
        shape = (1, args.heads, L, args.head_dim)
        q, k, v = (torch.rand(shape, device="cuda", dtype=dtypes[dtype_name], generator=g) * 4 - 2 for _ in range(3))
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
                print(f"{name:<11} {dtype_name} L={L:<6} causal={causal!s:<5} median {med:.3f} ms (p10 {p10:.3f}, p90 {p90:.3f}) {tf:.1f} TFLOP/s")
                rows.append(dict(method=name, params="", seq_len=L, heads=args.heads, kv_heads=args.heads,
                                 head_dim=args.head_dim, dtype=dtype_name, causal=str(causal).lower(), density=1.0, index_ms=0.0,
                                 kernel_ms=med, p10_ms=p10, p90_ms=p90, tflops_actual=tf, tflops_dense_equiv=tf,
                                 **dev,
                                 samples_ms=samples_column(samples)))
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
