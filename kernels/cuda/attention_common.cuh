// Shared pieces of the attention kernels: 16-bit tensor-core tiles (mma.sync
// m16n8k16 fed by ldmatrix), cp.async tile loads into swizzled shared memory,
// masking and the online softmax. Every forward kernel (dense, block-sparse,
// vertical-slash, streaming) is `attn_fwd_keys` with a different key source, so
// they differ only in which 64-key tiles they visit (contiguous or gathered) and
// which keys of a tile each row keeps.
//
// Layouts: Q/O [batch*heads, L, D], K/V [batch*kv_heads, L, D], row-major 16-bit
// floats; LSE [batch*heads, L] fp32, natural log.
//
// Element type: bf16, or fp16 when the source is compiled with -DSL_F16 (the launcher
// compiles one module per type; kernel names are the same in both). No CUDA headers are
// needed: elements are raw 16-bit words (elem_t), multiplied by tensor-core instructions
// of the type SL_ELEM names and converted with PTX. Products and sums are fp32 either way.
#pragma once

typedef unsigned short elem_t;
typedef unsigned int u32;

#if defined(SL_F16)
#define SL_ELEM "f16"
#else
#define SL_ELEM "bf16"
#endif

#define SL_NEG_INF __int_as_float(0xff800000)

namespace sl {

__device__ __forceinline__ u32 smem_addr(const void* p) {
    return static_cast<u32>(__cvta_generic_to_shared(p));
}

// 16-byte async copy global -> shared; when `pred` is false the 16 bytes are zero-filled.
__device__ __forceinline__ void cp_async16(u32 dst, const void* src, bool pred) {
    int n = pred ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(n));
}
// 16-byte async copy global -> shared of a chunk known to be in bounds.
__device__ __forceinline__ void cp_async16(u32 dst, const void* src) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(src));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::); }
// Waits until at most N of this thread's committed cp.async groups are pending.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(u32& r0, u32& r1, u32& r2, u32& r3, u32 addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(u32& r0, u32& r1, u32& r2, u32& r3, u32 addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(addr));
}

// c += a * b for one 16x8x16 tile of elements with fp32 accumulators.
__device__ __forceinline__ void mma_16816(float* c, u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32." SL_ELEM "." SL_ELEM ".f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// Two floats to a word of two elements, `lo` in the low half (round to nearest even).
__device__ __forceinline__ u32 pack_x2(float lo, float hi) {
    u32 r;
    asm("cvt.rn." SL_ELEM "x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

// One element to fp32 (exact).
__device__ __forceinline__ float elem_to_float(elem_t x) {
#if defined(SL_F16)
    float r;
    asm("cvt.f32.f16 %0, %1;\n" : "=f"(r) : "h"(x));
    return r;
#else
    return __uint_as_float(static_cast<u32>(x) << 16);
#endif
}

// Element offset of (row, col) in a [rows, D] shared tile whose 16-byte chunks
// are XOR-swizzled by row, so ldmatrix of 8 rows hits 8 different bank groups.
template <int D>
__device__ __forceinline__ int swz(int row, int col) {
    return row * D + ((((col >> 3) ^ (row & 7))) << 3) + (col & 7);
}

// The shared-tile layout of the mma.sync kernels: [rows, D], 16-byte chunks swizzled by row.
// Its loads keep the compact strided loop (UNROLLED = false): the two-slab mma.sync kernels
// hold about 200 live registers while they load, and the unrolled copies of the wgmma
// kernels make them spill.
struct RowSwz {
    static constexpr bool UNROLLED = false;
    template <int ROWS, int D>
    static __device__ __forceinline__ int at(int row, int col) {
        return swz<D>(row, col);
    }
};

// The cp.async work split of a [ROWS, D] tile over NT threads: thread `tid` copies the 16-byte
// chunk tid % CHUNKS of rows tid / CHUNKS + i * STEP, i < PASSES. With the fixed trip count
// the copies unroll into base-plus-constant addresses; a loop from tid striding by NT keeps
// its index arithmetic in every copy, which made the wgmma kernels issue-bound (layouts with
// UNROLLED = true use the split, the others the strided loop).
template <int ROWS, int D, int NT>
struct TileSplit {
    static constexpr int CHUNKS = D / 8;        // 16-byte chunks per row
    static constexpr int STEP = NT / CHUNKS;    // rows per pass
    static constexpr int PASSES = ROWS / STEP;  // copies per thread
    static_assert(NT % CHUNKS == 0 && ROWS % STEP == 0, "threads must split the tile evenly");
};

// Loads rows [row0, row0 + ROWS) of a [L, D] matrix into a swizzled shared tile of
// layout Lay; rows at or past L are zero-filled (ragged tails). Unrolled, a tile inside the
// sequence (every tile but the last) takes a path without per-row checks.
template <int ROWS, int D, int NT, class Lay = RowSwz>
__device__ __forceinline__ void load_tile(elem_t* s, const elem_t* g, int row0, int L, int tid) {
    if constexpr (Lay::UNROLLED) {
        typedef TileSplit<ROWS, D, NT> Split;
        const int ch = tid % Split::CHUNKS;
        const int r0 = tid / Split::CHUNKS;
        const u32 dst = smem_addr(s);
        const elem_t* src = g + (long long)(row0 + r0) * D + ch * 8;
        if (row0 + ROWS <= L) {
#pragma unroll
            for (int i = 0; i < Split::PASSES; ++i) {
                cp_async16(dst + 2 * Lay::template at<ROWS, D>(r0 + i * Split::STEP, ch * 8),
                           src + i * Split::STEP * D);
            }
        } else {
#pragma unroll
            for (int i = 0; i < Split::PASSES; ++i) {
                const int r = r0 + i * Split::STEP;
                const bool ok = row0 + r < L;
                cp_async16(dst + 2 * Lay::template at<ROWS, D>(r, ch * 8), ok ? src + i * Split::STEP * D : g, ok);
            }
        }
    } else {
        constexpr int CHUNKS = D / 8;
#pragma unroll
        for (int c = tid; c < ROWS * CHUNKS; c += NT) {
            int r = c / CHUNKS;
            int ch = c % CHUNKS;
            bool ok = row0 + r < L;
            const elem_t* src = ok ? g + (long long)(row0 + r) * D + ch * 8 : g;
            cp_async16(smem_addr(s + Lay::template at<ROWS, D>(r, ch * 8)), src, ok);
        }
    }
}

// Loads ROWS key rows gathered by index (`rows[r]` for r < n) into a swizzled shared
// tile; rows r >= n (padding of the last group) and indices at or past L are zero-filled.
template <int ROWS, int D, int NT, class Lay = RowSwz>
__device__ __forceinline__ void load_rows_gather(elem_t* s, const elem_t* g, const int* rows, int n, int L,
                                                 int tid) {
    auto copy = [&](int r, int ch, u32 dst) {
        const int key = r < n ? rows[r] : L;
        const bool ok = key >= 0 && key < L;
        cp_async16(dst, ok ? g + (long long)key * D + ch * 8 : g, ok);
    };
    if constexpr (Lay::UNROLLED) {
        typedef TileSplit<ROWS, D, NT> Split;
        const int ch = tid % Split::CHUNKS;
        const int r0 = tid / Split::CHUNKS;
        const u32 dst = smem_addr(s);
#pragma unroll
        for (int i = 0; i < Split::PASSES; ++i) {
            const int r = r0 + i * Split::STEP;
            copy(r, ch, dst + 2 * Lay::template at<ROWS, D>(r, ch * 8));
        }
    } else {
        constexpr int CHUNKS = D / 8;
#pragma unroll
        for (int c = tid; c < ROWS * CHUNKS; c += NT) {
            const int r = c / CHUNKS;
            const int ch = c % CHUNKS;
            copy(r, ch, smem_addr(s + Lay::template at<ROWS, D>(r, ch * 8)));
        }
    }
}

// Per-slab pieces shared by attn_fwd_keys (mma.sync) and attn_fwd_keys_wg (wgmma): both
// hold a 16-row slab's scores and outputs in the m16n8 accumulator layout, flattened:
// x[4 n + 2 i + c] = (row r_lo + 8 i, column 8 n + 2 (lane % 4) + c), r_lo = slab row 0 + lane / 4.

// Sets to -inf the scores of this thread's rows that `keys` drops in `tile` (padding, keys
// past the sequence end, causal and sink/window masks), for MT consecutive slabs stored one
// after another in `s` (BN / 2 scores each; slab m starts at row r_lo + 16 m). Each column's
// key is looked up once for all slabs.
template <int BN, int MT, class Keys>
__device__ __forceinline__ void slab_mask(float* s, const Keys& keys, const typename Keys::Tile& tile, int r_lo,
                                          int lane, int L) {
#pragma unroll
    for (int n = 0; n < BN / 8; ++n)
#pragma unroll
        for (int c = 0; c < 2; ++c) {
            const int col = keys.key(tile, n * 8 + (lane & 3) * 2 + c);
#pragma unroll
            for (int m = 0; m < MT; ++m)
#pragma unroll
                for (int i = 0; i < 2; ++i) {
                    if (!keys.keep(r_lo + m * 16 + i * 8, col, L)) s[m * (BN / 2) + 4 * n + 2 * i + c] = SL_NEG_INF;
                }
        }
}

// Online softmax in base 2 (scores scaled by log2(e) / sqrt(D)) of one tile's scores `s`
// (BN columns), in place: s becomes exp2(s * scale - max), row_max / row_sum are updated, and
// alpha[i] is the factor by which the accumulators of row half i must be rescaled
// (slab_rescale) before this tile's P V is added.
template <int BN>
__device__ __forceinline__ void slab_exp(float* s, float* row_max, float* row_sum, float scale_log2, float* alpha) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        // The row's raw maximum, scaled once (scale_log2 > 0, so the order is the same).
        float raw = SL_NEG_INF;
#pragma unroll
        for (int n = 0; n < BN / 8; ++n) raw = fmaxf(raw, fmaxf(s[4 * n + 2 * i], s[4 * n + 2 * i + 1]));
        raw = fmaxf(raw, __shfl_xor_sync(0xffffffffu, raw, 1));
        raw = fmaxf(raw, __shfl_xor_sync(0xffffffffu, raw, 2));
        const float mx = fmaxf(row_max[i], raw * scale_log2);
        // A row with nothing kept so far keeps max -inf; subtract 0 then so exp2 gives 0, not NaN.
        const float base = (mx == SL_NEG_INF) ? 0.f : mx;
        alpha[i] = exp2f(row_max[i] - base);
        row_max[i] = mx;
        float sum = 0.f;
#pragma unroll
        for (int n = 0; n < BN / 8; ++n) {
            s[4 * n + 2 * i] = exp2f(fmaf(s[4 * n + 2 * i], scale_log2, -base));
            s[4 * n + 2 * i + 1] = exp2f(fmaf(s[4 * n + 2 * i + 1], scale_log2, -base));
            sum += s[4 * n + 2 * i] + s[4 * n + 2 * i + 1];
        }
        row_sum[i] = row_sum[i] * alpha[i] + sum;
    }
}

// Packs the probabilities `s` (BN columns, after slab_exp) to element A fragments (m16n8k16
// layout, which wgmma's register A shares).
template <int BN>
__device__ __forceinline__ void slab_pack(const float* s, u32 (*p)[4]) {
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
        p[kk][0] = pack_x2(s[8 * kk + 0], s[8 * kk + 1]);
        p[kk][1] = pack_x2(s[8 * kk + 2], s[8 * kk + 3]);
        p[kk][2] = pack_x2(s[8 * kk + 4], s[8 * kk + 5]);
        p[kk][3] = pack_x2(s[8 * kk + 6], s[8 * kk + 7]);
    }
}

// Multiplies this thread's D-column accumulators of row half i by alpha[i].
template <int D>
__device__ __forceinline__ void slab_rescale(float* acc, const float* alpha) {
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            acc[4 * n + 2 * i] *= alpha[i];
            acc[4 * n + 2 * i + 1] *= alpha[i];
        }
    }
}

// The whole online softmax of a tile for a loop whose P V product follows it (mma.sync):
// slab_exp, slab_rescale of the accumulators `acc`, and slab_pack of P.
template <int BN, int D>
__device__ __forceinline__ void slab_softmax(float* s, float* acc, float* row_max, float* row_sum, float scale_log2,
                                             u32 (*p)[4]) {
    float alpha[2];
    slab_exp<BN>(s, row_max, row_sum, scale_log2, alpha);
    slab_rescale<D>(acc, alpha);
    slab_pack<BN>(s, p);
}

// A row's total of this thread's partial sums: the accumulator layout spreads a row over the
// four lanes of a quad.
__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

// The natural-log lse of a row with base-2 running max `row_max` and total `sum`; -inf for a
// row that kept nothing (sum 0).
__device__ __forceinline__ float row_lse(float row_max, float sum) {
    return sum > 0.f ? (row_max + log2f(sum)) * 0.6931471805599453f : SL_NEG_INF;
}

// Normalizes and stores this thread's part of the slab's output rows (below L) and their
// natural-log lse; a row that kept nothing gets zeros and lse = -inf.
template <int D>
__device__ __forceinline__ void slab_store(const float* acc, const float* row_max, const float* row_sum,
                                           elem_t* __restrict__ o, float* __restrict__ lse, int r_lo, int lane,
                                           int L) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const float sum = quad_sum(row_sum[i]);
        const int row = r_lo + i * 8;
        if (row < L) {
            const float inv = sum > 0.f ? 1.f / sum : 0.f;
            elem_t* orow = o + (long long)row * D + (lane & 3) * 2;
#pragma unroll
            for (int n = 0; n < D / 8; ++n) {
                *reinterpret_cast<u32*>(orow + n * 8) =
                    pack_x2(acc[4 * n + 2 * i] * inv, acc[4 * n + 2 * i + 1] * inv);
            }
            if ((lane & 3) == 0) lse[row] = row_lse(row_max[i], sum);
        }
    }
}

// The forward pass of one block of BM = 16 * MT * WARPS query rows over the
// 64-key tiles that `keys` enumerates. A key source provides:
//   BN                               keys per tile (a static constant: 64 here);
//   count()                          number of tiles;
//   tile(t)                          a small descriptor of tile t (Tile type);
//   load<ROWS, D, NT, Lay>(s, g, tile, L, tid)  cp.async of the tile's ROWS key rows of
//                                    g into a shared tile of layout Lay (missing rows zero-filled);
//   needs_mask(tile, row_lo, row_hi, L)   false when every row in [row_lo, row_hi]
//                                    keeps every column of the tile (the fast path);
//   key(tile, j)                     the key index of column j (>= L for padding);
//   keep(row, key, L)                whether query `row` keeps `key`.
// Each warp owns MT slabs of 16 query rows; with MT = 2 every K/V fragment read
// from shared memory feeds two matrix products, halving the shared-memory traffic
// per FLOP. K and V tiles alternate in shared memory so the load of one overlaps
// the matrix products of the other.
template <int D, int WARPS, int MT, class Keys>
__device__ __forceinline__ void attn_fwd_keys(const elem_t* __restrict__ q, const elem_t* __restrict__ k,
                                              const elem_t* __restrict__ v, elem_t* __restrict__ o,
                                              float* __restrict__ lse, int L, int q0, float scale_log2,
                                              const Keys& keys) {
    constexpr int BM = 16 * MT * WARPS;
    constexpr int BN = 64;
    static_assert(Keys::BN == BN, "the mma.sync loop visits 64-key tiles");
    constexpr int NT = 32 * WARPS;
    extern __shared__ __align__(128) unsigned char smem_raw[];
    elem_t* sQ = reinterpret_cast<elem_t*>(smem_raw);
    elem_t* sK = sQ + BM * D;
    elem_t* sV = sK + BN * D;

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;
    const int n_tiles = keys.count();

    load_tile<BM, D, NT>(sQ, q, q0, L, tid);
    if (n_tiles > 0) keys.template load<BN, D, NT>(sK, k, keys.tile(0), L, tid);
    cp_async_commit();

    float acc[MT][D / 8][4];
    float row_max[MT][2];
    float row_sum[MT][2];
#pragma unroll
    for (int m = 0; m < MT; ++m) {
#pragma unroll
        for (int n = 0; n < D / 8; ++n) acc[m][n][0] = acc[m][n][1] = acc[m][n][2] = acc[m][n][3] = 0.f;
        row_max[m][0] = row_max[m][1] = SL_NEG_INF;
        row_sum[m][0] = row_sum[m][1] = 0.f;
    }
    const int warp_row0 = q0 + warp * 16 * MT;
    const int r_lo = warp_row0 + (lane >> 2);  // row of slab m, half i: r_lo + 16 * m + 8 * i

    for (int t = 0; t < n_tiles; ++t) {
        const auto tile = keys.tile(t);
        cp_async_wait_all();
        __syncthreads();
        keys.template load<BN, D, NT>(sV, v, tile, L, tid);
        cp_async_commit();

        float s[MT][BN / 8][4];
#pragma unroll
        for (int m = 0; m < MT; ++m)
#pragma unroll
            for (int n = 0; n < BN / 8; ++n) s[m][n][0] = s[m][n][1] = s[m][n][2] = s[m][n][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk) {
            u32 a[MT][4];
#pragma unroll
            for (int m = 0; m < MT; ++m) {
                ldmatrix_x4(a[m][0], a[m][1], a[m][2], a[m][3],
                            smem_addr(sQ + swz<D>(warp * 16 * MT + m * 16 + (lane & 15), kk * 16 + (lane >> 4) * 8)));
            }
#pragma unroll
            for (int nn = 0; nn < BN / 16; ++nn) {
                u32 b0, b1, b2, b3;
                ldmatrix_x4(b0, b1, b2, b3,
                            smem_addr(sK + swz<D>(nn * 16 + (lane >> 4) * 8 + (lane & 7),
                                                  kk * 16 + ((lane >> 3) & 1) * 8)));
#pragma unroll
                for (int m = 0; m < MT; ++m) {
                    mma_16816(s[m][2 * nn], a[m][0], a[m][1], a[m][2], a[m][3], b0, b1);
                    mma_16816(s[m][2 * nn + 1], a[m][0], a[m][1], a[m][2], a[m][3], b2, b3);
                }
            }
        }

        // Mask what the key source drops, then the online softmax; P packed to elements.
        if (keys.needs_mask(tile, warp_row0, warp_row0 + 16 * MT - 1, L)) {
            slab_mask<BN, MT>(&s[0][0][0], keys, tile, r_lo, lane, L);
        }
        u32 p[MT][BN / 16][4];
#pragma unroll
        for (int m = 0; m < MT; ++m) {
            slab_softmax<BN, D>(&s[m][0][0], &acc[m][0][0], row_max[m], row_sum[m], scale_log2, p[m]);
        }

        cp_async_wait_all();
        __syncthreads();
        if (t + 1 < n_tiles) {
            keys.template load<BN, D, NT>(sK, k, keys.tile(t + 1), L, tid);
            cp_async_commit();
        }

#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) {
#pragma unroll
            for (int dd = 0; dd < D / 16; ++dd) {
                u32 b0, b1, b2, b3;
                ldmatrix_x4_trans(b0, b1, b2, b3, smem_addr(sV + swz<D>(kk * 16 + (lane & 15), dd * 16 + (lane >> 4) * 8)));
#pragma unroll
                for (int m = 0; m < MT; ++m) {
                    mma_16816(acc[m][2 * dd], p[m][kk][0], p[m][kk][1], p[m][kk][2], p[m][kk][3], b0, b1);
                    mma_16816(acc[m][2 * dd + 1], p[m][kk][0], p[m][kk][1], p[m][kk][2], p[m][kk][3], b2, b3);
                }
            }
        }
    }
    cp_async_wait_all();

    // Normalize and store; a row that kept nothing gets zeros and lse = -inf.
#pragma unroll
    for (int m = 0; m < MT; ++m) slab_store<D>(&acc[m][0][0], row_max[m], row_sum[m], o, lse, r_lo + m * 16, lane, L);
}

// Key tiles of WIDTH keys given by their first key (`tiles.count()`, `tiles.start(t)`),
// computed whole except for keys past the sequence end and, when CAUSAL, keys after the query.
template <bool CAUSAL, class Tiles, int WIDTH>
struct ContiguousKeys {
    static constexpr int BN = WIDTH;  // keys per tile
    const Tiles& tiles;
    typedef int Tile;  // first key of the tile
    __device__ __forceinline__ int count() const { return tiles.count(); }
    __device__ __forceinline__ Tile tile(int t) const { return tiles.start(t); }
    template <int ROWS, int D, int NT, class Lay = RowSwz>
    __device__ __forceinline__ void load(elem_t* s, const elem_t* g, Tile k0, int L, int tid) const {
        load_tile<ROWS, D, NT, Lay>(s, g, k0, L, tid);
    }
    __device__ __forceinline__ bool needs_mask(Tile k0, int row_lo, int /*row_hi*/, int L) const {
        return k0 + BN > L || (CAUSAL && k0 + BN - 1 > row_lo);
    }
    __device__ __forceinline__ int key(Tile k0, int j) const { return k0 + j; }
    __device__ __forceinline__ bool keep(int row, int key, int L) const { return key < L && (!CAUSAL || key <= row); }
};

// The mma.sync tile of attn_fwd_keys: WARPS warps, each owning MT slabs of 16 query rows.
template <int WARPS, int MT>
struct SyncTile {
    static constexpr int BM = 16 * MT * WARPS;  // query rows per block
    static constexpr int BN = 64;               // keys per tile
    static constexpr int NT = 32 * WARPS;       // threads per block
    template <int D, class Keys>
    static __device__ __forceinline__ void run(const elem_t* q, const elem_t* k, const elem_t* v, elem_t* o,
                                               float* lse, int L, int q0, float scale_log2, const Keys& keys) {
        attn_fwd_keys<D, WARPS, MT>(q, k, v, o, lse, L, q0, scale_log2, keys);
    }
};

// The forward pass of one block over contiguous T::BN-key tiles starting at
// tiles.start(t) (dense and block-sparse kernels), with the block tile T.
template <int D, class T, bool CAUSAL, class Tiles>
__device__ __forceinline__ void attn_fwd_tiles(const elem_t* __restrict__ q, const elem_t* __restrict__ k,
                                               const elem_t* __restrict__ v, elem_t* __restrict__ o,
                                               float* __restrict__ lse, int L, int q0, float scale_log2,
                                               const Tiles& tiles) {
    const ContiguousKeys<CAUSAL, Tiles, T::BN> keys{tiles};
    T::template run<D>(q, k, v, o, lse, L, q0, scale_log2, keys);
}

// Per-(batch, head) base pointers of one block: grid y = batch * heads + head; K/V
// of the head's kv head (GQA: heads / kv_heads query heads share one).
struct HeadPtrs {
    const elem_t* q;
    const elem_t* k;
    const elem_t* v;
    elem_t* o;
    float* lse;
};

template <int D>
__device__ __forceinline__ HeadPtrs head_ptrs(const elem_t* Q, const elem_t* K, const elem_t* V, elem_t* O,
                                              float* LSE, int L, int heads, int kv_heads) {
    const int bh = blockIdx.y;
    const int b = bh / heads;
    const int h = bh % heads;
    const long long kvh = (long long)b * kv_heads + h / (heads / kv_heads);
    HeadPtrs p;
    p.q = Q + (long long)bh * L * D;
    p.k = K + kvh * L * D;
    p.v = V + kvh * L * D;
    p.o = O + (long long)bh * L * D;
    p.lse = LSE + (long long)bh * L;
    return p;
}

}  // namespace sl
