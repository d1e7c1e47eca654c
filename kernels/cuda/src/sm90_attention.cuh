// Hopper attention kernel (sm_90a): one kernel for dense causal and index-driven sparse attention.
//
// A CTA owns 128 query rows of one head (dense: rows [128c, 128c+128); sparse: query blocks 2c and 2c+1) and runs
// three warpgroups. The producer warpgroup fills key/value tiles of 128 keys in a 128-byte swizzled shared layout:
// dense tiles with the bulk tensor copy engine (one thread, TMA), sparse tiles by cp.async gathers (any key order:
// contiguous blocks, listed columns, permuted positions) together with each key's original position; it signals
// mbarriers, keys and values on their own barriers and stage counts (values are needed one tile later, so they get
// a deeper pipeline). Two consumer warpgroups (64 rows each) compute S = Q K^T with wgmma from shared memory, the
// online softmax in registers, and O += P V with P from registers. Each consumer issues the P V product of the
// previous tile together with the Q K^T of the next (intra-warpgroup overlap); optionally the two take turns issuing
// (ping-pong) so one's softmax overlaps the other's products.
//
// Sparse: the producer walks the union of the two query blocks' lists; a key belongs to one or both consumers, and
// the per-key original positions let each consumer mask exactly (causality on original positions, keys of the other
// query block, padding). Tiles needing no mask skip the masking; nothing is skipped inside the product sections,
// since ptxas serialises wgmma issued in divergent code.
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <climits>
#include <type_traits>
#include <cstdint>

#include "attention_common.cuh"
#include "attention_launch.hpp"
#include "ptx.cuh"
#include "wgmma.cuh"

namespace mmi::cuda::detail {

// Sparse: cp.async gathers only. SparseTma: contiguous, unpermuted key blocks by the bulk copy engine, the rest
// (listed columns, permuted blocks) by cp.async. Dense: every tile by TMA or by cp.async.
enum class Sm90Mode : int { Sparse = 0, DenseTma = 1, DenseCopy = 2, SparseTma = 3 };

struct Sm90TensorMaps {
  CUtensorMap k;
  CUtensorMap v;
};

// A 3-D map [heads][n][d] of 16-bit elements, boxes of 64 columns x `box_rows` rows, 128-byte swizzle, zeros past
// n.
Sm90TensorMaps make_kv_maps(const void* k, const void* v, int64_t heads, int64_t n, int d, DType dtype, int box_rows);

template <int D>
struct Sm90Layout {
  static constexpr int BN = 128;  // keys per tile
  static constexpr int KStages = D == 128 ? 2 : 3;
  static constexpr int VStages = D == 128 ? 3 : 4;
  static constexpr int Chunks = D / 8;      // 16-byte chunks per row
  static constexpr int PanelQ = 64 * 128;   // one 64-column panel of a warpgroup's 64 query rows
  static constexpr int PanelKV = BN * 128;  // one 64-column panel of a 128-key tile
  static constexpr int QBytes = (D / 64) * PanelQ;    // per consumer warpgroup
  static constexpr int KVBytes = (D / 64) * PanelKV;  // per stage, per tensor

  struct Meta {
    int32_t kpos[2][BN];  // original key position per slot, as seen by consumer 0 / 1 (kMaskedPos: not theirs)
    int32_t ksrc[BN];     // original key position to load, -1 for an empty slot
    int32_t stats[4][2];  // per producer warp: max of kpos[0], max of kpos[1] (no mask needed below the rows)
    int32_t end;
    int32_t tma_row[2];   // SparseTma: first key of a half-tile loaded by TMA, -1 when gathered by cp.async
    int32_t pad[5];
  };

  static constexpr int kQ = 0;
  static constexpr int kK = kQ + 2 * QBytes;
  static constexpr int kV = kK + KStages * KVBytes;
  static constexpr int kMeta = kV + VStages * KVBytes;
  static constexpr int kBars = kMeta + KStages * static_cast<int>(sizeof(Meta));
  static constexpr int kRowStats = kBars + (2 * KStages + 2 * VStages) * 8;
  static constexpr int kBytes = kRowStats + 8 * 4;
  static constexpr int kAlloc = kBytes + 1024;  // room to align the base to the 1024-byte swizzle atom
};

__device__ __forceinline__ void named_barrier_arrive(uint32_t id, uint32_t threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
// Shared address of 16-byte chunk c of row r in a 128-byte swizzled tile whose 64-column panels are `panel` apart.
__device__ __forceinline__ uint32_t swizzled(uint32_t base, int r, int c, int panel) {
  return base + (c >> 3) * panel + r * 128 + (((c & 7) ^ (r & 7)) << 4);
}

// Stage and phase of a ring of `Stages` buffers, advanced once per tile.
template <int Stages>
struct Ring {
  int stage = 0;
  uint32_t phase = 0;
  __device__ void advance() {
    if (++stage == Stages) {
      stage = 0;
      phase ^= 1;
    }
  }
};

template <typename T, int D, Sm90Mode Mode, bool PingPong>
__global__ void __launch_bounds__(384, 1)
    sm90_attention_kernel(const __grid_constant__ AttentionParams p, const __grid_constant__ Sm90TensorMaps maps) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr bool Sparse = Mode == Sm90Mode::Sparse || Mode == Sm90Mode::SparseTma;
  constexpr bool Mixed = Mode == Sm90Mode::SparseTma;
  constexpr bool Tma = Mode == Sm90Mode::DenseTma;
  using L = Sm90Layout<D>;
  constexpr int BN = L::BN;
  constexpr int KS = L::KStages;
  constexpr int VS = L::VStages;
  extern __shared__ uint8_t smem_raw[];
  uint8_t* smem = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t{1023});
  const uint32_t sbase = smem_addr(smem);
  auto* metas = reinterpret_cast<typename L::Meta*>(smem + L::kMeta);
  const uint32_t bar_full_k = sbase + L::kBars;
  const uint32_t bar_empty_k = bar_full_k + 8 * KS;
  const uint32_t bar_full_v = bar_empty_k + 8 * KS;
  const uint32_t bar_empty_v = bar_full_v + 8 * VS;
  auto* row_stats = reinterpret_cast<int32_t*>(smem + L::kRowStats);

  const int tid = threadIdx.x;
  const int warp = tid >> 5;
  const int lane = tid & 31;
  const int64_t n = p.n;
  const int64_t num_tiles = (n + 127) / 128;
  const int64_t linear = blockIdx.x;
  const int64_t qtile = num_tiles - 1 - linear / p.heads_q;  // longest causal rows first
  const int32_t head = static_cast<int32_t>(linear % p.heads_q);
  const int64_t kv_head = head / p.group;
  const int dense_tiles = static_cast<int>(qtile + 1);

  if (tid == 0) {
    // Copy-filled stages get 128 cp.async arrivals, plus (keys) 128 ordinary ones once the positions are written;
    // TMA-filled stages one arrival with the expected byte count.
    // Mixed stages take both, plus one expect-tx arrival from the thread that issues the TMA copies.
    for (int s = 0; s < KS; ++s) {
      mbar_init(bar_full_k + 8 * s, Tma ? 1 : (Mixed ? 257 : 256));
      mbar_init(bar_empty_k + 8 * s, 8);  // one per consumer warp
    }
    for (int s = 0; s < VS; ++s) {
      mbar_init(bar_full_v + 8 * s, Tma ? 1 : (Mixed ? 129 : 128));
      mbar_init(bar_empty_v + 8 * s, 8);
    }
    fence_mbarrier_init();
  }
  __syncthreads();

  if (warp < 4) {
    // ---------------------------------------------------------------- producer warpgroup
    // The TMA producer is one thread with a few registers; cp.async gathers need address arithmetic.
    setmaxnreg_dec<Tma ? 24 : 56>();
    if constexpr (Tma) {
      if (tid != 0) return;
      Ring<KS> kr;
      Ring<VS> vr;
      auto load_v = [&](int t) {
        mbar_wait(bar_empty_v + 8 * vr.stage, vr.phase ^ 1);
        mbar_arrive_expect_tx(bar_full_v + 8 * vr.stage, L::KVBytes);
#pragma unroll
        for (int c = 0; c < D / 64; ++c) {
          tma_load_3d(sbase + L::kV + vr.stage * L::KVBytes + c * L::PanelKV, &maps.v, bar_full_v + 8 * vr.stage,
                      c * 64, t * BN, static_cast<int32_t>(kv_head));
        }
        vr.advance();
      };
      for (int t = 0; t < dense_tiles; ++t) {
        mbar_wait(bar_empty_k + 8 * kr.stage, kr.phase ^ 1);
        mbar_arrive_expect_tx(bar_full_k + 8 * kr.stage, L::KVBytes);
#pragma unroll
        for (int c = 0; c < D / 64; ++c) {
          tma_load_3d(sbase + L::kK + kr.stage * L::KVBytes + c * L::PanelKV, &maps.k, bar_full_k + 8 * kr.stage,
                      c * 64, t * BN, static_cast<int32_t>(kv_head));
        }
        kr.advance();
        if (t > 0) load_v(t - 1);  // keys run one tile ahead of values
      }
      load_v(dense_tiles - 1);
    } else {
      const T* kbase = static_cast<const T*>(p.k) + kv_head * n * D;
      const T* vbase = static_cast<const T*>(p.v) + kv_head * n * D;
      SegmentStream stream;
      if constexpr (Sparse) stream.init(p, head, 2 * qtile, 2 * qtile + 1);
      Ring<KS> kr;
      Ring<VS> vr;
      int prev_kstage = 0;
      // Mixed mode: the half-tiles of whole unpermuted blocks (64 keys x D) by TMA, announced with their bytes.
      auto issue_tma_halves = [&](const typename L::Meta& meta, uint32_t dst, const CUtensorMap* map, uint32_t bar) {
        uint32_t bytes = 0;
#pragma unroll
        for (int h = 0; h < 2; ++h) bytes += meta.tma_row[h] >= 0 ? (D / 64) * 64 * 128 : 0;
        mbar_arrive_expect_tx(bar, bytes);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          if (meta.tma_row[h] < 0) continue;
#pragma unroll
          for (int c = 0; c < D / 64; ++c) {
            tma_load_3d(dst + c * L::PanelKV + h * 64 * 128, map, bar, c * 64, meta.tma_row[h],
                        static_cast<int32_t>(kv_head));
          }
        }
      };
      // The cp.async part of tile t's keys or values: per 64-key half, every row unless the copy engine loads that
      // half (mixed mode). The halves' TMA flags are read once per tile, not per copy: read per copy, their
      // dependent loads and branches were the producer's longest stall and kept the consumers waiting.
      auto gather_tile = [&](const typename L::Meta& meta, uint32_t dst, const T* base, int t) {
        constexpr int kPerHalf = 64 * L::Chunks / 128;  // copies per thread for one half-tile
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          if (Mixed && meta.tma_row[h] >= 0) continue;
#pragma unroll 4
          for (int j = 0; j < kPerHalf; ++j) {
            const int ci = tid + 128 * (h * kPerHalf + j);
            const int r = ci / L::Chunks;
            const int c = ci % L::Chunks;
            int64_t src;
            if constexpr (Sparse) {
              src = meta.ksrc[r];
            } else {
              src = static_cast<int64_t>(t) * BN + r;
              if (src >= n) src = -1;
            }
            cp_async16(swizzled(dst, r, c, L::PanelKV), src >= 0 ? base + src * D + c * 8 : base, src >= 0 ? 16 : 0);
          }
        }
      };
      // Values of tile t: the same keys as its key tile (positions still in that key stage's meta).
      auto load_v = [&](int t, int kstage) {
        mbar_wait(bar_empty_v + 8 * vr.stage, vr.phase ^ 1);
        const uint32_t vdst = sbase + L::kV + vr.stage * L::KVBytes;
        const auto& meta = metas[kstage];
        if constexpr (Mixed) {
          if (tid == 0) issue_tma_halves(meta, vdst, &maps.v, bar_full_v + 8 * vr.stage);
        }
        gather_tile(meta, vdst, vbase, t);
        mbar_arrive_cp_async(bar_full_v + 8 * vr.stage);
        vr.advance();
      };
      int t = 0;
      for (;; ++t) {
        if (!Sparse && t == dense_tiles) break;
        // Sparse: walk the index for this tile before waiting for the stage, so its global loads overlap the wait.
        Segment a{0, 0, 0, 0}, b{0, 0, 0, 0};
        int32_t k0 = kMaskedPos, k1 = kMaskedPos, orig = -1;
        if constexpr (Sparse) {
          a = stream.next(p);
          if (a.kind) b = stream.next(p);
          if (a.kind) {
            const Segment s = tid < 64 ? a : b;
            const int64_t key = segment_key(p, s, tid & 63);
            orig = key >= 0 ? static_cast<int32_t>(original_position(p.col_perm, head, n, key)) : -1;
            k0 = (orig >= 0 && (s.owner & 1)) ? orig : kMaskedPos;
            k1 = (orig >= 0 && (s.owner & 2)) ? orig : kMaskedPos;
          }
        }
        mbar_wait(bar_empty_k + 8 * kr.stage, kr.phase ^ 1);
        auto& meta = metas[kr.stage];
        if constexpr (Sparse) {
          const bool end = a.kind == 0;
          // This stage last held tile t-KS's key positions, which the previous iteration's value copies (tile t-2)
          // still read when KS == 2: every producer thread must be past them before they are overwritten.
          named_barrier_sync(1, 128);
          if (!end) {
            meta.kpos[0][tid] = k0;
            meta.kpos[1][tid] = k1;
            meta.ksrc[tid] = orig;
            const int32_t mx0 = warp_max_i32(k0), mx1 = warp_max_i32(k1);
            if (lane == 0) {
              meta.stats[warp][0] = mx0;
              meta.stats[warp][1] = mx1;
            }
          }
          if (tid == 0) {
            meta.end = end ? 1 : 0;
            // Whole, unpermuted key blocks go through the copy engine in mixed mode.
            meta.tma_row[0] = Mixed && a.kind == 1 && !p.col_perm ? static_cast<int32_t>(a.start * 64) : -1;
            meta.tma_row[1] = Mixed && b.kind == 1 && !p.col_perm ? static_cast<int32_t>(b.start * 64) : -1;
          }
          named_barrier_sync(1, 128);  // every slot's source is visible to every producer thread
          if (end) {
            if (Mixed && tid == 0) mbar_arrive_expect_tx(bar_full_k + 8 * kr.stage, 0);
            mbar_arrive_cp_async(bar_full_k + 8 * kr.stage);
            mbar_arrive(bar_full_k + 8 * kr.stage);
            break;
          }
          if constexpr (Mixed) {
            if (tid == 0) issue_tma_halves(meta, sbase + L::kK + kr.stage * L::KVBytes, &maps.k, bar_full_k + 8 * kr.stage);
          }
        }
        gather_tile(meta, sbase + L::kK + kr.stage * L::KVBytes, kbase, t);
        mbar_arrive_cp_async(bar_full_k + 8 * kr.stage);
        mbar_arrive(bar_full_k + 8 * kr.stage);
        if (t > 0) load_v(t - 1, prev_kstage);  // keys run one tile ahead of values
        prev_kstage = kr.stage;
        kr.advance();
      }
      if (t > 0) load_v(t - 1, prev_kstage);
    }
  } else {
    // ---------------------------------------------------------------- consumer warpgroups
    setmaxnreg_inc<Tma ? 240 : 224>();
    const int wg = warp / 4 - 1;
    const int wtid = tid - 128 * (wg + 1);
    const int wwarp = wtid >> 5;
    const int g = lane >> 2;
    const int t4 = lane & 3;
    const uint32_t qs = sbase + L::kQ + wg * L::QBytes;
    const int64_t row_base = Sparse ? (2 * qtile + wg) * 64 : qtile * 128 + wg * 64;

    // Q tile: 64 rows (gathered through the row permutation), zero rows past N.
    const T* qbase = static_cast<const T*>(p.q) + static_cast<int64_t>(head) * n * D;
#pragma unroll
    for (int j = 0; j < 64 * L::Chunks / 128; ++j) {
      const int ci = wtid + 128 * j;
      const int r = ci / L::Chunks;
      const int c = ci % L::Chunks;
      const int64_t row = row_base + r;
      const int64_t orig = row < n ? original_position(p.row_perm, head, n, row) : -1;
      cp_async16(swizzled(qs, r, c, L::PanelQ), orig >= 0 ? qbase + orig * D + c * 8 : qbase, orig >= 0 ? 16 : 0);
    }
    cp_async_commit();

    int32_t rpos[2];
    int32_t vmin = INT_MAX;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int64_t row = row_base + wwarp * 16 + g + 8 * r;
      if (row < n) {
        rpos[r] = static_cast<int32_t>(original_position(p.row_perm, head, n, row));
        vmin = min(vmin, rpos[r]);
      } else {
        rpos[r] = kPadRowPos;
      }
    }
    vmin = warp_min_i32(vmin);
    if (lane == 0) row_stats[wg * 4 + wwarp] = vmin;
    cp_async_wait<0>();
    fence_proxy_async();
    named_barrier_sync(2 + wg, 128);
    int32_t row_min = INT_MAX;  // earliest original position among this warpgroup's real rows
#pragma unroll
    for (int w = 0; w < 4; ++w) row_min = min(row_min, row_stats[wg * 4 + w]);
    if (PingPong && wg == 1) named_barrier_arrive(4, 256);  // consumer 0 goes first

    float o[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; ++i) o[i] = 0.0f;
    float s[BN / 2];
    uint32_t pf[BN / 16][4];
    float m[2] = {-INFINITY, -INFINITY};
    float l[2] = {0.0f, 0.0f};

    // Descriptors advance by adding to the start-address field (16-byte units) of a base descriptor.
    const uint64_t q_desc = smem_desc_sw128(qs, 16, 1024);
    const uint64_t k_desc = smem_desc_sw128(sbase + L::kK, 16, 1024);
    const uint64_t v_desc = smem_desc_sw128(sbase + L::kV, L::PanelKV, 1024);
    auto issue_qk = [&](int stage) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        const uint32_t step = (kk >> 2) * L::PanelQ + (kk & 3) * 32;
        const uint32_t kstep = stage * L::KVBytes + (kk >> 2) * L::PanelKV + (kk & 3) * 32;
        Wgmma<T, BN>::ss(s, q_desc + (step >> 4), k_desc + (kstep >> 4), kk > 0 ? 1 : 0);
      }
      wgmma_commit();
    };
    auto issue_pv = [&](int stage) {
#pragma unroll
      for (int kk = 0; kk < BN / 16; ++kk) {
        Wgmma<T, D>::rs(o, pf[kk], v_desc + ((stage * L::KVBytes + kk * 16 * 128) >> 4), 1);
      }
      wgmma_commit();
    };
    // Mask and online softmax of the tile just computed; releases its keys.
    auto softmax_tile = [&](int t, int stage, float (&alpha)[2]) {
#pragma unroll
      for (int i = 0; i < BN / 2; ++i) reg_fence(s[i]);
      const auto& meta = metas[stage];
      int32_t kmax;
      if constexpr (Sparse) {
        kmax = INT_MIN;
#pragma unroll
        for (int w = 0; w < 4; ++w) kmax = max(kmax, meta.stats[w][wg]);
      } else {
        kmax = t * BN + BN - 1;
      }
      if (kmax > row_min) {
#pragma unroll
        for (int j = 0; j < BN / 8; ++j) {
          int32_t ka, kb;
          if constexpr (Sparse) {
            const int2 kp = *reinterpret_cast<const int2*>(&meta.kpos[wg][8 * j + 2 * t4]);
            ka = kp.x;
            kb = kp.y;
          } else {
            ka = t * BN + 8 * j + 2 * t4;
            kb = ka + 1;
          }
          if (ka > rpos[0]) s[j * 4 + 0] = -INFINITY;
          if (kb > rpos[0]) s[j * 4 + 1] = -INFINITY;
          if (ka > rpos[1]) s[j * 4 + 2] = -INFINITY;
          if (kb > rpos[1]) s[j * 4 + 3] = -INFINITY;
        }
      }
      online_softmax<BN / 8>(s, m, l, p.scale_log2, alpha);
      __syncwarp();
      if (lane == 0) mbar_arrive(bar_empty_k + 8 * stage);
    };
    auto fence_pv_registers = [&]() {
#pragma unroll
      for (int i = 0; i < D / 2; ++i) reg_fence(o[i]);
#pragma unroll
      for (int kk = 0; kk < BN / 16; ++kk) {
#pragma unroll
        for (int e = 0; e < 4; ++e) reg_fence(pf[kk][e]);
      }
    };
    auto rescale_and_convert = [&](const float (&alpha)[2]) {
#pragma unroll
      for (int j = 0; j < D / 8; ++j) {
        o[j * 4 + 0] *= alpha[0];
        o[j * 4 + 1] *= alpha[0];
        o[j * 4 + 2] *= alpha[1];
        o[j * 4 + 3] *= alpha[1];
      }
#pragma unroll
      for (int kk = 0; kk < BN / 16; ++kk) probs_to_a<T, BN / 8>(s, kk, pf[kk]);
    };
    Ring<KS> kr;
    auto tile_ready = [&](int t) -> bool {
      if (!Sparse && t == dense_tiles) return false;
      mbar_wait(bar_full_k + 8 * kr.stage, kr.phase);
      if constexpr (Sparse) return !__any_sync(0xffffffffu, metas[kr.stage].end != 0);
      return true;
    };

    // The product sections below hold no branch: waits come before the fence.
    if (tile_ready(0)) {
      if constexpr (PingPong) named_barrier_sync(4 + wg, 256);
      fence_proxy_async();
      wgmma_fence();
      issue_qk(kr.stage);
      if constexpr (PingPong) named_barrier_arrive(4 + (1 - wg), 256);
      wgmma_wait<0>();
      float alpha[2];
      softmax_tile(0, kr.stage, alpha);
      rescale_and_convert(alpha);
      kr.advance();
      Ring<VS> vr;  // values of the previous tile
      for (int t = 1;; ++t) {
        if (!tile_ready(t)) break;
        mbar_wait(bar_full_v + 8 * vr.stage, vr.phase);
        if constexpr (PingPong) named_barrier_sync(4 + wg, 256);
        fence_proxy_async();
        wgmma_fence();
        issue_qk(kr.stage);
        issue_pv(vr.stage);
        if constexpr (PingPong) named_barrier_arrive(4 + (1 - wg), 256);
        wgmma_wait<1>();
        softmax_tile(t, kr.stage, alpha);
        wgmma_wait<0>();
        fence_pv_registers();
        __syncwarp();
        if (lane == 0) mbar_arrive(bar_empty_v + 8 * vr.stage);
        rescale_and_convert(alpha);
        kr.advance();
        vr.advance();
      }
      // Last section: the pending P V product.
      mbar_wait(bar_full_v + 8 * vr.stage, vr.phase);
      if constexpr (PingPong) named_barrier_sync(4 + wg, 256);
      fence_proxy_async();
      wgmma_fence();
      issue_pv(vr.stage);
      if (PingPong && wg == 0) named_barrier_arrive(5, 256);
      wgmma_wait<0>();
      fence_pv_registers();
      __syncwarp();
      if (lane == 0) mbar_arrive(bar_empty_v + 8 * vr.stage);
    } else if (PingPong && wg == 0) {
      named_barrier_sync(4, 256);  // no tile: take consumer 1's opening grant so the barrier ends balanced
    }

    // Epilogue: normalise, stage through this warpgroup's Q tile (swizzled: conflict-free), store 16-byte rows
    // scattered back to original positions.
    float inv[2];
    finish_rows(l, inv);
    named_barrier_sync(2 + wg, 128);
    uint8_t* qs_ptr = smem + L::kQ + wg * L::QBytes;
#pragma unroll
    for (int j = 0; j < D / 8; ++j) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int row = wwarp * 16 + g + 8 * r;
        const uint32_t off = (j >> 3) * L::PanelQ + row * 128 + (((j & 7) ^ (row & 7)) << 4) + t4 * 4;
        *reinterpret_cast<uint32_t*>(qs_ptr + off) = pack2<T>(o[j * 4 + 2 * r] * inv[r], o[j * 4 + 2 * r + 1] * inv[r]);
      }
    }
    named_barrier_sync(2 + wg, 128);
    T* obase = static_cast<T*>(p.o) + static_cast<int64_t>(head) * n * D;
#pragma unroll
    for (int j = 0; j < 64 * L::Chunks / 128; ++j) {
      const int ci = wtid + 128 * j;
      const int r = ci / L::Chunks;
      const int c = ci % L::Chunks;
      const int64_t row = row_base + r;
      if (row < n) {
        const int64_t orig = original_position(p.row_perm, head, n, row);
        const uint4 val =
            *reinterpret_cast<const uint4*>(qs_ptr + (c >> 3) * L::PanelQ + r * 128 + (((c & 7) ^ (r & 7)) << 4));
        *reinterpret_cast<uint4*>(obase + orig * D + c * 8) = val;
      }
    }
  }
#endif
}

template <typename T, int D, Sm90Mode Mode, bool PingPong>
void sm90_launch(const AttentionParams& p, const Sm90TensorMaps& maps, cudaStream_t stream) {
  using L = Sm90Layout<D>;
  auto kernel = sm90_attention_kernel<T, D, Mode, PingPong>;
  MMI_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, L::kAlloc));
  const int64_t tiles = (p.n + 127) / 128;
  const int64_t grid = tiles * p.heads_q;
  if (grid > INT32_MAX) throw Error("attention: too many (tile, head) pairs for one launch");
  kernel<<<static_cast<unsigned>(grid), 384, L::kAlloc, stream>>>(p, maps);
  MMI_CUDA_CHECK_LAUNCH("sm90_attention_kernel");
}

// Every instance of one element type; the bf16 and fp16 instances live in their own files to compile in parallel.
template <typename T>
void sm90_dispatch(const AttentionParams& p, DType dtype, int head_dim, bool sparse, const Sm90Options& o,
                   cudaStream_t stream) {
  const Sm90Mode mode = sparse ? (o.tma ? Sm90Mode::SparseTma : Sm90Mode::Sparse)
                               : (o.tma ? Sm90Mode::DenseTma : Sm90Mode::DenseCopy);
  Sm90TensorMaps maps{};
  if (mode == Sm90Mode::DenseTma || mode == Sm90Mode::SparseTma) {
    maps = make_kv_maps(p.k, p.v, p.heads_q / p.group, p.n, head_dim, dtype, mode == Sm90Mode::DenseTma ? 128 : 64);
  }
  auto go = [&](auto d_tag) {
    constexpr int Dim = decltype(d_tag)::value;
    switch (mode) {
      case Sm90Mode::Sparse:
        return o.pingpong ? sm90_launch<T, Dim, Sm90Mode::Sparse, true>(p, maps, stream)
                          : sm90_launch<T, Dim, Sm90Mode::Sparse, false>(p, maps, stream);
      case Sm90Mode::DenseTma:
        return o.pingpong ? sm90_launch<T, Dim, Sm90Mode::DenseTma, true>(p, maps, stream)
                          : sm90_launch<T, Dim, Sm90Mode::DenseTma, false>(p, maps, stream);
      case Sm90Mode::DenseCopy:
        return o.pingpong ? sm90_launch<T, Dim, Sm90Mode::DenseCopy, true>(p, maps, stream)
                          : sm90_launch<T, Dim, Sm90Mode::DenseCopy, false>(p, maps, stream);
      case Sm90Mode::SparseTma:
        return o.pingpong ? sm90_launch<T, Dim, Sm90Mode::SparseTma, true>(p, maps, stream)
                          : sm90_launch<T, Dim, Sm90Mode::SparseTma, false>(p, maps, stream);
    }
  };
  if (head_dim == 128) {
    go(std::integral_constant<int, 128>{});
  } else if (head_dim == 64) {
    go(std::integral_constant<int, 64>{});
  } else {
    throw Error("attention (Hopper kernel): head dim must be 64 or 128");
  }
}

}  // namespace mmi::cuda::detail
