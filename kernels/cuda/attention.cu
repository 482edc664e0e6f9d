// Attention forward kernels: dense (causal or not) and block-sparse. Both are
// sl::attn_fwd_tiles from attention_common.cuh with a different key-tile
// enumerator. Grid: x = query block (heaviest causal blocks first), y = batch * heads.
// Exported names: attn_fwd_{dense|bsr}_d{D}_{TAG}_{causal|full}, TAG = w{WARPS}_m{MT}
// (mma.sync: a block covers 16 * MT * WARPS query rows, MT slabs of 16 rows per warp)
// or g{G} / g2k (Hopper wgmma: G warpgroups of 64 rows, 64- or 128-key tiles; compiled for
// sm_90a only).
#include "attention_common.cuh"

namespace sl {

// Key tiles of W keys of dense attention: 0, W, ... up to the sequence end, or,
// when causal, up to the last query row of the block.
template <int W>
struct DenseTiles {
    int n;
    __device__ int count() const { return n; }
    __device__ int start(int t) const { return t * W; }
};

// Key tiles of one (head, query block) of a block-sparse mask in CSR form:
// `blocks[offsets[i] .. offsets[i+1])` are sorted key blocks of PER * W keys, each
// visited as PER tiles of W keys (PER is a constant, so no division per tile).
template <int W, int PER>
struct SparseTiles {
    const u32* blocks;
    int n;
    __device__ int count() const { return n; }
    __device__ int start(int t) const {
        return static_cast<int>(blocks[t / PER]) * (PER * W) + (t % PER) * W;
    }
};

template <int D, class T, bool CAUSAL>
__device__ __forceinline__ void dense_fwd(const elem_t* Q, const elem_t* K, const elem_t* V, elem_t* O, float* LSE,
                                          int L, int heads, int kv_heads, float scale_log2) {
    constexpr int BM = T::BM;
    const int qb = gridDim.x - 1 - blockIdx.x;
    const int q0 = qb * BM;
    const HeadPtrs p = head_ptrs<D>(Q, K, V, O, LSE, L, heads, kv_heads);
    const int kend = CAUSAL ? min(q0 + BM, L) : L;
    DenseTiles<T::BN> tiles{(kend + T::BN - 1) / T::BN};
    attn_fwd_tiles<D, T, CAUSAL>(p.q, p.k, p.v, p.o, p.lse, L, q0, scale_log2, tiles);
}

// The mask's query block equals the kernel's (T::BM rows); offsets index
// [heads][query blocks] (the mask is shared by every batch entry).
template <int D, class T, bool CAUSAL>
__device__ __forceinline__ void bsr_fwd(const elem_t* Q, const elem_t* K, const elem_t* V, elem_t* O, float* LSE,
                                        const u32* offsets, const u32* blocks, int L, int heads,
                                        int kv_heads, float scale_log2) {
    constexpr int BM = T::BM;
    const int qb = gridDim.x - 1 - blockIdx.x;
    const int q0 = qb * BM;
    const HeadPtrs p = head_ptrs<D>(Q, K, V, O, LSE, L, heads, kv_heads);
    const int h = blockIdx.y % heads;
    const int row = h * gridDim.x + qb;
    const u32 begin = offsets[row];
    // Key blocks are T::BM keys (the launcher requires the mask's block to equal the tile's rows).
    constexpr int PER = BM / T::BN;
    SparseTiles<T::BN, PER> tiles{blocks + begin, static_cast<int>(offsets[row + 1] - begin) * PER};
    attn_fwd_tiles<D, T, CAUSAL>(p.q, p.k, p.v, p.o, p.lse, L, q0, scale_log2, tiles);
}

}  // namespace sl

// Kernel TAG of tile T (e.g. w4_m2, g2) with launch bounds BOUNDS.
#define SL_DENSE(D, T, TAG, BOUNDS, C, NAME)                                                                       \
    extern "C" __global__ void BOUNDS attn_fwd_dense_d##D##_##TAG##_##NAME(                                        \
        const elem_t* Q, const elem_t* K, const elem_t* V, elem_t* O, float* LSE, int L, int heads, int kv_heads,  \
        float scale_log2) {                                                                                        \
        sl::dense_fwd<D, T, C>(Q, K, V, O, LSE, L, heads, kv_heads, scale_log2);                                   \
    }

#define SL_BSR(D, T, TAG, BOUNDS, C, NAME)                                                                         \
    extern "C" __global__ void BOUNDS attn_fwd_bsr_d##D##_##TAG##_##NAME(                                          \
        const elem_t* Q, const elem_t* K, const elem_t* V, elem_t* O, float* LSE, const u32* offsets,              \
        const u32* blocks, int L, int heads, int kv_heads, float scale_log2) {                                     \
        sl::bsr_fwd<D, T, C>(Q, K, V, O, LSE, offsets, blocks, L, heads, kv_heads, scale_log2);                    \
    }

#define SL_FAMILY(D, T, TAG, BOUNDS)                 \
    SL_DENSE(D, T, TAG, BOUNDS, false, full)         \
    SL_DENSE(D, T, TAG, BOUNDS, true, causal)        \
    SL_BSR(D, T, TAG, BOUNDS, false, full)           \
    SL_BSR(D, T, TAG, BOUNDS, true, causal)

#define SL_ALL(D, W, M)                             \
    typedef sl::SyncTile<W, M> sl_sync_w##W##_m##M; \
    SL_FAMILY(D, sl_sync_w##W##_m##M, w##W##_m##M, __launch_bounds__(32 * W))

// (warps, slabs per warp): 64-row blocks (4, 1) or (2, 2); 128-row blocks (8, 1) or (4, 2).
SL_ALL(64, 4, 1)
SL_ALL(64, 2, 2)
SL_ALL(128, 2, 2)
SL_ALL(64, 8, 1)
SL_ALL(64, 4, 2)
SL_ALL(128, 4, 1)
SL_ALL(128, 8, 1)
SL_ALL(128, 4, 2)

// Hopper: wgmma tiles of one warpgroup (64 rows, 2 stages, two blocks per SM) and two
// warpgroups (128 rows, 3 stages).
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#include "attention_wgmma.cuh"
#define SL_ALL_WG(D, G, MIN_BLOCKS) SL_FAMILY(D, sl::WgTileG##G, g##G, __launch_bounds__(128 * G, MIN_BLOCKS))
SL_ALL_WG(64, 1, 2)
SL_ALL_WG(128, 1, 2)
SL_ALL_WG(64, 2, 1)
SL_ALL_WG(128, 2, 1)
// Two warpgroups over 128-key tiles (halves the per-tile barrier, waits and softmax passes).
SL_FAMILY(64, sl::WgTileG2K, g2k, __launch_bounds__(256, 1))
SL_FAMILY(128, sl::WgTileG2K, g2k, __launch_bounds__(256, 1))

// Warp-specialized and persistent (g2w, attention_ws.cuh): the signature of the others,
// then the TMA descriptors of Q, K and V and the work counter (two u32, zero at launch).
#include "attention_ws.cuh"
#define SL_WS_PARAMS                                                                                               \
    int L, int heads, int kv_heads, float scale_log2, const __grid_constant__ sl::TmaMap tq,                      \
        const __grid_constant__ sl::TmaMap tk, const __grid_constant__ sl::TmaMap tv, u32 *sched
#define SL_WS(D, C, NAME)                                                                                          \
    extern "C" __global__ void __launch_bounds__(sl::WS_THREADS, 1) attn_fwd_dense_d##D##_g2w_##NAME(             \
        const elem_t*, const elem_t*, const elem_t*, elem_t* O, float* LSE, SL_WS_PARAMS) {                        \
        sl::attn_fwd_ws<D, C>(&tq, &tk, &tv, O, LSE, L, heads, kv_heads, scale_log2,                               \
                              sl::DenseKeyList<128, 128, C>{0}, sched);                                            \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(sl::WS_THREADS, 1) attn_fwd_bsr_d##D##_g2w_##NAME(               \
        const elem_t*, const elem_t*, const elem_t*, elem_t* O, float* LSE, const u32* offsets, const u32* blocks, \
        SL_WS_PARAMS) {                                                                                            \
        sl::attn_fwd_ws<D, C>(&tq, &tk, &tv, O, LSE, L, heads, kv_heads, scale_log2,                               \
                              sl::BlockKeyList<128, 128>{offsets, blocks, 0, 0}, sched);                           \
    }
SL_WS(64, false, full)
SL_WS(64, true, causal)
SL_WS(128, false, full)
SL_WS(128, true, causal)
#endif
