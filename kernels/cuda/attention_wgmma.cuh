// The Hopper (sm_90a) forward pass: the same key sources as attn_fwd_keys
// (attention_common.cuh), with warpgroup matrix products (wgmma) instead of
// mma.sync. A block is G warpgroups of 64 query rows; they share a ring of STAGES
// K/V tiles of 64 keys filled by cp.async (so gathered columns load like contiguous
// ones). Q and K are the operands of S = Q K^T in shared memory (K-major); P =
// softmax(S) stays in registers as the A operand of O += P V, whose B operand V is
// read N-major (transposed), all through matrix descriptors.
//
// Shared tiles use the 128-byte swizzle of wgmma (WgSwz): D columns split into
// chunks of 64 (128 bytes per row), each chunk [ROWS][64] with the 16-byte units of
// a row XOR-ed by the row's index mod 8, every tile aligned to 1024 bytes.
//
// Included only when compiling for sm_90a (`__CUDA_ARCH_FEAT_SM90_ALL`); the
// launcher offers these tiles on Hopper GPUs alone.
#pragma once

namespace sl {

// The wgmma shared-tile layout (see above): element offset of (row, col) in a [ROWS, D] tile.
struct WgSwz {
    static constexpr bool UNROLLED = true;  // loads unrolled by TileSplit (see load_tile)
    template <int ROWS, int D>
    static __device__ __forceinline__ int at(int row, int col) {
        return (col >> 6) * (ROWS * 64) + row * 64 + ((((col & 63) >> 3) ^ (row & 7)) << 3) + (col & 7);
    }
};

__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wg_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Orders this thread's earlier generic-proxy writes to shared memory (cp.async)
// before later async-proxy reads (wgmma operands).
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// Keeps the compiler from moving reads or writes of the registers r[0..N) across
// this point (wgmma writes its accumulators asynchronously, which the compiler cannot see).
template <int N>
__device__ __forceinline__ void fence_regs(float* r) {
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}

// The same for 32-bit registers (a wgmma's register A operand is read asynchronously too).
template <int N>
__device__ __forceinline__ void fence_regs_u32(u32* r) {
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+r"(r[i])::"memory");
}

// The output operands of a wgmma with N fp32 accumulators d[0..N), in register order.
#define SL_WG_ACC8(d, i)                                                                                            \
    "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]),     \
        "+f"(d[i + 7])
#define SL_WG_ACC32(d) SL_WG_ACC8(d, 0), SL_WG_ACC8(d, 8), SL_WG_ACC8(d, 16), SL_WG_ACC8(d, 24)
#define SL_WG_ACC64(d) SL_WG_ACC32(d), SL_WG_ACC8(d, 32), SL_WG_ACC8(d, 40), SL_WG_ACC8(d, 48), SL_WG_ACC8(d, 56)

// Matrix descriptor of a 128-byte-swizzled shared tile: start address, leading and
// stride byte offsets (bytes, multiples of 16), layout type 1 (128B swizzle).
__device__ __forceinline__ unsigned long long sw128_desc(u32 addr, u32 lbo, u32 sbo) {
    return (unsigned long long)((addr & 0x3FFFF) >> 4) | ((unsigned long long)(lbo >> 4) << 16) |
           ((unsigned long long)(sbo >> 4) << 32) | (1ull << 62);
}

// d (64 x 64 fp32, this thread's 32) = A (64 x 16 elements, registers) * B (16 x 64 elements, shared
// memory through `desc_b`) + (scale_d ? d : 0). TRANS_B = 1 reads B from an N-major tile.
template <int TRANS_B>
__device__ __forceinline__ void wgmma_m64n64k16_rs(float* d, const u32* a, unsigned long long desc_b, int scale_d) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %37, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32." SL_ELEM "." SL_ELEM " "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
        "{%32, %33, %34, %35}, %36, p, 1, 1, %38;\n"
        "}\n"
        : SL_WG_ACC32(d)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(scale_d), "n"(TRANS_B));
}


// d (64 x 128 fp32, this thread's 64) = A (64 x 16 elements, registers) * B (16 x 128 elements, shared
// memory through `desc_b`) + (scale_d ? d : 0). TRANS_B = 1 reads B from an N-major tile.
template <int TRANS_B>
__device__ __forceinline__ void wgmma_m64n128k16_rs(float* d, const u32* a, unsigned long long desc_b, int scale_d) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %69, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32." SL_ELEM "." SL_ELEM " "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "{%64, %65, %66, %67}, %68, p, 1, 1, %70;\n"
        "}\n"
        : SL_WG_ACC64(d)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(scale_d), "n"(TRANS_B));
}


// d (64 x 64 fp32, this thread's 32) = A (64 x 16 elements) * B (16 x 64 elements) + (scale_d ? d : 0),
// both operands K-major in shared memory (descriptors `desc_a`, `desc_b`).
__device__ __forceinline__ void wgmma_m64n64k16_ss(float* d, unsigned long long desc_a, unsigned long long desc_b,
                                                   int scale_d) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %34, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32." SL_ELEM "." SL_ELEM " "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
        "%32, %33, p, 1, 1, 0, 0;\n"
        "}\n"
        : SL_WG_ACC32(d)
        : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}

// d (64 x 128 fp32, this thread's 64) = A (64 x 16 elements) * B (16 x 128 elements) + (scale_d ? d : 0),
// both operands K-major in shared memory (descriptors `desc_a`, `desc_b`).
__device__ __forceinline__ void wgmma_m64n128k16_ss(float* d, unsigned long long desc_a, unsigned long long desc_b,
                                                    int scale_d) {
    asm volatile(
        "{\n"
        ".reg .pred p;\n"
        "setp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32." SL_ELEM "." SL_ELEM " "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "%64, %65, p, 1, 1, 0, 0;\n"
        "}\n"
        : SL_WG_ACC64(d)
        : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}

// S (+)= Q K^T for one k16 step over a BN-key tile (64 or 128 keys).
template <int BN>
__device__ __forceinline__ void wg_qk(float* s, unsigned long long desc_q, unsigned long long desc_k, int scale_d) {
    if constexpr (BN == 128) {
        wgmma_m64n128k16_ss(s, desc_q, desc_k, scale_d);
    } else {
        wgmma_m64n64k16_ss(s, desc_q, desc_k, scale_d);
    }
}

// O += P V for 16 keys of a tile: m64n{D}k16 with P (registers) as A.
template <int D>
__device__ __forceinline__ void wg_pv(float* acc, const u32* p, unsigned long long desc) {
    if constexpr (D == 128) {
        wgmma_m64n128k16_rs<1>(acc, p, desc, 1);
    } else {
        wgmma_m64n64k16_rs<1>(acc, p, desc, 1);
    }
}

__device__ __forceinline__ void stmatrix_x4(u32 addr, u32 r0, u32 r1, u32 r2, u32 r3) {
    asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};\n" ::"r"(addr), "r"(r0), "r"(r1),
                 "r"(r2), "r"(r3)
                 : "memory");
}

// Starts the online softmax of a warpgroup's 64 rows: O = 0, running max -inf, running sum 0.
template <int D>
__device__ __forceinline__ void wg_rows_reset(float* acc, float* row_max, float* row_sum) {
#pragma unroll
    for (int i = 0; i < D / 2; ++i) acc[i] = 0.f;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        row_max[i] = SL_NEG_INF;
        row_sum[i] = 0.f;
    }
}

// Normalizes this warpgroup's 64 output rows and writes their natural-log lse (rows below
// L); a row that kept nothing gets zeros and lse = -inf. The rows go by stmatrix to the
// block's Q tile `s` (layout WgSwz, BM rows), which this warpgroup no longer reads, where
// copy_staged_rows gives each thread whole 16-byte chunks of a row for coalesced stores.
// Straight from the accumulator layout each 4-byte store touched 8 rows; those 32 stores per
// thread (and the drain at exit) were most of the 14% of warp time that ncu sampled after
// the key loop at 6 key tiles per block (block-sparse, 5%).
template <int D, int BM>
__device__ __forceinline__ void wg_stage(const float* acc, const float* row_max, const float* row_sum, elem_t* s,
                                         float* __restrict__ lse, int q0, int L, int tid) {
    const int wg = tid >> 7;
    const int warp = (tid >> 5) & 3;
    const int lane = tid & 31;
    float inv[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const float sum = quad_sum(row_sum[i]);
        inv[i] = sum > 0.f ? 1.f / sum : 0.f;
        const int row = q0 + wg * 64 + warp * 16 + (lane >> 2) + 8 * i;
        if ((lane & 3) == 0 && row < L) lse[row] = row_lse(row_max[i], sum);
    }
    // stmatrix x4: matrix j holds rows 8 (j & 1) .. of this warp's 16 and columns 8 (n + j / 2) ..;
    // lane l gives the address of row l % 8 of matrix l / 8.
    const int m = lane >> 3;
    const int srow = wg * 64 + warp * 16 + (m & 1) * 8 + (lane & 7);
#pragma unroll
    for (int n = 0; n < D / 8; n += 2) {
        u32 r[4];
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int i = j & 1;
            const int nb = n + (j >> 1);
            r[j] = pack_x2(acc[4 * nb + 2 * i] * inv[i], acc[4 * nb + 2 * i + 1] * inv[i]);
        }
        stmatrix_x4(smem_addr(s + WgSwz::at<BM, D>(srow, (n + (m >> 1)) * 8)), r[0], r[1], r[2], r[3]);
    }
}

// Copies the 64 staged rows r0 .. of `s` (WgSwz, BM rows) to rows q0 + r0 .. of `o` (those
// below L) with THREADS threads (t: this one's index), 16 bytes a copy, BATCH loads in flight
// (a thread with few registers copies in several batches).
template <int D, int BM, int THREADS, int BATCH = TileSplit<64, D, THREADS>::PASSES>
__device__ __forceinline__ void copy_staged_rows(const elem_t* s, elem_t* __restrict__ o, int r0, int q0, int L,
                                                 int t) {
    typedef TileSplit<64, D, THREADS> Split;
    static_assert(Split::PASSES % BATCH == 0, "batches must split the passes evenly");
    const int ch = t % Split::CHUNKS;
#pragma unroll 1
    for (int p0 = 0; p0 < Split::PASSES; p0 += BATCH) {
        uint4 v[BATCH];
#pragma unroll
        for (int p = 0; p < BATCH; ++p) {
            const int r = r0 + t / Split::CHUNKS + (p0 + p) * Split::STEP;
            v[p] = *reinterpret_cast<const uint4*>(s + WgSwz::at<BM, D>(r, ch * 8));
        }
#pragma unroll
        for (int p = 0; p < BATCH; ++p) {
            const int r = r0 + t / Split::CHUNKS + (p0 + p) * Split::STEP;
            if (q0 + r < L) *reinterpret_cast<uint4*>(o + (long long)(q0 + r) * D + ch * 8) = v[p];
        }
    }
}

// Normalizes and stores this warpgroup's 64 output rows and their lse (wg_stage, then the
// warpgroup's four warps, named barrier 1 + wg, copy the rows out).
template <int D, int BM>
__device__ __forceinline__ void wg_store(const float* acc, const float* row_max, const float* row_sum, elem_t* s,
                                         elem_t* __restrict__ o, float* __restrict__ lse, int q0, int L, int tid) {
    const int wg = tid >> 7;
    wg_stage<D, BM>(acc, row_max, row_sum, s, lse, q0, L, tid);
    asm volatile("bar.sync %0, 128;\n" ::"r"(1 + wg) : "memory");
    copy_staged_rows<D, BM, 128>(s, o, wg * 64, q0, L, tid & 127);
}

// Issues S = Q K^T over a BN-key tile (D / 16 k16 steps, K-major B: 16 columns of D per
// step, 32 bytes into a 128-byte chunk row) from the shared tiles at q_addr (BM rows of Q,
// offset to this warpgroup's) and k_addr. The caller fences, commits and waits.
template <int D, int BM, int BN>
__device__ __forceinline__ void wg_s_issue(float* s, u32 q_addr, u32 k_addr) {
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
        wg_qk<BN>(s, sw128_desc(q_addr + (kk >> 2) * (BM * 128) + (kk & 3) * 32, 16, 1024),
                  sw128_desc(k_addr + (kk >> 2) * (BN * 128) + (kk & 3) * 32, 16, 1024), kk > 0 ? 1 : 0);
    }
}

// Issues O += P V over a BN-key tile: V N-major (transposed B) at v_addr, 16 keys per step
// = two 8-row core groups. The caller fences, commits and waits.
template <int D, int BN>
__device__ __forceinline__ void wg_pv_issue(float* acc, const u32 (*p)[4], u32 v_addr) {
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) wg_pv<D>(acc, p[kk], sw128_desc(v_addr + kk * 16 * 128, BN * 128, 1024));
}

// One key tile for this warpgroup's 64 query rows: S = Q K^T from the shared tiles at
// q_addr (the block's BM rows of Q, offset to this warpgroup's) and k_addr, the mask and the
// online softmax, then O += P V from the shared tile at v_addr. Waits for its own products.
template <int D, int BM, int BN, class Keys>
__device__ __forceinline__ void wg_tile(float* acc, float* row_max, float* row_sum, u32 q_addr, u32 k_addr,
                                        u32 v_addr, const Keys& keys, const typename Keys::Tile& tile, int warp_row0,
                                        int r_lo, int lane, int L, float scale_log2) {
    float s[BN / 2];
    wg_fence();
    wg_s_issue<D, BM, BN>(s, q_addr, k_addr);
    wg_commit();
    wg_wait<0>();
    fence_regs<BN / 2>(s);

    // Mask, then the online softmax; P packed to element A fragments.
    if (keys.needs_mask(tile, warp_row0, warp_row0 + 15, L)) slab_mask<BN, 1>(s, keys, tile, r_lo, lane, L);
    u32 p[BN / 16][4];
    slab_softmax<BN, D>(s, acc, row_max, row_sum, scale_log2, p);

    wg_fence();
    wg_pv_issue<D, BN>(acc, p, v_addr);
    wg_commit();
    wg_wait<0>();
    fence_regs<D / 2>(acc);
}

// The forward pass of one block of 64 * G query rows over the BN-key tiles (64 or 128)
// that `keys` enumerates (the key-source contract of attn_fwd_keys), with wgmma.
template <int D, int G, int STAGES, int BN, class Keys>
__device__ __forceinline__ void attn_fwd_keys_wg(const elem_t* __restrict__ q, const elem_t* __restrict__ k,
                                                 const elem_t* __restrict__ v, elem_t* __restrict__ o,
                                                 float* __restrict__ lse, int L, int q0, float scale_log2,
                                                 const Keys& keys) {
    static_assert(D == 64 || D == 128, "head dim 64 or 128");
    static_assert(STAGES >= 2, "at least two K/V stages");
    static_assert(BN == 64 || BN == 128, "key tiles of 64 or 128");
    static_assert(Keys::BN == BN, "the key source enumerates tiles of another width");
    constexpr int BM = 64 * G;
    constexpr int NT = 128 * G;
    constexpr int TILE = BN * D;  // elements of one K or V tile
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    // The swizzle acts on address bits, so tiles start at 1024-byte boundaries (the
    // launcher adds 1 KB of slack).
    unsigned char* base = smem_raw + ((1024 - (smem_addr(smem_raw) & 1023)) & 1023);
    elem_t* sQ = reinterpret_cast<elem_t*>(base);
    elem_t* sK = sQ + BM * D;
    elem_t* sV = sK + STAGES * TILE;

    const int tid = threadIdx.x;
    const int wg = tid >> 7;
    const int warp = (tid >> 5) & 3;
    const int lane = tid & 31;
    const int n_tiles = keys.count();

    // Q and the first STAGES - 1 tiles; group s holds tile s (group 0 also Q).
    // A block with no key tile loads no Q: its output, zeros, is staged in sQ (wg_store) with
    // no barrier after the final wait, which covers only this thread's own copies.
    if (n_tiles > 0) load_tile<BM, D, NT, WgSwz>(sQ, q, q0, L, tid);
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < n_tiles) {
            const auto tile = keys.tile(s);
            keys.template load<BN, D, NT, WgSwz>(sK + s * TILE, k, tile, L, tid);
            keys.template load<BN, D, NT, WgSwz>(sV + s * TILE, v, tile, L, tid);
        }
        cp_async_commit();
    }

    // This warpgroup's 64 rows of Q: the A operand of S = Q K^T, read from shared memory
    // (K-major, like K). Keeping Q in registers instead lets ptxas (CUDA 13.0) reuse those
    // registers inside the key loop, which gives wrong results from the second tile on.
    const u32 q_addr = smem_addr(sQ) + wg * 64 * 128;

    float acc[D / 2], row_max[2], row_sum[2];
    wg_rows_reset<D>(acc, row_max, row_sum);
    const int warp_row0 = q0 + wg * 64 + warp * 16;
    const int r_lo = warp_row0 + (lane >> 2);  // rows r_lo and r_lo + 8

    for (int t = 0; t < n_tiles; ++t) {
        // Tile t has landed (this thread's copies), is visible to the tensor cores, and
        // every warpgroup is done with tile t - 1, whose stage the prefetch reuses.
        cp_async_wait<STAGES - 2>();
        fence_proxy_async();
        __syncthreads();
        {
            const int nt = t + STAGES - 1;
            if (nt < n_tiles) {
                const auto tile = keys.tile(nt);
                const int st = nt % STAGES;
                keys.template load<BN, D, NT, WgSwz>(sK + st * TILE, k, tile, L, tid);
                keys.template load<BN, D, NT, WgSwz>(sV + st * TILE, v, tile, L, tid);
            }
            cp_async_commit();
        }
        const int st = t % STAGES;
        wg_tile<D, BM, BN>(acc, row_max, row_sum, q_addr, smem_addr(sK + st * TILE), smem_addr(sV + st * TILE), keys,
                           keys.tile(t), warp_row0, r_lo, lane, L, scale_log2);
    }
    cp_async_wait_all();
    wg_store<D, BM>(acc, row_max, row_sum, sQ, o, lse, q0, L, tid);
}

// The wgmma tile of a block: G warpgroups of 64 query rows, STAGES K/V stages of
// KEYS-key tiles.
template <int G, int STAGES, int KEYS = 64>
struct WgTile {
    static constexpr int BM = 64 * G;
    static constexpr int BN = KEYS;
    static constexpr int NT = 128 * G;
    template <int D, class Keys>
    static __device__ __forceinline__ void run(const elem_t* q, const elem_t* k, const elem_t* v, elem_t* o,
                                               float* lse, int L, int q0, float scale_log2, const Keys& keys) {
        attn_fwd_keys_wg<D, G, STAGES, BN>(q, k, v, o, lse, L, q0, scale_log2, keys);
    }
};

// The tiles the kernel files instantiate (their stage counts and key tiles are TileConfig's
// kv_stages and key_tile on the host): g1 = one warpgroup, two stages of 64 keys (two blocks
// per SM); g2 = two warpgroups, three stages of 64 keys; g2k = two warpgroups, two stages of
// 128-key tiles (contiguous key sources only: dense and block-sparse; a third stage gained
// under 1% on the H100).
typedef WgTile<1, 2> WgTileG1;
typedef WgTile<2, 3> WgTileG2;
typedef WgTile<2, 2, 128> WgTileG2K;

}  // namespace sl
