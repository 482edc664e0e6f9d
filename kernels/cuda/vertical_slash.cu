// Vertical-slash attention forward over MInference's kernel format: for every
// (head, 64-row query block), `blocks` = start keys of contiguous 64-key blocks
// covering the slash diagonals (any offset, not only multiples of 64) and `cols` =
// the remaining vertical columns, gathered 64 at a time into shared memory (the
// last group padded and masked). Causal: keys after the query are masked inside
// every tile. Same tile machinery as the dense kernel (sl::attn_fwd_keys).
//
// Index arrays (int32): for row = head * query_blocks + query_block,
// blocks[blk_start[row] .. + blk_count[row]] and cols[col_start[row] .. + col_count[row]],
// both sorted, disjoint, every key < L. The index is shared by every batch entry.
// Grid: x = query block (heaviest first), y = batch * heads. Block: 4 warps x 16 rows
// or 2 warps x 32 rows (each K/V fragment feeds two matrix products).
// Exported names: attn_fwd_vs_d{D}_w{4|2}_m{1|2}, and attn_fwd_vs_d{D}_g1 (Hopper wgmma, one
// warpgroup of 64 rows; sm_90a only).
#include "attention_common.cuh"

namespace sl {

// One tile of a vertical-slash row block: a contiguous block from k0 (n == 0), or
// n (1..64) gathered columns cols[0..n).
struct VsTile {
    int k0;
    int n;
    const int* cols;
};

struct VsKeys {
    static constexpr int BN = 64;  // keys per tile
    const int* blocks;
    int n_blocks;
    const int* cols;
    int n_cols;
    typedef VsTile Tile;
    __device__ __forceinline__ int count() const { return n_blocks + (n_cols + 63) / 64; }
    __device__ __forceinline__ Tile tile(int t) const {
        if (t < n_blocks) return VsTile{blocks[t], 0, nullptr};
        const int g = (t - n_blocks) * 64;
        return VsTile{0, min(64, n_cols - g), cols + g};
    }
    template <int ROWS, int D, int NT, class Lay = RowSwz>
    __device__ __forceinline__ void load(elem_t* s, const elem_t* g, const Tile& tile, int L, int tid) const {
        if (tile.n == 0) {
            load_tile<ROWS, D, NT, Lay>(s, g, tile.k0, L, tid);
        } else {
            load_rows_gather<ROWS, D, NT, Lay>(s, g, tile.cols, tile.n, L, tid);
        }
    }
    __device__ __forceinline__ bool needs_mask(const Tile& tile, int row_lo, int /*row_hi*/, int L) const {
        return tile.n != 0 || tile.k0 + 64 > L || tile.k0 + 63 > row_lo;
    }
    __device__ __forceinline__ int key(const Tile& tile, int j) const {
        if (tile.n == 0) return tile.k0 + j;
        return j < tile.n ? tile.cols[j] : 0x7fffffff;
    }
    __device__ __forceinline__ bool keep(int row, int key, int L) const { return key < L && key <= row; }
};

template <int D, class T>
__device__ __forceinline__ void vs_fwd(const elem_t* Q, const elem_t* K, const elem_t* V, elem_t* O, float* LSE,
                                       const int* blk_start, const int* blk_count, const int* blocks,
                                       const int* col_start, const int* col_count, const int* cols, int L,
                                       int heads, int kv_heads, float scale_log2) {
    constexpr int BM = T::BM;
    const int qb = gridDim.x - 1 - blockIdx.x;
    const int q0 = qb * BM;
    const HeadPtrs p = head_ptrs<D>(Q, K, V, O, LSE, L, heads, kv_heads);
    const int h = blockIdx.y % heads;
    const int row = h * gridDim.x + qb;
    const VsKeys keys{blocks + blk_start[row], blk_count[row], cols + col_start[row], col_count[row]};
    T::template run<D>(p.q, p.k, p.v, p.o, p.lse, L, q0, scale_log2, keys);
}

}  // namespace sl

#define SL_VS_KERNEL(D, T, TAG, BOUNDS)                                                                          \
    extern "C" __global__ void BOUNDS attn_fwd_vs_d##D##_##TAG(                                                  \
        const elem_t* Q, const elem_t* K, const elem_t* V, elem_t* O, float* LSE, const int* blk_start,          \
        const int* blk_count, const int* blocks, const int* col_start, const int* col_count, const int* cols,   \
        int L, int heads, int kv_heads, float scale_log2) {                                                     \
        sl::vs_fwd<D, T>(Q, K, V, O, LSE, blk_start, blk_count, blocks, col_start, col_count, cols, L, heads,    \
                         kv_heads, scale_log2);                                                                 \
    }
#define SL_VS(D, W, M)                              \
    typedef sl::SyncTile<W, M> sl_sync_w##W##_m##M; \
    SL_VS_KERNEL(D, sl_sync_w##W##_m##M, w##W##_m##M, __launch_bounds__(32 * W))

// The format's query block is 64 rows: 4 warps of 16 rows, or 2 warps of 32 rows.
SL_VS(64, 4, 1)
SL_VS(128, 4, 1)
SL_VS(64, 2, 2)
SL_VS(128, 2, 2)

// Hopper: one warpgroup of 64 rows (wgmma), two K/V stages, two blocks per SM.
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#include "attention_wgmma.cuh"
SL_VS_KERNEL(64, sl::WgTileG1, g1, __launch_bounds__(128, 2))
SL_VS_KERNEL(128, sl::WgTileG1, g1, __launch_bounds__(128, 2))
#endif
