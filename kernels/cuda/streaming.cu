// Streaming (A-shape: attention sink + local window) attention forward. Query row q
// keeps key k when k <= q and (k < sink or q - k < window), exactly as
// StreamingMask::keeps. A block of BM rows [q0, q0 + BM) visits the 64-key tiles
// that hold sink keys, [0, ceil(min(sink, row end) / 64)), then the tiles from the
// one holding key q0 - window + 1 up to the diagonal, never a tile twice; keys a
// row does not keep are masked inside the tile.
// Grid: x = query block (heaviest first), y = batch * heads.
// Exported names: attn_fwd_stream_d{D}_w{WARPS}_m{MT}, and attn_fwd_stream_d{D}_g{1|2} (Hopper
// wgmma, sm_90a only).
#include "attention_common.cuh"

namespace sl {

struct StreamKeys {
    static constexpr int BN = 64;  // keys per tile
    int n_sink;   // sink tiles: 0 .. n_sink - 1
    int local0;   // first local tile (>= n_sink)
    int n_local;  // local tiles: local0 .. local0 + n_local - 1
    int sink;
    int window;
    typedef int Tile;  // first key of the tile
    __device__ __forceinline__ int count() const { return n_sink + n_local; }
    __device__ __forceinline__ Tile tile(int t) const { return (t < n_sink ? t : local0 + t - n_sink) * 64; }
    template <int ROWS, int D, int NT, class Lay = RowSwz>
    __device__ __forceinline__ void load(elem_t* s, const elem_t* g, Tile k0, int L, int tid) const {
        load_tile<ROWS, D, NT, Lay>(s, g, k0, L, tid);
    }
    // The fast path needs every key of the tile kept by every row: all keys before the
    // first row, before the end, and each key in the sink or in the last row's window.
    __device__ __forceinline__ bool needs_mask(Tile k0, int row_lo, int row_hi, int L) const {
        const bool all_sink_or_window = k0 + 63 < sink || row_hi - k0 < window;
        return k0 + 64 > L || k0 + 63 > row_lo || !all_sink_or_window;
    }
    __device__ __forceinline__ int key(Tile k0, int j) const { return k0 + j; }
    __device__ __forceinline__ bool keep(int row, int key, int L) const {
        return key < L && key <= row && (key < sink || row - key < window);
    }
};

// `sink` >= 0 and `window` >= 1, both at most L (the launcher clamps them; clamping
// does not change which keys are kept).
template <int D, class T>
__device__ __forceinline__ void stream_fwd(const elem_t* Q, const elem_t* K, const elem_t* V, elem_t* O, float* LSE,
                                           int sink, int window, int L, int heads, int kv_heads, float scale_log2) {
    constexpr int BM = T::BM;
    const int qb = gridDim.x - 1 - blockIdx.x;
    const int q0 = qb * BM;
    const HeadPtrs p = head_ptrs<D>(Q, K, V, O, LSE, L, heads, kv_heads);
    const int row_end = min(q0 + BM, L);
    const int n_sink = (min(sink, row_end) + 63) / 64;
    const int first_local = max(q0 - (window - 1), 0) / 64;
    const int last = (row_end - 1) / 64;
    const int local0 = max(first_local, n_sink);
    const StreamKeys keys{n_sink, local0, max(0, last - local0 + 1), sink, window};
    T::template run<D>(p.q, p.k, p.v, p.o, p.lse, L, q0, scale_log2, keys);
}

}  // namespace sl

#define SL_STREAM_KERNEL(D, T, TAG, BOUNDS)                                                                        \
    extern "C" __global__ void BOUNDS attn_fwd_stream_d##D##_##TAG(                                                \
        const elem_t* Q, const elem_t* K, const elem_t* V, elem_t* O, float* LSE, int sink, int window, int L,    \
        int heads, int kv_heads, float scale_log2) {                                                              \
        sl::stream_fwd<D, T>(Q, K, V, O, LSE, sink, window, L, heads, kv_heads, scale_log2);                       \
    }
#define SL_STREAM(D, W, M)                          \
    typedef sl::SyncTile<W, M> sl_sync_w##W##_m##M; \
    SL_STREAM_KERNEL(D, sl_sync_w##W##_m##M, w##W##_m##M, __launch_bounds__(32 * W))

// 64-row blocks (4 warps) and 128-row blocks (8 warps x 16 rows; 4 x 32 rows spills here).
SL_STREAM(64, 4, 1)
SL_STREAM(64, 8, 1)
SL_STREAM(128, 4, 1)
SL_STREAM(128, 8, 1)

// Hopper: wgmma tiles of one warpgroup (64 rows) and two (128 rows).
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#include "attention_wgmma.cuh"
SL_STREAM_KERNEL(64, sl::WgTileG1, g1, __launch_bounds__(128, 2))
SL_STREAM_KERNEL(128, sl::WgTileG1, g1, __launch_bounds__(128, 2))
SL_STREAM_KERNEL(64, sl::WgTileG2, g2, __launch_bounds__(256, 1))
SL_STREAM_KERNEL(128, sl::WgTileG2, g2, __launch_bounds__(256, 1))
#endif
