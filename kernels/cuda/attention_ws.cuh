// The warp-specialized, persistent Hopper (sm_90a) forward pass of the dense and
// block-sparse kernels (tile g2w), in the manner of FlashAttention-3: a block is two
// consumer warpgroups of 64 query rows (wgmma over 128-key tiles, attention_wgmma.cuh)
// and a producer warpgroup. The grid is one block per SM; blocks claim work items (one
// head's 128-row query block) from a global counter, so a block's next item is claimed
// and its Q and first K/V tiles are in flight while the current item's last tiles and
// output are computed. The producer's one thread reads the block-sparse index and issues
// bulk tensor copies (TMA, the 128-byte swizzle the wgmma descriptors read) that complete
// on mbarriers; the consumers wait on those and release each K stage and V stage on
// another, with no block-wide barrier in the loop. Two store warps of the producer
// warpgroup copy each item's staged output rows to global memory and free its Q buffer,
// so the consumers start their next item without waiting on those stores (on the H100
// about 1% faster, dense and block-sparse, than the consumers storing). Each consumer warpgroup
// issues tile t's S = Q K^T with tile t - 1's O += P V and runs tile t's softmax while
// they finish, and the two warpgroups take turns to issue (named barriers), so one's
// softmax overlaps the other's products. Without the persistent grid (the g2k kernel)
// every block paid for its first block index, Q and first K/V tile and its output store
// with the SM's tensor cores idle: about 3 us a block, a fifth of the time at 5% density
// at 16k tokens.
//
// Shared memory: two Q buffers [128 x D] (one per item in flight; the consumers stage
// their output rows in it, see wg_stage, for the store warps), STAGES K and V tiles
// [128 x D], then the mbarriers and the slots the producer fills for the consumers and
// store warps (item, tile count, and the first key of each stage's tile).
#pragma once

namespace sl {

// A CUtensorMap (the driver's opaque 128-byte descriptor), passed by value as a
// __grid_constant__ kernel parameter.
struct __align__(64) TmaMap {
    unsigned long long opaque[16];
};

__device__ __forceinline__ void mbar_init(u32 bar, u32 count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// Arrives (release: this thread's earlier shared-memory writes are seen by the waiters).
__device__ __forceinline__ void mbar_arrive(u32 bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Arrives and announces `bytes` of copies that complete on this phase.
__device__ __forceinline__ void mbar_arrive_tx(u32 bar, u32 bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
// Waits until the phase of parity `parity` has completed (acquire).
__device__ __forceinline__ void mbar_wait(u32 bar, u32 parity) {
    u32 done = 0;
    while (!done) {
        asm volatile(
            "{\n"
            ".reg .pred p;\n"
            "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
            "selp.u32 %0, 1, 0, p;\n"
            "}\n"
            : "=r"(done)
            : "r"(bar), "r"(parity)
            : "memory");
    }
}

// Bulk tensor copy of the box at (x, y, z) of `map` into shared memory at `dst`,
// completing (with its byte count) on the mbarrier `bar`.
__device__ __forceinline__ void tma_load_3d(u32 dst, const TmaMap* map, u32 bar, int x, int y, int z) {
    asm volatile(
        "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], "
        "[%5];\n" ::"r"(dst),
        "l"(reinterpret_cast<unsigned long long>(map)), "r"(x), "r"(y), "r"(z), "r"(bar)
        : "memory");
}

// Rows [row0, row0 + ROWS) of head z of a [heads, L, D] tensor into a WgSwz tile [ROWS, D]:
// one box of 64 columns (128 bytes, the swizzle span) per chunk of the layout; rows past L
// arrive as zeros (the tensor map's bounds).
template <int ROWS, int D>
__device__ __forceinline__ void tma_tile(u32 dst, const TmaMap* map, u32 bar, int row0, int z) {
#pragma unroll
    for (int c = 0; c < D / 64; ++c) tma_load_3d(dst + c * ROWS * 128, map, bar, c * 64, row0, z);
}

// Key tiles of dense attention for the producer: BN-key tiles from 0 to the end, or to
// the query block's last row when causal.
template <int BM, int BN, bool CAUSAL>
struct DenseKeyList {
    int n;
    __device__ __forceinline__ void open(int /*row*/, int q0, int L) {
        const int kend = CAUSAL ? min(q0 + BM, L) : L;
        n = (kend + BN - 1) / BN;
    }
    __device__ __forceinline__ int start(int t) const { return t * BN; }
};

// Key tiles of a block mask in CSR form (see SparseTiles): row h * query blocks + qb.
template <int BM, int BN>
struct BlockKeyList {
    static constexpr int PER = BM / BN;
    const u32* offsets;
    const u32* blocks;
    u32 begin;
    int n;
    __device__ __forceinline__ void open(int row, int /*q0*/, int /*L*/) {
        begin = offsets[row];
        n = static_cast<int>(offsets[row + 1] - begin) * PER;
    }
    __device__ __forceinline__ int start(int t) const {
        return static_cast<int>(blocks[begin + t / PER]) * BM + (t % PER) * BN;
    }
};

// A slot the producer wrote, read by lane 0 (the lane that releases the warp's hold on
// it) and broadcast to the warp.
__device__ __forceinline__ int warp_read(volatile const int* p, int lane) {
    int v = 0;
    if (lane == 0) v = *p;
    return __shfl_sync(0xffffffffu, v, 0);
}

// Releases a stage or buffer this warp has finished reading: lane 0 arrives for the warp.
__device__ __forceinline__ void ws_release(u32 bar, int lane) {
    __syncwarp();
    if (lane == 0) mbar_arrive(bar);
}

// ContiguousKeys needs a tile enumerator only for count() and tile(), which the consumers
// never call: tiles come from the producer.
struct ProducerTiles {};

// Work item `item` is head item / nqb (of nqb query blocks), query block nqb - 1 - item % nqb:
// a head's heaviest causal blocks first. ws_q0 is its first row, ws_row its row of a block mask.
__device__ __forceinline__ int ws_q0(int item, int nqb) { return (nqb - 1 - item % nqb) * 128; }
__device__ __forceinline__ int ws_row(int item, int nqb, int heads) {
    return (item / nqb) % heads * nqb + (nqb - 1 - item % nqb);
}

// The block's threads: two consumer warpgroups, then a producer warpgroup (one thread of
// which issues the copies, two warps of which store the output). The producer gives its
// registers to the consumers (setmaxnreg): a block of 384 threads starts at 168 registers
// a thread; the consumers' products of one tile
// overlapping the softmax of the next need more (a fourth, idle-register-free warp would
// not help: ptxas sizes a block that uses wgmma by whole warpgroups).
constexpr int WS_CONSUMERS = 256;
constexpr int WS_THREADS = WS_CONSUMERS + 128;
constexpr int WS_PRODUCER_REGS = 40;
constexpr int WS_CONSUMER_REGS = 232;
template <int N>
__device__ __forceinline__ void regs_dec() {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N));
}
template <int N>
__device__ __forceinline__ void regs_inc() {
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N));
}

// The consumer warpgroups take turns to issue their products (FlashAttention-3's
// ping-pong): warpgroup wg waits on named barrier WS_TURN + wg (ids 1 and 2 are
// wg_store's), issues, and passes the turn to the other, so one warpgroup's softmax runs
// while the other's products keep the tensor cores busy. Without the turns the two
// warpgroups, waiting on the same K/V stages, ran their softmax at the same time.
constexpr int WS_TURN = 3;
__device__ __forceinline__ void named_sync(int id, int threads) {
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void named_arrive(int id, int threads) {
    asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void ws_turn_wait(int wg) { named_sync(WS_TURN + wg, WS_CONSUMERS); }
__device__ __forceinline__ void ws_turn_pass(int wg) { named_arrive(WS_TURN + (wg ^ 1), WS_CONSUMERS); }

// A store warp of the producer warpgroup: copies warpgroup wg's output rows of each item,
// staged in the item's Q buffer (wg_stage), to O, then frees the buffer for the next Q copy,
// so the consumers go on to their next item without waiting for the stores. Items come in
// the order the producer claimed them (the slots of Q buffer i & 1).
template <int D, int BM>
__device__ __forceinline__ void ws_store_warp(const elem_t* sQ, int qt, u32 q_full, u32 q_empty, u32 staged,
                                              volatile const int* slot, elem_t* __restrict__ O, int L, int nqb,
                                              int wg, int lane) {
    for (int i = 0;; ++i) {
        const int b = i & 1;
        const u32 phase = (i >> 1) & 1;
        mbar_wait(q_full + 8 * b, phase);
        const int item = warp_read(&slot[b], lane);
        if (item < 0) return;
        mbar_wait(staged + 16 * b, phase);
        copy_staged_rows<D, BM, 32, 4>(sQ + b * qt, O + (long long)(item / nqb) * L * D, wg * 64, ws_q0(item, nqb), L,
                                       lane);
        // The reads of the staged rows (generic proxy) come before the next Q copy into buffer b.
        fence_proxy_async();
        ws_release(q_empty + 8 * b, lane);
    }
}

// The forward pass of items (head, 128-row query block) claimed from sched[0] by the
// blocks of a persistent grid; `list` gives each item's key tiles. sched[1] counts the
// blocks done; the last one resets both, so every launch finds them zero.
template <int D, bool CAUSAL, class List>
__device__ __forceinline__ void attn_fwd_ws(const TmaMap* tq, const TmaMap* tk, const TmaMap* tv,
                                            elem_t* __restrict__ O, float* __restrict__ LSE, int L, int heads,
                                            int kv_heads, float scale_log2, List list, u32* sched) {
    static_assert(D == 64 || D == 128, "head dim 64 or 128");
    constexpr int BM = 128;
    constexpr int BN = 128;
    constexpr int STAGES = 2;
    constexpr int QT = BM * D;  // elements of a Q buffer
    constexpr int KT = BN * D;  // elements of a K or V tile
    constexpr u32 CONSUMER_WARPS = WS_CONSUMERS / 32;
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    unsigned char* base = smem_raw + ((1024 - (smem_addr(smem_raw) & 1023)) & 1023);
    elem_t* sQ = reinterpret_cast<elem_t*>(base);
    elem_t* sK = sQ + 2 * QT;
    elem_t* sV = sK + STAGES * KT;
    // mbarriers: Q full [2], Q empty [2], then K full, K empty, V full, V empty [STAGES each]
    // (a tile's K is released after S = Q K^T, its V one step later, after O += P V), then
    // O staged [2 buffers x 2 warpgroups].
    unsigned long long* bars = reinterpret_cast<unsigned long long*>(sV + STAGES * KT);
    // Slots: item [2] (-1: no more), tile count [2], first key of each stage [STAGES].
    volatile int* slot = reinterpret_cast<volatile int*>(bars + 4 + 4 * STAGES + 4);
    const u32 q_full = smem_addr(bars);
    const u32 q_empty = q_full + 16;
    const u32 k_full = q_full + 32;
    const u32 k_empty = k_full + 8 * STAGES;
    const u32 v_full = k_empty + 8 * STAGES;
    const u32 v_empty = v_full + 8 * STAGES;
    const u32 o_staged = v_empty + 8 * STAGES;  // + 8 (2 b + wg): buffer b, warpgroup wg

    const int tid = threadIdx.x;
    const int nqb = (L + BM - 1) / BM;
    const int items = heads * nqb;
    if (tid == 0) {
        for (int b = 0; b < 2; ++b) {
            mbar_init(q_full + 8 * b, 1);
            mbar_init(q_empty + 8 * b, 2);  // the two store warps
            for (int w = 0; w < 2; ++w) mbar_init(o_staged + 8 * (2 * b + w), CONSUMER_WARPS / 2);
        }
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(k_full + 8 * s, 1);
            mbar_init(k_empty + 8 * s, CONSUMER_WARPS);
            mbar_init(v_full + 8 * s, 1);
            mbar_init(v_empty + 8 * s, CONSUMER_WARPS);
        }
        // The initialized barriers are seen by the copy engine's completions.
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (tid >= WS_CONSUMERS) {
        // Producer: one thread claims items and issues every copy.
        regs_dec<WS_PRODUCER_REGS>();
        const int pwarp = (tid - WS_CONSUMERS) >> 5;
        if (pwarp == 1 || pwarp == 2) {
            ws_store_warp<D, BM>(sQ, QT, q_full, q_empty, o_staged + 8 * (pwarp - 1), slot, O, L, nqb, pwarp - 1,
                                 tid & 31);
            return;
        }
        if (tid != WS_CONSUMERS) return;
        int g = 0;  // K/V tiles issued so far (the ring position)
        for (int i = 0;; ++i) {
            const int b = i & 1;
            // Q buffer b is free once the store warps have copied item i - 2's output from it.
            mbar_wait(q_empty + 8 * b, ((i >> 1) & 1) ^ 1);
            const int item = static_cast<int>(atomicAdd(sched, 1u));
            if (item >= items) {
                slot[b] = -1;
                mbar_arrive(q_full + 8 * b);
                break;
            }
            const int bh = item / nqb;
            const int q0 = ws_q0(item, nqb);
            const int h = bh % heads;
            const int kvh = (bh / heads) * kv_heads + h / (heads / kv_heads);
            list.open(ws_row(item, nqb, heads), q0, L);
            const int n = list.n;
            slot[b] = item;
            slot[2 + b] = n;
            if (n > 0) {
                mbar_arrive_tx(q_full + 8 * b, QT * 2);
                tma_tile<BM, D>(smem_addr(sQ + b * QT), tq, q_full + 8 * b, q0, bh);
            } else {
                mbar_arrive(q_full + 8 * b);  // nothing to load: the consumers store zeros
            }
            for (int t = 0; t < n; ++t, ++g) {
                const int k0 = list.start(t);
                const int s = g % STAGES;
                const u32 free_phase = ((g / STAGES) & 1) ^ 1;
                mbar_wait(k_empty + 8 * s, free_phase);
                slot[4 + s] = k0;
                mbar_arrive_tx(k_full + 8 * s, KT * 2);
                tma_tile<BN, D>(smem_addr(sK + s * KT), tk, k_full + 8 * s, k0, kvh);
                mbar_wait(v_empty + 8 * s, free_phase);
                mbar_arrive_tx(v_full + 8 * s, KT * 2);
                tma_tile<BN, D>(smem_addr(sV + s * KT), tv, v_full + 8 * s, k0, kvh);
            }
        }
        // Every claim of this block precedes its count; the last block resets both.
        __threadfence();
        if (atomicAdd(sched + 1, 1u) == gridDim.x - 1) {
            atomicExch(sched, 0u);
            atomicExch(sched + 1, 0u);
        }
        return;
    }

    // Consumers: warpgroup wg owns rows wg * 64 .. of each item's query block.
    regs_inc<WS_CONSUMER_REGS>();
    const int wg = tid >> 7;
    const int warp = (tid >> 5) & 3;
    const int lane = tid & 31;
    const ProducerTiles no_tiles;
    const ContiguousKeys<CAUSAL, ProducerTiles, BN> keys{no_tiles};
    // Warpgroup 0 issues its products first (see ws_turn_wait).
    if (wg == 1) named_arrive(WS_TURN, WS_CONSUMERS);
    int g = 0;  // K/V tiles consumed so far (the ring position)
    for (int i = 0;; ++i) {
        const int b = i & 1;
        mbar_wait(q_full + 8 * b, (i >> 1) & 1);
        const int item = warp_read(&slot[b], lane);
        if (item < 0) break;
        const int n = warp_read(&slot[2 + b], lane);
        const int bh = item / nqb;
        const int q0 = ws_q0(item, nqb);
        const u32 q_addr = smem_addr(sQ + b * QT) + wg * 64 * 128;

        float acc[D / 2], row_max[2], row_sum[2];
        wg_rows_reset<D>(acc, row_max, row_sum);
        const int warp_row0 = q0 + wg * 64 + warp * 16;
        const int r_lo = warp_row0 + (lane >> 2);

        // Tile t's S = Q K^T is issued together with tile t - 1's O += P V (whose P the
        // softmax of the previous step left in p), then the softmax of tile t runs while
        // that product finishes and the other warpgroup's products run. Tile t is ring
        // position g + t; an item without tiles takes no turn. (The three parts are written
        // out: a product under a condition inside the loop makes ptxas serialize them all.)
        if (n > 0) {
            float alpha[2];
            u32 p[BN / 16][4];
            float sc[BN / 2];
            // Stage s holds tile t: waits for its K and gives its first key.
            auto k_tile = [&](int s, int t) {
                mbar_wait(k_full + 8 * s, ((g + t) / STAGES) & 1);
                return warp_read(&slot[4 + s], lane);
            };
            // Stage s holds tile t: waits for its V.
            auto v_tile = [&](int s, int t) { mbar_wait(v_full + 8 * s, ((g + t) / STAGES) & 1); };
            // The S of stage s (first key k0) has landed in sc: frees the K stage, masks S and
            // runs the online softmax.
            auto softmax = [&](int s, int k0) {
                fence_regs<BN / 2>(sc);
                ws_release(k_empty + 8 * s, lane);
                if (keys.needs_mask(k0, warp_row0, warp_row0 + 15, L)) slab_mask<BN, 1>(sc, keys, k0, r_lo, lane, L);
                slab_exp<BN>(sc, row_max, row_sum, scale_log2, alpha);
            };
            // Waits for the O += P V of stage s and frees its V (p was read until here: its
            // registers stay p's).
            auto pv_done = [&](int s) {
                wg_wait<0>();
                fence_regs<D / 2>(acc);
                fence_regs_u32<BN / 4>(&p[0][0]);
                ws_release(v_empty + 8 * s, lane);
            };
            {
                const int s = g % STAGES;
                const int k0 = k_tile(s, 0);
                ws_turn_wait(wg);
                wg_fence();
                wg_s_issue<D, BM, BN>(sc, q_addr, smem_addr(sK + s * KT));
                wg_commit();
                ws_turn_pass(wg);
                wg_wait<0>();
                softmax(s, k0);
                slab_pack<BN>(sc, p);
            }
            for (int t = 1; t < n; ++t) {
                const int s = (g + t) % STAGES;
                const int sp = (g + t - 1) % STAGES;
                const int k0 = k_tile(s, t);
                v_tile(sp, t - 1);
                ws_turn_wait(wg);
                wg_fence();
                wg_s_issue<D, BM, BN>(sc, q_addr, smem_addr(sK + s * KT));
                wg_commit();
                slab_rescale<D>(acc, alpha);
                wg_fence();
                wg_pv_issue<D, BN>(acc, p, smem_addr(sV + sp * KT));
                wg_commit();
                ws_turn_pass(wg);
                wg_wait<1>();
                softmax(s, k0);
                pv_done(sp);
                slab_pack<BN>(sc, p);
            }
            {
                const int sp = (g + n - 1) % STAGES;
                v_tile(sp, n - 1);
                ws_turn_wait(wg);
                slab_rescale<D>(acc, alpha);
                wg_fence();
                wg_pv_issue<D, BN>(acc, p, smem_addr(sV + sp * KT));
                wg_commit();
                ws_turn_pass(wg);
                pv_done(sp);
            }
            g += n;
        }
        // The output rows go to Q buffer b, which this warpgroup no longer reads; a store warp
        // copies them out while this warpgroup starts the next item.
        wg_stage<D, BM>(acc, row_max, row_sum, sQ + b * QT, LSE + (long long)bh * L, q0, L, tid);
        ws_release(o_staged + 8 * (2 * b + wg), lane);
    }
    // Warpgroup 1 passed the turn once more than warpgroup 0 took it: take it, so that no
    // arrival is left on the barrier at exit.
    if (wg == 0) ws_turn_wait(0);
}

}  // namespace sl
