"""Times FlexAttention (torch.compile) on the masks `sparselab bench --mask-dir DIR`
wrote, so our kernels and FlexAttention run the very same masks. Run on the GPU
machine (python3 with torch 2.11):

    sparselab bench --seq-len 16384 --causal causal --methods block-sparse,block-topk,a-shape \
        --mask-dir /tmp/masks --out ours.csv
    python3 scripts/peers/flex_masks.py --mask-dir /tmp/masks --out flex.csv

Mask formats (see harness/src/commands/bench/masks.rs):
- `block`: CSR over query blocks (`offsets.npy` [heads*nb+1], `blocks.npy`), block
  size `block` tokens. Built as a BlockMask with BLOCK_SIZE = block: when causal, the
  diagonal block of each row is a partial block under the causal mask_mod and the
  others are full blocks; otherwise every listed block is full.
- `streaming`: sink + window, through create_block_mask with that mask_mod.
- `vertical-slash`: MInference's padded layout; FlexAttention has no gather of loose
  columns at arbitrary keys nor blocks at arbitrary offsets, so it is reported as
  skipped (MInference's own Triton kernel takes these arrays as they are).

Inputs: random bf16 in [-2, 2) (never zeros), B=1; times with CUDA events, warm-up
then median / p10 / p90. CSV columns match sparselab bench's, method `flex:<method>`.
"""
import argparse
import csv
import os

import numpy as np
import torch

from peer_common import device_columns, mask_dirs, samples_column, time_ms
from torch.nn.attention.flex_attention import BlockMask, create_block_mask, flex_attention


def causal_mod(b, h, q, k):
    return q >= k


def pack(rows, cols, n_rows, width):
    """Per-row lists (rows sorted ascending, stable) into counts [n_rows] and padded [n_rows, width]."""
    counts = np.bincount(rows, minlength=n_rows).astype(np.int32)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(rows)) - starts[rows]
    idx = np.zeros((n_rows, max(width, 1)), dtype=np.int32)
    idx[rows, pos] = cols
    return counts, idx


def block_mask_from_csr(d, meta):
    H, L, blk, causal = meta["heads"], meta["seq_len"], meta["block"], meta["causal"]
    nb = -(-L // blk)
    offsets = np.load(os.path.join(d, "offsets.npy")).astype(np.int64)
    blocks = np.load(os.path.join(d, "blocks.npy")).astype(np.int64)
    counts = np.diff(offsets)
    rows = np.repeat(np.arange(H * nb), counts)
    qb = rows % nb
    diag = (blocks == qb) if causal else np.zeros_like(blocks, dtype=bool)
    # FlexAttention expects the last dimension of kv_indices to be the number of kv blocks.
    p_cnt, p_idx = pack(rows[diag], blocks[diag], H * nb, nb)
    f_cnt, f_idx = pack(rows[~diag], blocks[~diag], H * nb, nb)
    t = lambda a, shape: torch.from_numpy(a.reshape(shape)).cuda()
    return BlockMask.from_kv_blocks(
        t(p_cnt, (1, H, nb)), t(p_idx, (1, H, nb, -1)),
        t(f_cnt, (1, H, nb)), t(f_idx, (1, H, nb, -1)),
        BLOCK_SIZE=blk, mask_mod=causal_mod if causal else None, seq_lengths=(L, L),
    )


def streaming_mask(meta):
    sink, window, L = meta["sink"], meta["window"], meta["seq_len"]

    def mod(b, h, q, k):
        return (q >= k) & ((k < sink) | (q - k < window))

    return create_block_mask(mod, None, None, L, L, device="cuda", BLOCK_SIZE=128)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mask-dir", required=True)
    ap.add_argument("--kv-heads", type=int, default=0, help="defaults to the mask's heads")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--out", default="flex.csv")
    args = ap.parse_args()
    dev = device_columns(args.commit, ", FlexAttention")
    # One compiled kernel per (shape, mask layout); past Dynamo's default limit of 8 recompiles
    # flex_attention silently falls back to an unfused eager path (materialized scores), whose
    # times are not FlexAttention's. Allow enough for every mask of a run, and refuse the fallback.
    cfg = torch._dynamo.config
    for name, value in (("recompile_limit", 256), ("cache_size_limit", 256), ("fail_on_recompile_limit_hit", True)):
        if hasattr(cfg, name):
            setattr(cfg, name, value)
    flex = torch.compile(flex_attention, dynamic=False)
    g = torch.Generator(device="cuda").manual_seed(0)
    inputs = {}
    rows = []
    for name, d, meta in mask_dirs(args.mask_dir):
        H, L, D, causal = meta["heads"], meta["seq_len"], meta["head_dim"], meta["causal"]
        kvh = args.kv_heads or H
        try:
            if meta["format"] == "block":
                bm = block_mask_from_csr(d, meta)
            elif meta["format"] == "streaming":
                bm = streaming_mask(meta)
            else:
                print(f"{name}: skipped ({meta['format']}: no FlexAttention BlockMask expresses it exactly)")
                continue
        except Exception as e:  # a mask FlexAttention refuses is reported, not fatal
            print(f"{name}: could not build a BlockMask: {e}")
            continue
        if (H, kvh, L, D) not in inputs:
            inputs.clear()
            mk = lambda h: torch.rand((1, h, L, D), device="cuda", dtype=torch.bfloat16, generator=g) * 4 - 2
            inputs[(H, kvh, L, D)] = (mk(H), mk(kvh), mk(kvh))
        q, k, v = inputs[(H, kvh, L, D)]
        # FlexAttention's default tiles are 128 x 128; a 64-token BlockMask needs 64-row kernel tiles.
        opts = {"BLOCK_M": 64, "BLOCK_N": 64} if meta.get("block") == 64 else None
        fn = lambda: flex(q, k, v, block_mask=bm, enable_gqa=kvh != H, kernel_options=opts)
        try:
            med, p10, p90, samples = time_ms(fn, args.warmup, args.iters)
        except Exception as e:
            print(f"{name}: FlexAttention failed: {e}")
            continue
        # sparsity() counts blocks over the whole L x L grid; density is over the pairs
        # dense attention computes (L(L+1)/2 when causal), as sparselab reports it.
        density = (1.0 - bm.sparsity() / 100.0) * (L * L / (L * (L + 1) / 2) if causal else 1.0)
        flops = 4 * H * L * L * D * (0.5 if causal else 1.0)
        tf = flops / (med * 1e-3) / 1e12
        print(f"flex:{meta['method']:<14} {meta['params']:<32} L={L:<6} causal={causal!s:<5} density={density:.3f} "
              f"median {med:.3f} ms (p10 {p10:.3f}, p90 {p90:.3f}) {tf * density:.1f} TFLOP/s actual, {tf:.1f} dense-equiv")
        rows.append(dict(method=f"flex:{meta['method']}", params=meta["params"], seq_len=L, heads=H, kv_heads=kvh,
                         head_dim=D, causal=str(causal).lower(), density=density, index_ms=0.0, kernel_ms=med,
                         p10_ms=p10, p90_ms=p90, tflops_actual=tf * density, tflops_dense_equiv=tf,
                         **dev,
                         samples_ms=samples_column(samples)))
    if rows:
        with open(args.out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
