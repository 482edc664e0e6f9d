// Index building on the GPU: MInference's vertical-slash estimate from the last
// queries and pooled block scores with top-k for block-sparse, each equal (up to
// float rounding) to the CPU methods in kernels/src/method/{vertical_slash,block_topk}.rs.
// Inputs are bf16 or fp16 (-DSL_F16) Q [heads, L, D] and K [kv_heads, L, D]; every score
// is computed in fp32 (products of 16-bit floats are exact in fp32). Top-k ties go to the smaller index, as on
// the CPU.
//
// Vertical-slash, per head h (last = min(64, L) queries, rows qfirst = L - last ..):
//   vs_tile_stats   grid (key tiles, heads): per 64-key tile and query row, the max
//                   and sum of exp of the scaled scores (causal, keys < L);
//   vs_row_stats    grid (heads): per row, the overall max and 1 / sum;
//   vs_line_partials grid (key tiles, heads): probabilities of the tile, column sums
//                   (final vertical scores) and the tile's 127 diagonal partial sums;
//   vs_slash_combine grid (L / 256, heads): diagonal scores from the <= 2 partials;
//   vs_topk         grid (2, heads): top-v columns (first 30 forced) and top-s
//                   diagonals (first 100 forced), sorted ascending;
//   vs_convert      one thread per (head, 64-row block): MInference's conversion to
//                   contiguous 64-key blocks plus loose columns.
// Block-sparse: bs_mean_pool (Q and K), bs_pooled_scores, bs_topk.
#include "attention_common.cuh"

namespace sl {

__device__ __forceinline__ unsigned order_key(float x) {
    const unsigned u = __float_as_uint(x);
    return u ^ (static_cast<unsigned>(static_cast<int>(u) >> 31) | 0x80000000u);
}

// Exclusive prefix sum over the block of NT threads; `total` gets the block's sum.
// Every thread must call it; `sh` holds NT / 32 ints.
template <int NT>
__device__ __forceinline__ int block_exclusive_scan(int v, int& total, int* sh) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    int x = v;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const int y = __shfl_up_sync(0xffffffffu, x, o);
        if (lane >= o) x += y;
    }
    if (lane == 31) sh[warp] = x;
    __syncthreads();
    if (warp == 0) {
        int w = lane < NT / 32 ? sh[lane] : 0;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const int y = __shfl_up_sync(0xffffffffu, w, o);
            if (lane >= o) w += y;
        }
        if (lane < NT / 32) sh[lane] = w;
    }
    __syncthreads();
    const int before = warp > 0 ? sh[warp - 1] : 0;
    total = sh[NT / 32 - 1];
    __syncthreads();
    return before + x - v;
}

// Indices of the k largest of x[0 .. n) (entries below `forced` count as +inf), written
// ascending to out[0 .. min(k, n)). Radix selection on order keys (4 passes of 8-bit
// histograms) finds the k-th largest key T and how many entries equal to T to take;
// one ordered pass then writes every entry above T and the first such entries equal
// to T, so ties go to the smaller index.
template <int NT>
__device__ void block_topk(const float* x, int n, int k, int forced, int* out) {
    __shared__ unsigned hist[256];
    __shared__ unsigned s_prefix;
    __shared__ unsigned s_rank;
    __shared__ int sh[NT / 32];
    const int tid = threadIdx.x;
    if (k >= n) {
        for (int i = tid; i < n; i += NT) out[i] = i;
        return;
    }
    if (k <= 0) return;
    unsigned prefix = 0, mask = 0, rank = static_cast<unsigned>(k);
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = tid; b < 256; b += NT) hist[b] = 0;
        __syncthreads();
        for (int i = tid; i < n; i += NT) {
            const unsigned key = i < forced ? 0xffffffffu : order_key(x[i]);
            if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 255u], 1u);
        }
        __syncthreads();
        if (tid == 0) {
            unsigned above = 0;
            int d = 255;
            while (above + hist[d] < rank) {
                above += hist[d];
                --d;
            }
            s_prefix = prefix | (static_cast<unsigned>(d) << shift);
            s_rank = rank - above;
        }
        __syncthreads();
        prefix = s_prefix;
        rank = s_rank;
        mask |= 255u << shift;
    }
    // prefix = the k-th largest key; take `rank` of the entries equal to it.
    int taken = 0, equal_before = 0;
    for (int c0 = 0; c0 < n; c0 += NT) {
        const int i = c0 + tid;
        const unsigned key = i < n ? (i < forced ? 0xffffffffu : order_key(x[i])) : 0u;
        const bool gt = i < n && key > prefix;
        const bool eq = i < n && key == prefix;
        int eq_total;
        const int eq_rank = equal_before + block_exclusive_scan<NT>(eq ? 1 : 0, eq_total, sh);
        const bool take = gt || (eq && eq_rank < static_cast<int>(rank));
        int take_total;
        const int pos = taken + block_exclusive_scan<NT>(take ? 1 : 0, take_total, sh);
        if (take) out[pos] = i;
        taken += take_total;
        equal_before += eq_total;
    }
}

// The 64 x 64 fp32 score tile Q[q0 ..] K[k0 ..]^T of 64 query rows (4 warps x 16)
// from swizzled shared tiles; s[n][e] holds row warp*16 + lane/4 + 8*(e/2), column
// n*8 + 2*(lane%4) + e%2.
template <int D>
__device__ __forceinline__ void score_tile(const elem_t* sQ, const elem_t* sK, float s[8][4]) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
#pragma unroll
    for (int n = 0; n < 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
        u32 a0, a1, a2, a3;
        ldmatrix_x4(a0, a1, a2, a3, smem_addr(sQ + swz<D>(warp * 16 + (lane & 15), kk * 16 + (lane >> 4) * 8)));
#pragma unroll
        for (int nn = 0; nn < 4; ++nn) {
            u32 b0, b1, b2, b3;
            ldmatrix_x4(b0, b1, b2, b3,
                        smem_addr(sK + swz<D>(nn * 16 + (lane >> 4) * 8 + (lane & 7), kk * 16 + ((lane >> 3) & 1) * 8)));
            mma_16816(s[2 * nn], a0, a1, a2, a3, b0, b1);
            mma_16816(s[2 * nn + 1], a0, a1, a2, a3, b2, b3);
        }
    }
}

// Loads the last `last` query rows of head h and key tile kt, computes the scaled,
// masked scores (-inf where the key is past L, after the query, or the row is unused).
template <int D>
__device__ __forceinline__ void vs_scores(const elem_t* Q, const elem_t* K, int L, int heads, int kv_heads,
                                          float scale, elem_t* sQ, elem_t* sK, float s[8][4]) {
    const int kt = blockIdx.x;
    const int h = blockIdx.y;
    const int last = min(64, L);
    const int qfirst = L - last;
    const elem_t* q = Q + (long long)h * L * D;
    const elem_t* k = K + (long long)(h / (heads / kv_heads)) * L * D;
    load_tile<64, D, 128>(sQ, q, qfirst, L, threadIdx.x);
    load_tile<64, D, 128>(sK, k, kt * 64, L, threadIdx.x);
    cp_async_commit();
    cp_async_wait_all();
    __syncthreads();
    score_tile<D>(sQ, sK, s);
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
#pragma unroll
    for (int n = 0; n < 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int i = warp * 16 + (lane >> 2) + (e >> 1) * 8;
            const int key = kt * 64 + n * 8 + (lane & 3) * 2 + (e & 1);
            const bool ok = i < last && key < L && key <= qfirst + i;
            s[n][e] = ok ? s[n][e] * scale : SL_NEG_INF;
        }
}

template <int D>
__device__ void vs_tile_stats(const elem_t* Q, const elem_t* K, float2* stats, int L, int heads, int kv_heads,
                              float scale) {
    __shared__ __align__(128) elem_t sQ[64 * D];
    __shared__ __align__(128) elem_t sK[64 * D];
    float s[8][4];
    vs_scores<D>(Q, K, L, heads, kv_heads, scale, sQ, sK, s);
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
        float m = SL_NEG_INF;
#pragma unroll
        for (int n = 0; n < 8; ++n) m = fmaxf(m, fmaxf(s[n][2 * half], s[n][2 * half + 1]));
        m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 1));
        m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 2));
        float z = 0.f;
        if (m != SL_NEG_INF) {
#pragma unroll
            for (int n = 0; n < 8; ++n) z += __expf(s[n][2 * half] - m) + __expf(s[n][2 * half + 1] - m);
        }
        z += __shfl_xor_sync(0xffffffffu, z, 1);
        z += __shfl_xor_sync(0xffffffffu, z, 2);
        if ((lane & 3) == 0) {
            const int i = warp * 16 + (lane >> 2) + half * 8;
            stats[((long long)blockIdx.y * gridDim.x + blockIdx.x) * 64 + i] = make_float2(m, z);
        }
    }
}

// Combines the per-tile statistics of each row: row_max[h][i], row_inv[h][i] = 1 / sum
// (0 for a row with nothing visible, so its probabilities are 0).
__device__ void vs_row_stats(const float2* stats, float* row_max, float* row_inv, int n_tiles) {
    const int h = blockIdx.x;
    const int i = threadIdx.x;
    const float2* st = stats + (long long)h * n_tiles * 64 + i;
    float m = SL_NEG_INF;
    for (int t = 0; t < n_tiles; ++t) m = fmaxf(m, st[(long long)t * 64].x);
    double z = 0.0;
    if (m != SL_NEG_INF) {
        for (int t = 0; t < n_tiles; ++t) {
            const float2 v = st[(long long)t * 64];
            if (v.x != SL_NEG_INF) z += (double)v.y * (double)__expf(v.x - m);
        }
    }
    row_max[h * 64 + i] = m == SL_NEG_INF ? 0.f : m;
    row_inv[h * 64 + i] = z > 0.0 ? (float)(1.0 / z) : 0.f;
}

template <int D>
__device__ void vs_line_partials(const elem_t* Q, const elem_t* K, const float* row_max, const float* row_inv,
                                 float* lines, float* diag_part, int L, int heads, int kv_heads, float scale) {
    constexpr int TILE_BYTES = 64 * D * 2;
    constexpr int P_BYTES = 64 * 65 * 4;
    __shared__ __align__(128) unsigned char raw[2 * TILE_BYTES > P_BYTES ? 2 * TILE_BYTES : P_BYTES];
    elem_t* sQ = reinterpret_cast<elem_t*>(raw);
    elem_t* sK = reinterpret_cast<elem_t*>(raw + TILE_BYTES);
    float* P = reinterpret_cast<float*>(raw);  // [64][65], reuses the tiles once scored
    float s[8][4];
    vs_scores<D>(Q, K, L, heads, kv_heads, scale, sQ, sK, s);
    __syncthreads();
    const int h = blockIdx.y;
    const int kt = blockIdx.x;
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
#pragma unroll
    for (int n = 0; n < 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int i = warp * 16 + (lane >> 2) + (e >> 1) * 8;
            const int j = n * 8 + (lane & 3) * 2 + (e & 1);
            const float x = s[n][e];
            P[i * 65 + j] = x == SL_NEG_INF ? 0.f : __expf(x - row_max[h * 64 + i]) * row_inv[h * 64 + i];
        }
    __syncthreads();
    const int t = threadIdx.x;
    if (t < 64 && kt * 64 + t < L) {
        float col = 0.f;
        for (int i = 0; i < 64; ++i) col += P[i * 65 + t];
        lines[(2LL * h) * L + kt * 64 + t] = col;
    }
    // Slot t holds the diagonal i - j = t - 63 of the tile (slot 127 is empty).
    const int delta = t - 63;
    float diag = 0.f;
    for (int i = max(0, delta); i < min(64, 64 + delta); ++i) diag += P[i * 65 + i - delta];
    diag_part[((long long)h * gridDim.x + kt) * 128 + t] = diag;
}

// slash[d] = sum of the diagonal partials of the tiles that hold offset d = q - k.
// Tile kt's slot j holds d = qfirst - 64 * kt + j - 63.
__device__ void vs_slash_combine(const float* diag_part, float* lines, int L, int n_tiles) {
    const int h = blockIdx.y;
    const int d = blockIdx.x * blockDim.x + threadIdx.x;
    if (d >= L) return;
    const int qfirst = L - min(64, L);
    const int lo = max(0, (qfirst - d - 63 + 64 * 64) / 64 - 64);  // floor division, shifted to stay >= 0
    float sum = 0.f;
    for (int kt = lo; kt < n_tiles && kt <= lo + 2; ++kt) {
        const int j = d - (qfirst - 64 * kt) + 63;
        if (j >= 0 && j < 127) sum += diag_part[((long long)h * n_tiles + kt) * 128 + j];
    }
    lines[(2LL * h + 1) * L + d] = sum;
}

// One thread per (head, 64-row block) `row`: MInference's conversion. Slash ranges
// (sorted by start, i.e. by descending offset) are merged when the next starts at or
// before the current range's end rounded up to whole 64-key blocks, then cut into
// blocks from each range's start; verticals not inside a block become loose columns.
// Outputs go to blocks[blk_start[row] ..] and cols[col_start[row] ..] (capacity
// min(slashes, rb + 1) and min(verticals, keys before the block end)), with counts.
__device__ void vs_convert(const int* verticals, int n_vert, const int* slashes, int n_slash, const int* blk_start,
                           int* blk_count, int* blocks, const int* col_start, int* col_count, int* cols, int L,
                           int heads) {
    const int nrb = (L + 63) / 64;
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= heads * nrb) return;
    const int h = row / nrb;
    const int rb = row % nrb;
    const int r0 = rb * 64;
    const int r1 = min(r0 + 64, L);
    const int* sl = slashes + (long long)h * n_slash;
    const int* vt = verticals + (long long)h * n_vert;
    int* ob = blocks + blk_start[row];
    int nb = 0;
    int ca = -1, cb = -1;
    for (int j = n_slash - 1; j >= 0; --j) {
        const int s = sl[j];
        if (s >= r1) continue;
        const int a = max(r0 - s, 0);
        const int b = r1 - s;
        if (ca < 0) {
            ca = a;
            cb = b;
        } else if (a <= ca + ((cb - ca + 63) / 64) * 64) {
            cb = max(cb, b);
        } else {
            for (int off = ca; off < min(cb, r1); off += 64) ob[nb++] = off;
            ca = a;
            cb = b;
        }
    }
    if (ca >= 0) {
        for (int off = ca; off < min(cb, r1); off += 64) ob[nb++] = off;
    }
    blk_count[row] = nb;
    int* oc = cols + col_start[row];
    int nc = 0, bi = 0;
    for (int j = 0; j < n_vert; ++j) {
        const int key = vt[j];
        if (key >= r1) break;
        while (bi < nb && ob[bi] + 64 <= key) ++bi;
        if (!(bi < nb && ob[bi] <= key)) oc[nc++] = key;
    }
    col_count[row] = nc;
}

// Mean of each `block` rows of x [rows of head blockIdx.y, D] into out [nb, D], summed
// in row order then scaled by the reciprocal of the row count (as the CPU does).
__device__ void bs_mean_pool(const elem_t* x, float* out, int L, int D, int block) {
    const int b = blockIdx.x;
    const int nb = gridDim.x;
    const int h = blockIdx.y;
    const int r0 = b * block;
    const int r1 = min(r0 + block, L);
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float acc = 0.f;
        const elem_t* p = x + ((long long)h * L + r0) * D + d;
        for (int r = r0; r < r1; ++r, p += D) acc += elem_to_float(*p);
        out[((long long)h * nb + b) * D + d] = acc * __frcp_rn(static_cast<float>(r1 - r0));
    }
}

// scores[h][qb][kb] = qp[h][qb] . kp[kvh][kb] for a 64 x 64 tile of (qb, kb) per block
// (256 threads, 4 x 4 outputs each); causal: tiles wholly above the diagonal are skipped.
__device__ void bs_pooled_scores(const float* qp, const float* kp, float* scores, int nb, int D, int heads,
                                 int kv_heads, int causal) {
    __shared__ float sA[64][33];
    __shared__ float sB[64][33];
    const int h = blockIdx.z;
    const int q0 = blockIdx.y * 64;
    const int k0 = blockIdx.x * 64;
    if (causal && k0 > q0 + 63) return;
    const float* a = qp + (long long)h * nb * D;
    const float* b = kp + (long long)(h / (heads / kv_heads)) * nb * D;
    const int tx = threadIdx.x & 15;
    const int ty = threadIdx.x >> 4;
    float acc[4][4] = {};
    for (int d0 = 0; d0 < D; d0 += 32) {
        for (int e = threadIdx.x; e < 64 * 32; e += 256) {
            const int r = e >> 5;
            const int c = e & 31;
            sA[r][c] = q0 + r < nb ? a[(long long)(q0 + r) * D + d0 + c] : 0.f;
            sB[r][c] = k0 + r < nb ? b[(long long)(k0 + r) * D + d0 + c] : 0.f;
        }
        __syncthreads();
#pragma unroll 8
        for (int c = 0; c < 32; ++c) {
            float av[4], bv[4];
#pragma unroll
            for (int u = 0; u < 4; ++u) {
                av[u] = sA[ty + 16 * u][c];
                bv[u] = sB[tx + 16 * u][c];
            }
#pragma unroll
            for (int u = 0; u < 4; ++u)
#pragma unroll
                for (int w = 0; w < 4; ++w) acc[u][w] = fmaf(av[u], bv[w], acc[u][w]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int u = 0; u < 4; ++u)
#pragma unroll
        for (int w = 0; w < 4; ++w) {
            const int qb = q0 + ty + 16 * u;
            const int kb = k0 + tx + 16 * w;
            if (qb < nb && kb < nb) scores[((long long)h * nb + qb) * nb + kb] = acc[u][w];
        }
}

}  // namespace sl

#define SL_VS_SCORES(D)                                                                                           \
    extern "C" __global__ void __launch_bounds__(128)                                                             \
        vs_tile_stats_d##D(const elem_t* Q, const elem_t* K, float2* stats, int L, int heads, int kv_heads,       \
                           float scale) {                                                                         \
        sl::vs_tile_stats<D>(Q, K, stats, L, heads, kv_heads, scale);                                             \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(128) vs_line_partials_d##D(                                      \
        const elem_t* Q, const elem_t* K, const float* row_max, const float* row_inv, float* lines,               \
        float* diag_part, int L, int heads, int kv_heads, float scale) {                                          \
        sl::vs_line_partials<D>(Q, K, row_max, row_inv, lines, diag_part, L, heads, kv_heads, scale);             \
    }

SL_VS_SCORES(64)
SL_VS_SCORES(128)

extern "C" __global__ void __launch_bounds__(64)
    vs_row_stats(const float2* stats, float* row_max, float* row_inv, int n_tiles) {
    sl::vs_row_stats(stats, row_max, row_inv, n_tiles);
}

extern "C" __global__ void __launch_bounds__(256)
    vs_slash_combine(const float* diag_part, float* lines, int L, int n_tiles) {
    sl::vs_slash_combine(diag_part, lines, L, n_tiles);
}

// Grid (2, heads): x = 0 picks the top n_vert columns, x = 1 the top n_slash diagonals.
extern "C" __global__ void __launch_bounds__(1024)
    vs_topk(const float* lines, int L, int n_vert, int n_slash, int forced_cols, int forced_diags, int* verticals,
            int* slashes) {
    const int h = blockIdx.y;
    const float* x = lines + (2LL * h + blockIdx.x) * L;
    if (blockIdx.x == 0) {
        sl::block_topk<1024>(x, L, n_vert, forced_cols, verticals + (long long)h * n_vert);
    } else {
        sl::block_topk<1024>(x, L, n_slash, forced_diags, slashes + (long long)h * n_slash);
    }
}

extern "C" __global__ void __launch_bounds__(128)
    vs_convert(const int* verticals, int n_vert, const int* slashes, int n_slash, const int* blk_start, int* blk_count,
               int* blocks, const int* col_start, int* col_count, int* cols, int L, int heads) {
    sl::vs_convert(verticals, n_vert, slashes, n_slash, blk_start, blk_count, blocks, col_start, col_count, cols, L,
                   heads);
}

extern "C" __global__ void __launch_bounds__(128) bs_mean_pool(const elem_t* x, float* out, int L, int D, int block) {
    sl::bs_mean_pool(x, out, L, D, block);
}

extern "C" __global__ void __launch_bounds__(256) bs_pooled_scores(const float* qp, const float* kp, float* scores,
                                                                   int nb, int D, int heads, int kv_heads,
                                                                   int causal) {
    sl::bs_pooled_scores(qp, kp, scores, nb, D, heads, kv_heads, causal);
}

// Grid (query blocks, heads): the top k key blocks of each query block among the
// visible ones (qb + 1 when causal), written at offsets[h * nb + qb].
extern "C" __global__ void __launch_bounds__(256)
    bs_topk(const float* scores, int nb, int k, int causal, const unsigned* offsets, int* blocks) {
    const int qb = blockIdx.x;
    const int h = blockIdx.y;
    const int n = causal ? qb + 1 : nb;
    sl::block_topk<256>(scores + ((long long)h * nb + qb) * nb, n, k, 0, blocks + offsets[h * nb + qb]);
}
