"""Times MInference's own Triton kernels on the masks `sparselab bench --mask-dir DIR`
wrote, so our kernels and MInference's run the very same indices. MInference is not
vendored: fetch microsoft/MInference, put `minference/ops/pit_sparse_flash_attention_v2.py`
and `minference/ops/block_sparse_flash_attention.py` in a directory that is never
committed (e.g. target/peers/minference/, carried to the GPU machine), and pass it as
--minference-dir. Run on the GPU machine (python3 with torch and triton):

    sparselab bench --seq-len 65536 --causal causal --methods vertical-slash,block-topk \
        --mask-dir /tmp/masks --out ours.csv
    python3 scripts/peers/minference_bench.py --mask-dir /tmp/masks \
        --minference-dir target/peers/minference --out minference.csv

Kernels (64x64 tiles, causal, K/V heads = Q heads):
- `vertical-slash` masks: `_triton_mixed_sparse_attention` on block_count / block_offset /
  column_count / column_index exactly as written (MInference's padded kernel format).
- `block` masks of 64-token blocks: `_triton_block_sparse_attention` on the CSR lists
  padded to [1, H, nb, K]; its kernel visits min(qb + 1, K) blocks of query block qb, so
  a mask whose rows hold other counts is reported and skipped (it would time other work).
  Index building: MInference's `_build_block_index` (mean pooling, pooled QK^T, top-k),
  timed apart as index_ms.
Inputs: random bf16 in [-2, 2) (never zeros), B=1; CUDA events, warm-up, median / p10 / p90.
CSV columns match sparselab bench's, method `minference:<method>`.
"""
import argparse
import csv
import importlib.util
import os
import tempfile

import numpy as np
import torch

from peer_common import device_columns, mask_dirs, samples_column, time_ms


def load_ops(directory):
    """Imports MInference's two kernel files, dropping their package-relative imports of the
    compiled CUDA index converter (not used here: the indices come from sparselab). Triton
    needs the source on disk, so the edited copies go to a temporary directory."""
    tmp = tempfile.mkdtemp(prefix="minference-ops-")
    mods = {}
    for name in ["pit_sparse_flash_attention_v2", "block_sparse_flash_attention"]:
        src_path = os.path.join(directory, name + ".py")
        with open(src_path) as f:
            lines = [l for l in f.read().splitlines() if not l.startswith("from ..")]
        path = os.path.join(tmp, name + ".py")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mods[name] = mod
    return mods["pit_sparse_flash_attention_v2"], mods["block_sparse_flash_attention"]


def executed_tiles_vs(bc, cc, L):
    """64x64 tiles MInference's VS kernel runs: each slash block is one tile, loose columns
    run 64 at a time."""
    return int(bc.sum()) + int(np.ceil(cc / 64.0).sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mask-dir", required=True)
    ap.add_argument("--minference-dir", required=True)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--out", default="minference.csv")
    args = ap.parse_args()
    vs_ops, bs_ops = load_ops(args.minference_dir)
    dev = device_columns(args.commit, ", triton")
    g = torch.Generator(device="cuda").manual_seed(0)
    inputs = {}
    rows = []
    for name, d, meta in mask_dirs(args.mask_dir):
        H, L, D, causal = meta["heads"], meta["seq_len"], meta["head_dim"], meta["causal"]
        if not causal or L % 64 != 0:
            print(f"{name}: skipped (MInference's kernels are causal and need L % 64 == 0)")
            continue
        if (H, L, D) not in inputs:
            inputs.clear()
            mk = lambda: torch.rand((1, H, L, D), device="cuda", dtype=torch.bfloat16, generator=g) * 4 - 2
            inputs[(H, L, D)] = (mk(), mk(), mk())
        q, k, v = inputs[(H, L, D)]
        seqlens = torch.tensor([L], dtype=torch.int32, device="cuda")
        scale = D ** -0.5
        nrb = L // 64
        index_ms = 0.0
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(torch.int32).cuda()
        if meta["format"] == "vertical-slash":
            bc = np.load(os.path.join(d, "block_count.npy"))
            bo = np.load(os.path.join(d, "block_offset.npy"))
            cc = np.load(os.path.join(d, "column_count.npy"))
            ci = np.load(os.path.join(d, "column_index.npy"))
            args_t = (t(bc[None]), t(bo[None]), t(cc[None]), t(ci[None]))
            fn = lambda: vs_ops._triton_mixed_sparse_attention(q, k, v, seqlens, *args_t, scale, 64, 64)
            tiles = executed_tiles_vs(bc, cc, L)
        elif meta["format"] == "block" and meta.get("block") == 64:
            offsets = np.load(os.path.join(d, "offsets.npy")).astype(np.int64)
            blocks = np.load(os.path.join(d, "blocks.npy")).astype(np.int64)
            counts = np.diff(offsets).reshape(H, nrb)
            K = int(counts.max())
            expected = np.minimum(np.arange(nrb) + 1, K)[None, :]
            if not (counts == expected).all():
                print(f"{name}: skipped (rows hold other than min(qb+1, {K}) blocks; MInference's kernel would time other work)")
                continue
            idx = np.zeros((H * nrb, K), dtype=np.int32)
            flat = counts.reshape(-1)
            for r in range(H * nrb):
                idx[r, : flat[r]] = blocks[offsets[r] : offsets[r + 1]]
            block_index = t(idx.reshape(1, H, nrb, K))
            fn = lambda: bs_ops._triton_block_sparse_attention(q, k, v, seqlens, block_index, scale, 64, 64)
            index_ms, _, _, _ = time_ms(lambda: bs_ops._build_block_index(q, k, K, 64, 64), 2, 10)
            tiles = int(counts.sum())
        else:
            print(f"{name}: skipped ({meta['format']} with block {meta.get('block')}: no MInference kernel for it)")
            continue
        med, p10, p90, samples = time_ms(fn, args.warmup, args.iters)
        density = tiles * 64 * 64 / (H * L * (L + 1) / 2)
        flops = 4 * H * L * L * D * 0.5
        tf = flops / (med * 1e-3) / 1e12
        print(f"minference:{meta['method']:<14} {meta['params']:<28} L={L:<7} density={density:.3f} "
              f"index {index_ms:.3f} ms, kernel {med:.3f} ms (p10 {p10:.3f}, p90 {p90:.3f}) "
              f"{tf * density:.1f} TFLOP/s actual, {tf:.1f} dense-equiv")
        rows.append(dict(method=f"minference:{meta['method']}", params=meta["params"], seq_len=L, heads=H,
                         kv_heads=H, head_dim=D, causal="true", density=density, index_ms=index_ms,
                         kernel_ms=med, p10_ms=p10, p90_ms=p90, tflops_actual=tf * density,
                         tflops_dense_equiv=tf, **dev,
                         samples_ms=samples_column(samples)))
    if rows:
        with open(args.out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
